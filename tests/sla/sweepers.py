"""Sweepers at once: several threads (each its own database connection, as workers or a
second beat would be) start ``engine.sweep_all`` / ``engine.sweep`` together at one moment."""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Callable

import time_machine
from django.db import connections


def sweep_at_once(count: int, sweep: Callable[[], int], at: dt.datetime, *,
                  timeout: float = 120) -> list[int]:
    """Run ``sweep`` in ``count`` threads released together, the clock frozen at ``at``;
    returns what each handled. Fails if any raised."""
    barrier = threading.Barrier(count)
    handled: list[int] = []
    errors: list[BaseException] = []

    def run() -> None:
        try:
            barrier.wait(timeout=10)
            with time_machine.travel(at, tick=False):
                handled.append(sweep())
        except BaseException as exc:
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run) for _ in range(count)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=timeout)
    assert not errors, errors
    return handled
