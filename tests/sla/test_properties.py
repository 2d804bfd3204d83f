"""Property tests of the business-time arithmetic against a brute-force oracle (R37).

Random weekly schedules (split shifts, overlapping periods, whole days), random holidays
and extra working days, in zones with and without daylight saving (including 30-minute
changes and changes at midnight), compared with ``tests/sla/oracle.py``, which steps
minute by minute (or second by second) through real time. Spans stay within ten days so
the oracle is quick; the invariants are checked on longer spans without it.
"""

from __future__ import annotations

import datetime as dt
import os
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from sla.calendars import (
    CALENDAR_TIME,
    Schedule,
    add_business_time,
    business_time_between,
    country_days,
    is_working_time,
    next_working_moment,
)

from .oracle import Oracle

#: SLA_PROPERTY_SCALE=20 for a deep run (the default keeps tests/sla well under 30 s).
SCALE = int(os.environ.get("SLA_PROPERTY_SCALE", "1"))
ORACLE = settings(max_examples=40 * SCALE, deadline=None,
                  suppress_health_check=[HealthCheck.too_slow])
CHEAP = settings(max_examples=150 * SCALE, deadline=None)

DAY = 86_400
#: Zones and the day before each of their clock changes in 2026, so spans cross them.
ZONES: dict[str, list[dt.date]] = {
    "Asia/Shanghai": [dt.date(2026, 9, 18), dt.date(2026, 2, 10)],  # no DST
    "UTC": [dt.date(2026, 1, 1)],
    "America/New_York": [dt.date(2026, 3, 7), dt.date(2026, 10, 31)],  # Mar 8, Nov 1
    "Europe/London": [dt.date(2026, 3, 28), dt.date(2026, 10, 24)],  # Mar 29, Oct 25
    "Australia/Lord_Howe": [dt.date(2026, 4, 4), dt.date(2026, 10, 3)],  # 30-minute shifts
    "America/Santiago": [dt.date(2026, 4, 3), dt.date(2026, 9, 5)],  # changes at midnight
}

#: Times of day where the zones above change their clocks (skipped or repeated).
CLOCK_CHANGE_TIMES = [0, 1800, 3600, 5400, 7200, 9000, 10800, 82800, 84600, DAY]
minute_points = st.one_of(
    st.sampled_from(CLOCK_CHANGE_TIMES),
    st.integers(0, 48).map(lambda half_hours: half_hours * 1800),  # office-like times
    st.integers(0, 1440).map(lambda minutes: minutes * 60),
)


@st.composite
def periods(draw: Any, points: st.SearchStrategy[int] = minute_points,
            max_size: int = 3) -> list[tuple[int, int]]:
    """0-3 periods of a day (seconds), sometimes overlapping, sometimes the whole day."""
    if draw(st.integers(0, 9)) == 0:
        return [(0, DAY)]
    result = []
    for _ in range(draw(st.integers(0, max_size))):
        a, b = draw(points), draw(points)
        if a != b:
            result.append((min(a, b), max(a, b)))
    return result


@st.composite
def cases(draw: Any, overrides: bool, zones: list[str] | None = None,
          points: st.SearchStrategy[int] = minute_points) -> tuple[Schedule, Oracle, dt.date]:
    """A random schedule, the oracle for the same data, and a base date near a clock
    change of the zone."""
    name = draw(st.sampled_from(zones or sorted(ZONES)))
    base = draw(st.sampled_from(ZONES.get(name, [dt.date(2026, 6, 1)])))
    if draw(st.booleans()):  # the same hours every day: the clock-change day has them too
        every_day = draw(periods(points))
        weekly = dict.fromkeys(range(7), every_day)
    else:
        weekly = {day: draw(periods(points)) for day in range(7)}
    holidays: set[dt.date] = set()
    workdays: dict[dt.date, list[tuple[int, int]]] = {}
    if overrides:
        near = st.integers(-2, 24).map(lambda n: base + dt.timedelta(days=n))
        holidays = draw(st.sets(near, max_size=6))
        workdays = draw(st.dictionaries(near, periods(points), max_size=4))
    schedule = Schedule.build(tz=name, weekly=weekly, holidays=holidays, workdays=workdays)
    oracle = Oracle(ZoneInfo(name), weekly, frozenset(holidays), workdays)
    return schedule, oracle, base


def local(base: dt.date, tz: dt.tzinfo, minutes: int) -> dt.datetime:
    """A whole-minute instant ``minutes`` after midnight UTC of ``base``, in ``tz``."""
    moment = dt.datetime.combine(base, dt.time(), dt.UTC) + dt.timedelta(minutes=minutes)
    return moment.astimezone(tz)


