"""Writes to business calendars (R37). The admin edits calendars through its forms (which
run the same validation); code that sets up calendars calls these functions."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from workorders.errors import RuleViolation

from . import calendars
from .models import BusinessCalendar, CalendarOverride, OverrideKind, WorkingPeriod


def _message(error: ValidationError) -> str:
    return "; ".join(str(message) for message in error.messages)


@transaction.atomic
def set_working_hours(calendar: BusinessCalendar, weekday: int,
                      periods: Iterable[tuple[dt.time, dt.time]]) -> list[WorkingPeriod]:
    """Replace the working periods of one weekday (0 = Monday); several periods make a
    split shift, none makes the day free. An end of 00:00 means 24:00. R37."""
    periods = list(periods)
    if weekday not in range(7):
        raise RuleViolation(_("The weekday must be 0 (Monday) to 6 (Sunday)."),
                            rule="R37", field="weekday")
    rows = [WorkingPeriod(calendar=calendar, weekday=weekday, start=start, end=end)
            for start, end in periods]
    for row in rows:
        try:
            row.full_clean(exclude=["calendar"], validate_unique=False)
        except ValidationError as exc:
            raise RuleViolation(_message(exc), rule="R37", field="periods") from exc
    clash = calendars.overlapping((row.start, row.end) for row in rows)
    if clash:
        raise RuleViolation(
            _("Working periods overlap: %(periods)s.") % {
                "periods": calendars.format_hours(clash)}, rule="R37", field="periods")
    WorkingPeriod.objects.filter(calendar=calendar, weekday=weekday).delete()
    created = WorkingPeriod.objects.bulk_create(rows)
    calendar.touch()  # bulk_create sends no signal; the caller's instance is current too
    return created


@transaction.atomic
def set_override(calendar: BusinessCalendar, day: dt.date, kind: str, *, hours: str = "",
                 note: str = "") -> CalendarOverride:
    """Make ``day`` a day off (``kind="holiday"``) or a working day (``"workday"``, with
    ``hours`` such as "08:30-12:00, 13:30-17:30" or blank for the Monday hours) for this
    calendar, whatever the weekday or the country's data say. R37."""
    if kind not in OverrideKind.values:
        raise RuleViolation(_("The kind must be “holiday” or “workday”."), rule="R37",
                            field="kind")
    override = CalendarOverride.objects.filter(calendar=calendar, date=day).first()
    override = override or CalendarOverride(calendar=calendar, date=day)
    override.kind, override.hours, override.note = kind, hours, note
    try:
        override.full_clean(validate_unique=False)
    except ValidationError as exc:
        raise RuleViolation(_message(exc), rule="R37", field="hours") from exc
    override.save()
    calendar.touch()  # the caller's instance gets the new revision too
    return override


@transaction.atomic
def remove_override(calendar: BusinessCalendar, day: dt.date) -> None:
    """Drop the local exception of ``day`` (the weekly hours and country data apply)."""
    CalendarOverride.objects.filter(calendar=calendar, date=day).delete()
    calendar.touch()
