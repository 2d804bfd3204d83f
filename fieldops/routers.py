"""Database routing for scale-out (docs/scaling.md): the supervisors' dashboards read from
a PostgreSQL read replica when one is configured (``DATABASE_REPLICA_URL``).

Only the reads made under ``replica_reads`` (the dashboard pages and exports) go there, and
only outside a transaction on the primary (a transaction must see its own writes). Every
write, and every other read, stays on "default": the facts refresh, the lifecycle, the
API. A replica lags its primary by a moment, which the dashboards, refreshed every few
seconds anyway (R39), can afford; nothing else could.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any, TypeVar

from django.conf import settings
from django.db import connections

_READS_REPLICA: ContextVar[bool] = ContextVar("reads_replica", default=False)

F = TypeVar("F", bound=Callable[..., Any])


@contextmanager
def replica_reads() -> Iterator[None]:
    token = _READS_REPLICA.set(True)
    try:
        yield
    finally:
        _READS_REPLICA.reset(token)


def reads_replica(view: F) -> F:
    """A view whose reads may go to the replica (``settings.DASHBOARDS_DATABASE``)."""

    @functools.wraps(view)
    def wrapped(*args: Any, **kwargs: Any) -> Any:
        with replica_reads():
            return view(*args, **kwargs)

    return wrapped  # type: ignore[return-value]


class ReplicaRouter:
    def db_for_read(self, model: Any, **hints: Any) -> str | None:
        alias = getattr(settings, "DASHBOARDS_DATABASE", "default")
        if (alias != "default" and _READS_REPLICA.get()
                and not connections["default"].in_atomic_block):
            return str(alias)
        return None

    def db_for_write(self, model: Any, **hints: Any) -> str | None:
        return "default"

    def allow_relation(self, obj1: Any, obj2: Any, **hints: Any) -> bool:
        return True  # the replica holds the primary's rows

    def allow_migrate(self, db: str, app_label: str, **hints: Any) -> bool:
        return db == "default"  # a replica copies the primary's schema