def utc(moment: dt.datetime) -> dt.datetime:
    return moment.astimezone(dt.UTC)


def later(moment: dt.datetime, delta: dt.timedelta) -> dt.datetime:
    """``delta`` of real time after ``moment``, in its zone. (Python's ``moment + delta``
    is wall-clock arithmetic: across a clock change it is not ``delta`` of real time.)"""
    assert moment.tzinfo is not None
    return (moment.astimezone(dt.UTC) + delta).astimezone(moment.tzinfo)


#: Minutes after the base date's midnight UTC, mostly within a day or so of the change.
starts = st.one_of(st.integers(-1440, 2 * 1440), st.integers(-720, 10 * 1440))


# --- Against the oracle, minute by minute -------------------------------------------------

@pytest.mark.parametrize("overrides", [False, True], ids=["weekly", "overrides"])
@ORACLE
@given(data=st.data())
def test_business_time_between_agrees_with_the_oracle(overrides: bool, data: Any) -> None:
    # R37: business time across nights, weekends, holidays, working days and clock changes.
    schedule, oracle, base = data.draw(cases(overrides))
    start = local(base, schedule.tz, data.draw(starts))
    end = later(start, dt.timedelta(minutes=data.draw(st.integers(0, 10 * 1440))))
    assert business_time_between(schedule, start, end) == oracle.between(start, end)


@pytest.mark.parametrize("overrides", [False, True], ids=["weekly", "overrides"])
@ORACLE
@given(data=st.data())
def test_add_business_time_agrees_with_the_oracle(overrides: bool, data: Any) -> None:
    # R37: the moment a business-time target is reached.
    schedule, oracle, base = data.draw(cases(overrides))
    start = local(base, schedule.tz, data.draw(starts))
    minutes = data.draw(st.one_of(st.just(0), st.integers(1, 600), st.integers(1, 4 * 1440)))
    horizon = later(start, dt.timedelta(days=10))
    expected = oracle.add(start, dt.timedelta(minutes=minutes), horizon)
    if expected is None:  # beyond the oracle's reach: at least say it is beyond
        assume(any(schedule.weekly) or schedule.workdays)
        try:
            got = add_business_time(schedule, start, minutes)
        except ValueError:  # no working time ever again
            return
        assert utc(got) > utc(horizon)
        measured = business_time_between(schedule, start, horizon)
        if minutes:
            assert measured < dt.timedelta(minutes=minutes)
        else:
            assert measured == dt.timedelta()
    else:
        got = add_business_time(schedule, start, minutes)
        assert utc(got) == expected
        assert got.tzinfo is schedule.tz


# --- Against the oracle, second by second (fixed offsets, short spans) --------------------

second_points = st.integers(0, DAY)


@ORACLE
@given(data=st.data())
def test_second_precision_agrees_with_the_oracle(data: Any) -> None:
    # R37: exact to the second, with periods and inputs on arbitrary seconds.
    schedule, oracle, base = data.draw(cases(data.draw(st.booleans()),
                                             zones=["Asia/Shanghai", "UTC"],
                                             points=second_points))
    start = (dt.datetime.combine(base, dt.time(), dt.UTC)
             + dt.timedelta(seconds=data.draw(st.integers(0, 2 * DAY)))).astimezone(schedule.tz)
    end = start + dt.timedelta(seconds=data.draw(st.integers(0, 6 * 3600)))  # no DST here
    assert business_time_between(schedule, start, end) == oracle.between(start, end, 1, 0)
    amount = dt.timedelta(seconds=data.draw(st.integers(0, 3 * 3600)))
    expected = oracle.add(start, amount, start + dt.timedelta(hours=6), 1, 0)
    if expected is not None:
        assert utc(add_business_time(schedule, start, amount)) == expected


# --- Invariants on long spans, microsecond inputs (no oracle) -----------------------------

CN = country_days("CN", 2024, 2027)


@st.composite
def long_cases(draw: Any) -> tuple[Schedule, dt.datetime]:
    """Random weekly hours with China's 2024-2027 holidays and swapped working days, or
    a DST zone with random overrides; a start anywhere in 2024-2026 to the microsecond."""
    if draw(st.booleans()):
        weekly = {day: draw(periods()) for day in range(7)}
        schedule = Schedule.build(tz="Asia/Shanghai", weekly=weekly, holidays=CN.holidays,
                                  workdays={day: draw(periods()) for day in CN.workdays})
    else:
        schedule, _, _ = draw(cases(True))
    start = dt.datetime(2024, 1, 1, tzinfo=dt.UTC) + dt.timedelta(
        microseconds=draw(st.integers(0, 3 * 365 * DAY * 10**6)))
    return schedule, start.astimezone(schedule.tz)  # arithmetic below goes through later()


