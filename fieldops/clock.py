"""The one place the product asks what time it is.

Every rule that depends on time (SLA windows, lateness, token expiry) calls
``clock.now()`` instead of ``timezone.now()`` so tests can move time with
``time_machine`` and nothing sleeps.

A step the technician did offline is replayed later (``workorders.offline``): inside
``happened(at)`` the product's time is the moment the step was done on the phone, so the
services, the event log (R42) and the SLA timers (R38) record it then; ``received()`` is
still the server's own time (when the step reached it).
"""

import datetime as dt
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

from django.utils import timezone

#: The moment a replayed step happened, while it is replayed; None otherwise.
_happened: ContextVar[dt.datetime | None] = ContextVar("fieldops_clock_happened", default=None)


def now() -> dt.datetime:
    at = _happened.get()
    return timezone.now() if at is None else at


def received() -> dt.datetime:
    """The server's own time, also inside ``happened``: when a request reached it."""
    return timezone.now()


def replaying() -> bool:
    """True inside ``happened``: the current step is replayed with an earlier time."""
    return _happened.get() is not None


@contextmanager
def happened(at: dt.datetime) -> Iterator[dt.datetime]:
    """Inside, ``now()`` is ``at`` (aware): a step is applied as of the time it was done.
    Nested blocks restore the outer time on exit; other threads and tasks are unaffected
    (a ``ContextVar``)."""
    if timezone.is_naive(at):
        raise ValueError("clock.happened needs an aware datetime")
    token = _happened.set(at)
    try:
        yield at
    finally:
        _happened.reset(token)


def today_local() -> dt.date:
    """Today's date in the configured time zone (Asia/Shanghai by default)."""
    return timezone.localdate(now())
