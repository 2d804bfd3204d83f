"""Reads: a ``BusinessCalendar`` row turned into a frozen ``Schedule`` (R37).

The SLA engine calls ``schedule_for(calendar)`` (or ``schedule_named(name)``) once and
computes many times with ``sla.calendars``. Built schedules are cached in the process,
keyed on the calendar's ``revision`` as read from the database (it changes on every save
of the calendar, its working periods or its overrides) and on the years of country data
loaded, so a changed calendar is rebuilt on its next use, in every process, and nothing
needs to be invalidated by hand.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import Any
from uuid import UUID
from zoneinfo import ZoneInfo

from fieldops import clock, refdata

from . import calendars
from .models import BusinessCalendar, CalendarOverride, OverrideKind, WorkingPeriod
from .timers import Timer, TimerStatus

#: Country data loaded by default: this many years back and ahead of today.
YEARS_BACK = 10
YEARS_AHEAD = 2


def default_years() -> tuple[int, int]:
    """The years of country data a schedule built today covers (inclusive)."""
    year = clock.today_local().year
    return year - YEARS_BACK, year + YEARS_AHEAD


def schedule_for(calendar: BusinessCalendar | int, *,
                 years: tuple[int, int] | None = None) -> calendars.Schedule:
    """The calendar (an instance or its pk) as a ``Schedule``, as it is in the database
    now; ``years`` (first, last) bounds the country data (default: ``default_years()``).
    Outside those years only the weekly hours and the local overrides apply.

    Costs one indexed query for the current revision; the schedule itself is cached per
    process on (calendar, revision, years), so only a changed calendar is rebuilt (three
    more queries). Hold on to the returned schedule for a batch of computations.
    """
    pk = calendar if isinstance(calendar, int) else calendar.pk
    first, last = years or default_years()
    # In an API request the revision is this process's copy as of the request's
    # reference stamp (fieldops.refdata: writes to the calendars' tables renew it).
    revision = _REVISIONS.get(pk, lambda: _revision(pk))
    return _cached(pk, revision, first, last)


def _revision(pk: int) -> UUID:
    return BusinessCalendar.objects.filter(pk=pk).values_list("revision", flat=True).get()


_REVISIONS = refdata.Cache()
refdata.watch(BusinessCalendar, WorkingPeriod, CalendarOverride)


def schedule_named(name: str, *, years: tuple[int, int] | None = None) -> calendars.Schedule:
    """``schedule_named("CN standard")``; raises ``BusinessCalendar.DoesNotExist``."""
    pk, revision = BusinessCalendar.objects.values_list("pk", "revision").get(name=name)
    first, last = years or default_years()
    return _cached(pk, revision, first, last)


def _cached(pk: int, revision: UUID, first: int, last: int) -> calendars.Schedule:
    cached = _CACHE.get((pk, revision, first, last))
    if cached is not None:
        return cached
    current = BusinessCalendar.objects.get(pk=pk)
    schedule = build_schedule(current, current.periods.all(), current.overrides.all(),
                              years=(first, last))
    if len(_CACHE) >= _CACHE_SIZE:
        _CACHE.pop(next(iter(_CACHE)), None)  # drop the oldest entry
    # Keyed on the revision read with the rows (a change in between is rebuilt next time).
    _CACHE[(pk, current.revision, first, last)] = schedule
    return schedule


_CACHE_SIZE = 256
_CACHE: dict[tuple[int, UUID, int, int], calendars.Schedule] = {}


def build_schedule(calendar: BusinessCalendar, periods: Iterable[WorkingPeriod],
                   overrides: Iterable[CalendarOverride], *,
                   years: tuple[int, int]) -> calendars.Schedule:
    """Assemble a schedule, in order of precedence from weakest to strongest:
    the weekly hours; the country's public holidays; the country's swapped working
    days (with the calendar's Monday hours); the calendar's local overrides."""
    weekly: list[list[calendars.Period]] = [[] for _ in range(7)]
    for period in periods:
        weekly[period.weekday].append(period.seconds)
    monday = calendars.normalise(weekly[0])
    holidays: set[dt.date] = set()
    workdays: dict[dt.date, calendars.DayPeriods] = {}
    holiday_years = None
    if calendar.country_holidays:
        country = calendars.country_days(calendar.country_holidays, *years)
        holidays.update(country.holidays)
        workdays.update(dict.fromkeys(country.workdays, monday))
        holiday_years = years
    for override in overrides:
        workdays.pop(override.date, None)
        holidays.discard(override.date)
        if override.kind == OverrideKind.HOLIDAY:
            holidays.add(override.date)
        else:
            workdays[override.date] = override.periods(monday)
    return calendars.Schedule(
        tz=ZoneInfo(calendar.time_zone), weekly=tuple(map(calendars.normalise, weekly)),
        holidays=frozenset(holidays), workdays=tuple(workdays.items()),
        name=calendar.name, holiday_years=holiday_years)


# --- SLA timers (R38) ---------------------------------------------------------------

def order_timers(order: Any) -> list[dict[str, Any]]:
    """The order's timers as shown in the admin and the API: due, remaining, paused,
    warned, breached. Remaining is negative once overdue; None when not running."""

    now = clock.now()
    rows = []
    # A new order's timers as its intake armed them (``sla.engine``; taken once, so a
    # later call reads the rows), or else the order's rows.
    timers = order.__dict__.pop("sla_timer_rows", None)
    if timers is None:
        timers = Timer.objects.filter(order=order).order_by("started_at", "id")
    for timer in timers:
        running = timer.status == TimerStatus.ARMED and timer.due_at is not None
        rows.append({
            "kind": timer.kind, "cycle": timer.cycle, "status": timer.status,
            "outcome": timer.outcome, "started_at": timer.started_at,
            "due_at": timer.due_at if running else None,
            "remaining_seconds": int((timer.due_at - now).total_seconds()) if running
            and timer.due_at else None,
            "paused": timer.status == TimerStatus.PAUSED,
            "used_seconds": timer.consumed_seconds, "target_seconds": timer.target_seconds,
            "warned_at": timer.warned_at, "breached_at": timer.breached_at,
            "at_risk": timer.warned_at is not None and timer.breached_at is None
            and timer.is_open,
            # Steps a late-arriving earlier event took back (issue 16; R38: their events
            # stay in the timer's history).
            "withdrawn": timer.withdrawn_at is not None, "withdrawn_at": timer.withdrawn_at,
        })
    return rows


def timers_at_risk() -> Any:
    """Open timers past their warning step and not yet breached."""

    return Timer.objects.filter(status__in=[TimerStatus.ARMED, TimerStatus.PAUSED],
                                warned_at__isnull=False, breached_at__isnull=True)


def timers_breached() -> Any:

    return Timer.objects.filter(breached_at__isnull=False)
