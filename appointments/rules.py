"""The appointment promises as pure functions of times (R14, R15), so the services, the
pages and the tests share one reading of them. The numbers are settings (policy
defaults from DOMAIN.md), never constants in the code that uses them."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.utils import timezone

from .models import Precision

#: R11: the two half-day windows of a rural booking; an exact-time visit (R9) offered as a
#: free slot fits inside one of them (the working day, with its lunch break).
HALF_DAYS = {"am": (dt.time(8, 0), dt.time(12, 0)), "pm": (dt.time(13, 0), dt.time(18, 0))}
#: R9: free slots are offered on the hour (a typed time may be any minute).
SLOT_STEP = dt.timedelta(minutes=60)


def late_tolerance() -> dt.timedelta:
    """R14: more than this off the booked time is late (default 10 min)."""
    return dt.timedelta(minutes=settings.APPOINTMENT_LATE_AFTER_MINUTES)


def half_day(moment: dt.datetime) -> tuple[dt.date, bool]:
    """The local day and whether the moment is in its afternoon (from 12:00)."""
    local = timezone.localtime(moment)
    return local.date(), local.hour >= 12


def required_notice(old_start: dt.datetime, new_start: dt.datetime) -> dt.timedelta:
    """R15: a change must reach the customer 2 h before the booked time, or 30 min when
    the new time is within the same half-day (a short delay)."""
    if new_start >= old_start and half_day(new_start) == half_day(old_start):
        return dt.timedelta(minutes=settings.APPOINTMENT_MOVE_NOTICE_SAME_HALF_DAY_MINUTES)
    return dt.timedelta(minutes=settings.APPOINTMENT_MOVE_NOTICE_MINUTES)


def is_short_notice(*, old_start: dt.datetime, new_start: dt.datetime,
                    now: dt.datetime) -> bool:
    """R15: moving ``old_start`` to ``new_start`` at ``now`` gives too little notice."""
    return old_start - now < required_notice(old_start, new_start)


def arrival_deadline(booking: Any = None, *, start: dt.datetime | None = None,
                     end: dt.datetime | None = None, exact: bool | None = None,
                     tolerance: dt.timedelta | None = None) -> dt.datetime:
    """R14, R11: the last moment the technician arrives on time. An exact-time booking
    (R9) promises its start: start + tolerance. A window booking (a rural half day, R11,
    or a day, R3) promises the window: its end + tolerance. Pass the ``Appointment`` or
    its ``start``, ``end`` and ``exact``; the tolerance defaults to ``late_tolerance()``
    (the SLA's arrival timer passes its rule's target). The one definition used by the
    arrival timer (``sla.engine``), the late flag at check-in and the dashboards."""
    if booking is not None:
        start, end = booking.start, booking.end
        exact = booking.precision == Precision.EXACT
    if start is None or end is None or exact is None:
        raise TypeError("arrival_deadline needs a booking or start, end and exact")
    if tolerance is None:
        tolerance = late_tolerance()
    return (start if exact else end) + tolerance


@dataclass(frozen=True)
class Arrival:
    offset_minutes: int  # negative: early
    late: bool


def arrival(*, start: dt.datetime, end: dt.datetime, precision: str,
            at: dt.datetime) -> Arrival:
    """R14: late is arriving after the promise: for an exact booking more than the
    tolerance after its start, for a half-day (R11) or day booking (R3) more than the
    tolerance after the window's end. Arriving early is never late (the standard asks for
    5-10 min early; earlier still is the customer's and the technician's arrangement), so
    the late flag, the dashboards' on-time rate and the arrival timer agree."""
    offset = at - start
    minutes = int(offset.total_seconds() // 60)
    deadline = arrival_deadline(start=start, end=end, exact=precision == Precision.EXACT)
    return Arrival(minutes, at > deadline)


def overlaps(a_start: dt.datetime, a_end: dt.datetime, b_start: dt.datetime,
             b_end: dt.datetime) -> bool:
    return a_start < b_end and b_start < a_end
