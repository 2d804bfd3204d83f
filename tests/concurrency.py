"""Helpers for tests on two or more real PostgreSQL connections at once: calls raced in
threads (each thread its own connection), and the look at ``pg_stat_activity`` that tells
a test another connection is waiting on a lock (bounded waits, never a fixed sleep)."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from django.db import connection, connections
from django.utils import translation


def race(calls: list[Callable[[], Any]], *, language: str | None = None) -> list[Any]:
    """Run each call in its own thread (its own database connection), released together;
    each one's result, or the exception it raised, in order. A thread starts in the
    default language: ``language`` sets the one its messages are read in."""
    barrier = threading.Barrier(len(calls))
    results: list[Any] = [None] * len(calls)

    def run(i: int, call: Callable[[], Any]) -> None:
        try:
            barrier.wait(timeout=30)
            if language is None:
                results[i] = call()
            else:
                with translation.override(language):
                    results[i] = call()
        except Exception as exc:
            results[i] = exc
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run, args=(i, c)) for i, c in enumerate(calls)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    return results


def backend_pid() -> int:
    """This connection's server process, as ``pg_stat_activity`` names it."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        return cursor.fetchone()[0]


def waiting_on_a_lock(pid: int) -> bool:
    with connection.cursor() as cursor:
        cursor.execute("SELECT wait_event_type = 'Lock' FROM pg_stat_activity WHERE pid = %s",
                       [pid])
        row = cursor.fetchone()
        return bool(row and row[0])
