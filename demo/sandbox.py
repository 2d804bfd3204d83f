"""Where demo and scale data are made: a clock the builder sets, and no message leaving.

``simulated_time(start)`` stands in for ``fieldops.clock.now`` (the product's one seam
for "now") while orders are walked through the real services, so a step taken "three
weeks ago" is stamped, timed and checked three weeks ago. ``without_side_effects()``
keeps the walked orders from reaching anyone (see its docstring).
"""

from __future__ import annotations

import contextlib
import datetime as dt
from collections.abc import Iterator

from django.db import models, transaction
from django.utils import timezone

from fieldops import clock
from notifications.backends import sms_stays_here
from notifications.models import Channel, Notification
from notifications.models import Status as NotificationStatus


class SimulatedClock:
    """Stands in for ``fieldops.clock.now``; the builder sets ``at`` before each step."""

    def __init__(self, start: dt.datetime | None = None) -> None:
        self.at = start if start is not None else timezone.now()

    def now(self) -> dt.datetime:
        return self.at

    def set(self, at: dt.datetime) -> None:
        self.at = at


@contextlib.contextmanager
def simulated_time(start: dt.datetime | None = None) -> Iterator[SimulatedClock]:
    """``fieldops.clock.now`` answers the simulated clock's time inside the block."""
    sim = SimulatedClock(start)
    real_now = clock.now
    clock.now = sim.now  # type: ignore[assignment]
    try:
        yield sim
    finally:
        clock.now = real_now  # type: ignore[assignment]


@contextlib.contextmanager
def without_side_effects() -> Iterator[None]:
    """Demo orders must not reach anyone: their customers' numbers are made up and may
    be real people's, and API clients' webhooks must not hear of them. Inside this block
    the services still write their outbox rows (so the history shows what would have
    gone out), but external ones (SMS, e-mail, webhooks) are marked failed with the
    reason before commit, so the outbox flush never sends them. SMS are the exception
    when the SMS backend stays on this machine (the embedded default writes
    ``var/sms.log``): then they stay pending and the outbox flush writes them there, so
    the demo shows what customers would have received. The ``on_commit``
    callbacks queued here (delivery, the survey task) are dropped. In-app notices to
    staff are kept: they are the dispatcher's and supervisor's SLA alerts. Must run inside
    the caller's transaction, where the callbacks are still pending."""
    conn = transaction.get_connection()
    if not conn.in_atomic_block:
        raise RuntimeError("without_side_effects() needs an open transaction")
    pending = len(conn.run_on_commit)
    last_note = Notification.objects.aggregate(m=models.Max("pk"))["m"] or 0
    try:
        yield
        unsent = Notification.objects.filter(pk__gt=last_note, status=NotificationStatus.PENDING)
        if sms_stays_here():
            unsent = unsent.exclude(channel=Channel.SMS)
        unsent.update(
            status=NotificationStatus.FAILED,
            last_error="Demo data: never sent (made-up recipient).")
    finally:
        del conn.run_on_commit[pending:]
