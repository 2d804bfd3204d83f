"""How the visit's times read on the technician's pages: the arrival against the booking
(R14, R17) and the running promise's time left (R7, R14, R34), in words."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django import template
from django.utils.translation import gettext as _

from appointments.models import Precision
from appointments.rules import arrival_deadline, late_tolerance
from fieldops import clock as site_clock
from fieldops.durations import due_in_words, duration_in_words

register = template.Library()


def _minutes(delta: dt.timedelta) -> int:
    return int(abs(delta.total_seconds()) // 60)


@register.filter
def arrival_words(kept: Any) -> str:
    """R14: "early by 51 min", "on time" or "late by 12 min": an arrival more than the
    tolerance before the booked time is early, never "late" with a negative number; for a
    window (a rural half day R11, a day R3) lateness counts from the window's end."""
    if kept is None or kept.arrived_at is None:
        return ""
    tolerance = late_tolerance()
    early_by = kept.start - kept.arrived_at
    if early_by > tolerance:
        return _("early by %(time)s") % {"time": duration_in_words(_minutes(early_by))}
    deadline = arrival_deadline(kept, tolerance=dt.timedelta(0))
    if kept.arrived_at - deadline > tolerance:
        promised = kept.start if kept.precision == Precision.EXACT else deadline
        return _("late by %(time)s") % {
            "time": duration_in_words(_minutes(kept.arrived_at - promised))}
    return _("on time")


@register.filter
def arrival_status(kept: Any) -> str:
    """"early", "on-time" or "late" (a CSS class beside the words)."""
    if kept is None or kept.arrived_at is None:
        return ""
    if kept.start - kept.arrived_at > late_tolerance():
        return "early"
    deadline = arrival_deadline(kept, tolerance=dt.timedelta(0))
    return "late" if kept.arrived_at - deadline > late_tolerance() else "on-time"


@register.simple_tag
def time_left(clock: Any, now: dt.datetime | None = None) -> str:
    """The promise's time left: "16 h 58 min left", "by 09:00 tomorrow", "overdue 35 min"
    (never "1018 min")."""
    return due_in_words(clock.due, now or site_clock.now())
