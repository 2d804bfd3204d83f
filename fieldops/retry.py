"""Run a whole transaction again when PostgreSQL chose it as a deadlock's victim.

Two transactions that lock the same rows in opposite orders wait for each other until
PostgreSQL aborts one with SQLSTATE 40P01 ("deadlock detected"). The product takes its
locks in one global order (an order first, then its rows; several orders by id; the
dashboards' refresh skips what is locked), so a deadlock is rare; when one happens
anyway, the victim's whole transaction is run again once from the start, and a second
deadlock becomes a clean refusal (``TransactionDeadlocked`` or the caller's own error)
instead of a server error.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from django.db import OperationalError, transaction
from django.utils.translation import gettext as _

T = TypeVar("T")

DEADLOCK_SQLSTATE = "40P01"


class TransactionDeadlocked(Exception):
    """The transaction deadlocked twice; nothing of it was kept."""

    status = 409
    code = "deadlocked"

    def __init__(self, message: str = "") -> None:
        self.message = message or _("Another change held the same records; nothing was "
                                    "changed. Try again.")
        super().__init__(self.message)


def is_deadlock(exc: BaseException) -> bool:
    """True if ``exc`` (or the driver error it wraps) is PostgreSQL's 40P01."""
    while exc is not None:
        if getattr(exc, "sqlstate", None) == DEADLOCK_SQLSTATE:
            return True
        exc = exc.__cause__  # type: ignore[assignment]
    return False


def retry_on_deadlock(fn: Callable[[], T], *, attempts: int = 2,
                      refuse: Callable[[], Exception] | None = None) -> T:
    """``fn()`` in its own transaction (a savepoint inside an outer one); if PostgreSQL
    aborts it as a deadlock's victim, everything it did is rolled back and it runs again
    from the start, ``attempts`` times in all. Then ``refuse()`` (default
    ``TransactionDeadlocked``) is raised from the last deadlock. Any other error passes."""
    for attempt in range(1, attempts + 1):
        try:
            with transaction.atomic():
                return fn()
        except OperationalError as exc:
            if not is_deadlock(exc):
                raise
            if attempt == attempts:
                raise (refuse() if refuse is not None else TransactionDeadlocked()) from exc
    raise AssertionError("unreachable")  # attempts >= 1