durations = st.integers(0, 200 * DAY * 10**6).map(lambda us: dt.timedelta(microseconds=us))


@CHEAP
@given(case=long_cases(), a=durations, b=durations)
def test_business_time_is_additive_and_monotonic(case: Any, a: dt.timedelta,
                                                 b: dt.timedelta) -> None:
    # R37: splitting an interval never changes its business time; more time, more business.
    schedule, start = case
    middle, end = later(start, a), later(start, a + b)
    whole = business_time_between(schedule, start, end)
    first, second = (business_time_between(schedule, start, middle),
                     business_time_between(schedule, middle, end))
    assert whole == first + second
    assert first <= whole and second <= whole
    assert whole <= end.astimezone(dt.UTC) - start.astimezone(dt.UTC)
    assert business_time_between(schedule, end, start) == dt.timedelta()


@CHEAP
@given(case=long_cases(), amount=durations, extra=durations)
def test_add_and_between_are_consistent(case: Any, amount: dt.timedelta,
                                        extra: dt.timedelta) -> None:
    # R37: adding then measuring gives back the amount; the target is the earliest moment.
    # (Compared in UTC: Python compares two times of one zone by their wall clocks, which
    # misorders the repeated hour of a fall-back.)
    schedule, start = case
    assume(any(schedule.weekly))
    due = add_business_time(schedule, start, amount)
    assert utc(due) >= utc(start)
    assert business_time_between(schedule, start, due) == amount
    assert utc(add_business_time(schedule, start,
                                 business_time_between(schedule, start, due))) == utc(due)
    if amount:  # nothing earlier reaches the amount
        assert business_time_between(schedule, start,
                                     later(due, -dt.timedelta(microseconds=1))) < amount
    # Monotonic in the amount and in the start.
    assert utc(add_business_time(schedule, start, amount + extra)) >= utc(due)
    assert utc(add_business_time(schedule, later(start, extra), amount)) >= utc(due)
    # Measuring up to any moment, then adding, never passes that moment.
    moment = later(start, extra)
    measured = business_time_between(schedule, start, moment)
    if measured:
        assert utc(add_business_time(schedule, start, measured)) <= utc(moment)
    # Zero is the next working moment, and that moment is working time.
    opening = next_working_moment(schedule, start)
    assert utc(opening) == utc(add_business_time(schedule, start, 0)) >= utc(start)
    assert is_working_time(schedule, opening)
    assert business_time_between(schedule, start, opening) == dt.timedelta()


@CHEAP
@given(start=st.datetimes(min_value=dt.datetime(2000, 1, 1),  # noqa: DTZ001 (naive bounds)
                          max_value=dt.datetime(2090, 1, 1),  # noqa: DTZ001
                          timezones=st.sampled_from([ZoneInfo("Asia/Shanghai"), dt.UTC,
                                                     ZoneInfo("Europe/London")])),
       amount=durations)
def test_calendar_time_is_plain_time(start: dt.datetime, amount: dt.timedelta) -> None:
    # R35: on calendar time (24x7, no holidays) business time is elapsed time.
    # (Hypothesis also draws wall times skipped or repeated by a clock change.)
    assert utc(add_business_time(CALENDAR_TIME, start, amount)) == utc(later(start, amount))
    assert business_time_between(CALENDAR_TIME, start, later(start, amount)) == amount
    assert is_working_time(CALENDAR_TIME, start)


@ORACLE
@given(data=st.data())
def test_a_whole_day_schedule_in_a_dst_zone_is_calendar_time(data: Any) -> None:
    # R35/R37: 00:00-24:00 every day in a zone with clock changes still counts every
    # moment once (23- and 25-hour days), through the general (non-shortcut) path.
    name = data.draw(st.sampled_from(["America/New_York", "Europe/London",
                                      "Australia/Lord_Howe", "America/Santiago"]))
    schedule = Schedule.build(tz=name, weekly={day: [(0, DAY)] for day in range(7)},
                              holidays=[dt.date(1999, 1, 1)])  # a holiday defeats the shortcut
    start = dt.datetime(2020, 1, 1, tzinfo=dt.UTC) + dt.timedelta(
        seconds=data.draw(st.integers(0, 8 * 365 * DAY)))
    amount = data.draw(durations)
    assert utc(add_business_time(schedule, start, amount)) == start + amount
    assert business_time_between(schedule, start, start + amount) == amount
