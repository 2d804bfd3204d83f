"""Worked examples of business-time arithmetic (R37), computed by hand, no database.

"CN standard" here is Monday to Friday 08:30-12:00 and 13:30-17:30 (7.5 h a day) with
China's holidays and swapped working weekends from the ``holidays`` package, the
swapped days working Monday's hours: the same as the calendar migration 0002 creates.
"""

from __future__ import annotations

import datetime as dt
import time
from zoneinfo import ZoneInfo

import pytest

from sla.calendars import (
    CALENDAR_TIME,
    Schedule,
    add_business_time,
    business_time_between,
    country_days,
    format_hours,
    is_working_time,
    next_working_moment,
    normalise,
    overlapping,
    parse_hours,
)

SHANGHAI = ZoneInfo("Asia/Shanghai")
OFFICE = (("08:30", "12:00"), ("13:30", "17:30"))
H = dt.timedelta(hours=1)


def at(*args: int, tz: dt.tzinfo = SHANGHAI) -> dt.datetime:
    return dt.datetime(*args, tzinfo=tz)  # type: ignore[misc]


@pytest.fixture(scope="module")
def cn() -> Schedule:
    data = country_days("CN", 2024, 2026)
    return Schedule.build(weekly=dict.fromkeys(range(5), OFFICE), holidays=data.holidays,
                          workdays=dict.fromkeys(data.workdays, OFFICE), name="CN standard",
                          holiday_years=(2024, 2026))


# --- Ordinary weeks ---------------------------------------------------------------------

def test_four_hours_from_friday_afternoon_end_monday_late_morning(cn: Schedule) -> None:
    # R37: Fri 16:00-17:30 is 1.5 h; the other 2.5 h run Mon 08:30-11:00.
    start = at(2025, 3, 14, 16, 0)  # a Friday
    assert add_business_time(cn, start, 240) == at(2025, 3, 17, 11, 0)
    assert business_time_between(cn, start, at(2025, 3, 17, 11, 0)) == 4 * H


def test_the_lunch_break_does_not_count(cn: Schedule) -> None:
    # R37
    assert add_business_time(cn, at(2025, 3, 17, 11, 45), 30) == at(2025, 3, 17, 13, 45)
    assert business_time_between(cn, at(2025, 3, 17, 11, 0), at(2025, 3, 17, 14, 0)) == 1.5 * H


def test_a_target_that_uses_up_the_day_ends_at_closing_time(cn: Schedule) -> None:
    # R37: the earliest moment the target is reached: Friday 17:30, not Monday 08:30.
    assert add_business_time(cn, at(2025, 3, 14, 13, 30), 240) == at(2025, 3, 14, 17, 30)
    assert add_business_time(cn, at(2025, 3, 14, 8, 0), dt.timedelta(hours=7.5)) == at(
        2025, 3, 14, 17, 30)


def test_outside_working_time_the_clock_starts_at_the_next_opening(cn: Schedule) -> None:
    # R37: an order taken on Saturday evening starts its business clock on Monday.
    assert add_business_time(cn, at(2025, 3, 15, 19, 0), 60) == at(2025, 3, 17, 9, 30)
    assert business_time_between(cn, at(2025, 3, 15, 19, 0), at(2025, 3, 17, 8, 30)) == 0 * H


def test_zero_is_the_next_working_moment_at_or_after_the_start(cn: Schedule) -> None:
    # R37: "when does the clock start?"; periods include their start, not their end.
    assert add_business_time(cn, at(2025, 3, 17, 9, 0), 0) == at(2025, 3, 17, 9, 0)
    assert add_business_time(cn, at(2025, 3, 17, 12, 0), 0) == at(2025, 3, 17, 13, 30)
    assert next_working_moment(cn, at(2025, 3, 14, 17, 30)) == at(2025, 3, 17, 8, 30)
    assert is_working_time(cn, at(2025, 3, 17, 8, 30))
    assert not is_working_time(cn, at(2025, 3, 17, 17, 30))


def test_exact_to_the_microsecond(cn: Schedule) -> None:
    # R37
    start = at(2025, 3, 17, 11, 59, 59) + dt.timedelta(microseconds=250)
    due = add_business_time(cn, start, dt.timedelta(seconds=2))
    assert due == at(2025, 3, 17, 13, 30, 1) + dt.timedelta(microseconds=250)
    assert business_time_between(cn, start, due) == dt.timedelta(seconds=2)


def test_any_zone_in_any_zone_out(cn: Schedule) -> None:
    # R37: inputs may be in any zone (Django hands out UTC); results are in the calendar's.
    due = add_business_time(cn, at(2025, 3, 14, 8, 0, tz=dt.UTC), 240)  # Fri 16:00 Shanghai
    assert due == at(2025, 3, 17, 11, 0) and due.tzinfo is SHANGHAI


def test_end_before_start_is_zero_and_long_spans_count_whole_weeks(cn: Schedule) -> None:
    # R37: 2025-03-03 (Mon) to 2025-03-31 (Mon): four ordinary weeks of 37.5 h.
    assert business_time_between(cn, at(2025, 3, 31), at(2025, 3, 3)) == 0 * H
    assert business_time_between(cn, at(2025, 3, 3), at(2025, 3, 31)) == 4 * 37.5 * H


# --- China's holidays and swapped working weekends (调休) -------------------------------

def test_the_package_knows_2025_and_2026_swapped_working_days() -> None:
    # R37: official notices for 2025 and 2026 (国务院办公厅通知).
    days = country_days("CN", 2025, 2026)
    assert days.workdays == {
        dt.date(2025, 1, 26), dt.date(2025, 2, 8), dt.date(2025, 4, 27),
        dt.date(2025, 9, 28), dt.date(2025, 10, 11),
        dt.date(2026, 1, 4), dt.date(2026, 2, 14), dt.date(2026, 2, 28),
        dt.date(2026, 5, 9), dt.date(2026, 9, 20), dt.date(2026, 10, 10)}
    # Weekends inside the break are not listed: they were days off anyway.
    assert {dt.date(2025, 10, day) for day in (1, 2, 3, 6, 7, 8)} <= set(days.holidays)
    assert {dt.date(2026, 10, day) for day in (1, 2, 5, 6, 7)} <= set(days.holidays)
    assert dt.date(2026, 10, 8) not in days.holidays


def test_national_day_2025_stops_the_clock_for_eight_days(cn: Schedule) -> None:
    # R37: 2025: Oct 1-8 off (National Day with Mid-Autumn), Sun Sep 28 and Sat Oct 11 worked.
    # Tue Sep 30 16:00 + 4 h: 1.5 h on Sep 30, then Thu Oct 9 08:30 + 2.5 h.
    assert add_business_time(cn, at(2025, 9, 30, 16, 0), 240) == at(2025, 10, 9, 11, 0)
    # Sep 30, Oct 9, Oct 10 and the swapped Saturday Oct 11: four days of 7.5 h.
    assert business_time_between(cn, at(2025, 9, 30), at(2025, 10, 12)) == 30 * H


def test_a_swapped_working_sunday_and_saturday_count(cn: Schedule) -> None:
    # R37: Sat Sep 27 is off, Sun Sep 28 works (调休上班): 8 h from Saturday 10:00 end
    # on Monday 09:00 (7.5 h on Sunday).
    assert add_business_time(cn, at(2025, 9, 27, 10, 0), 480) == at(2025, 9, 29, 9, 0)
    # Fri Oct 10 17:00 + 2 h: 0.5 h on Friday, 1.5 h on the working Saturday Oct 11.
    assert add_business_time(cn, at(2025, 10, 10, 17, 0), 120) == at(2025, 10, 11, 10, 0)
    assert is_working_time(cn, at(2025, 10, 11, 9, 0))
    assert not is_working_time(cn, at(2025, 10, 18, 9, 0))  # an ordinary Saturday


def test_national_day_2026(cn: Schedule) -> None:
    # R37: 2026: Oct 1-7 off; Sun Sep 20 and Sat Oct 10 worked.
    assert add_business_time(cn, at(2026, 9, 18, 17, 0), 120) == at(2026, 9, 20, 10, 0)
    # Wed Sep 30 15:00 + 8 h: 2.5 h on Sep 30, then Thu Oct 8 08:30-12:00 and 13:30-15:30.
    assert add_business_time(cn, at(2026, 9, 30, 15, 0), 480) == at(2026, 10, 8, 15, 30)
    # Sep 28-30 and Oct 8-10 (the 10th a swapped Saturday): six days of 7.5 h.
    assert business_time_between(cn, at(2026, 9, 28), at(2026, 10, 12)) == 45 * H


def test_spring_festival_2026(cn: Schedule) -> None:
    # R37: Feb 15-23 off (with Feb 14 and Feb 28, Saturdays, worked).
    assert add_business_time(cn, at(2026, 2, 13, 17, 0), 60) == at(2026, 2, 14, 9, 0)
    assert add_business_time(cn, at(2026, 2, 14, 17, 0), 60) == at(2026, 2, 24, 9, 0)


# --- Split shifts and local overrides -----------------------------------------------------

def test_a_split_shift_with_an_evening_period() -> None:
    # R37: 08:00-12:00, 14:00-18:00 and 19:00-22:00 every day (11 h).
    split = (("08:00", "12:00"), ("14:00", "18:00"), ("19:00", "22:00"))
    shifts = Schedule.build(weekly=dict.fromkeys(range(7), split))
    start = at(2025, 3, 18, 11, 0)
    assert add_business_time(shifts, start, 5 * 60) == at(2025, 3, 18, 18, 0)
    assert add_business_time(shifts, start, 6 * 60) == at(2025, 3, 18, 20, 0)
    assert add_business_time(shifts, start, 9 * 60) == at(2025, 3, 19, 9, 0)
    assert business_time_between(shifts, at(2025, 3, 18, 11, 30), at(2025, 3, 18, 19, 30)) \
        == 5 * H
    assert business_time_between(shifts, at(2025, 3, 17), at(2025, 3, 24)) == 77 * H


def test_local_overrides_make_a_day_off_or_a_working_day() -> None:
    # R37: a local day off on Wed 2025-03-19, a working Saturday 2025-03-22 09:00-12:00.
    local = Schedule.build(weekly=dict.fromkeys(range(5), OFFICE),
                           holidays=[dt.date(2025, 3, 19)],
                           workdays={dt.date(2025, 3, 22): [("09:00", "12:00")]})
    # Tue 17:00 + 2 h: 0.5 h Tuesday, Wednesday off, Thu 08:30 + 1.5 h.
    assert add_business_time(local, at(2025, 3, 18, 17, 0), 120) == at(2025, 3, 20, 10, 0)
    # Fri 17:00 + 2 h: 0.5 h Friday, then Saturday 09:00-10:30.
    assert add_business_time(local, at(2025, 3, 21, 17, 0), 120) == at(2025, 3, 22, 10, 30)
    assert business_time_between(local, at(2025, 3, 17), at(2025, 3, 24)) == (4 * 7.5 + 3) * H


def test_a_working_day_wins_over_a_holiday_on_the_same_date() -> None:
    both = Schedule.build(weekly={}, holidays=[dt.date(2025, 10, 2)],
                          workdays={dt.date(2025, 10, 2): [("09:00", "13:00")]})
    assert both.periods_on(dt.date(2025, 10, 2)) == ((9 * 3600, 13 * 3600),)
    assert business_time_between(both, at(2025, 10, 1), at(2025, 10, 4)) == 4 * H


# --- Calendar time and 24x7 (R35) ------------------------------------------------------------

def test_calendar_time_counts_nights_weekends_and_holidays() -> None:
    # R35: a VIP 24-hour repair promise runs through the night and through National Day.
    start = at(2025, 9, 30, 22, 0)
    assert add_business_time(CALENDAR_TIME, start, 24 * 60) == at(2025, 10, 1, 22, 0)
    assert business_time_between(CALENDAR_TIME, start, at(2025, 10, 8, 22, 0)) == 8 * 24 * H
    assert add_business_time(CALENDAR_TIME, start, 0) == start


# --- Zones with daylight saving -----------------------------------------------------------------

NEW_YORK, LONDON = ZoneInfo("America/New_York"), ZoneInfo("Europe/London")


def test_whole_days_last_23_and_25_hours_when_clocks_change() -> None:
    # R37: 2026-03-08 New York springs forward at 02:00; 2026-10-25 London falls back.
    sundays = Schedule.build(tz=NEW_YORK, weekly={6: [("00:00", "24:00")]})
    assert business_time_between(sundays, at(2026, 3, 7, tz=NEW_YORK),
                                 at(2026, 3, 10, tz=NEW_YORK)) == 23 * H
    london = Schedule.build(tz=LONDON, weekly={6: [("00:00", "24:00")]})
    assert business_time_between(london, at(2026, 10, 24, tz=LONDON),
                                 at(2026, 10, 27, tz=LONDON)) == 25 * H
    # 24 h of business time from Sunday 00:00 end on Monday at 01:00 (a 25-hour Sunday).
    assert add_business_time(london, at(2026, 10, 25, tz=LONDON), 24 * 60) == at(
        2026, 10, 25, 23, 0, tz=LONDON)


def test_periods_in_skipped_and_repeated_hours() -> None:
    # R37: a period starting in the skipped hour starts at the jump (03:00 EDT)...
    early = Schedule.build(tz=NEW_YORK, weekly={6: [("02:30", "05:00")]})
    assert business_time_between(early, at(2026, 3, 8, tz=NEW_YORK),
                                 at(2026, 3, 9, tz=NEW_YORK)) == 2 * H
    assert next_working_moment(early, at(2026, 3, 8, tz=NEW_YORK)) == at(
        2026, 3, 8, 3, 0, tz=NEW_YORK)
    # ... and one starting in the repeated hour starts at its first pass (01:30 EDT)
    # and ends at 03:00 EST: 2.5 hours of real time.
    repeated = Schedule.build(tz=NEW_YORK, weekly={6: [("01:30", "03:00")]})
    assert business_time_between(repeated, at(2026, 10, 31, tz=NEW_YORK),
                                 at(2026, 11, 2, tz=NEW_YORK)) == 2.5 * H
    first_pass = dt.datetime(2026, 11, 1, 1, 30, tzinfo=NEW_YORK, fold=0)
    assert next_working_moment(repeated, at(2026, 11, 1, tz=NEW_YORK)) == first_pass


# --- Validation and helpers --------------------------------------------------------------------

def test_inputs_are_checked(cn: Schedule) -> None:
    with pytest.raises(ValueError, match="aware"):
        add_business_time(cn, dt.datetime(2025, 3, 17, 9, 0), 60)  # noqa: DTZ001
    with pytest.raises(ValueError, match="negative"):
        add_business_time(cn, at(2025, 3, 17), -1)
    with pytest.raises(TypeError):
        add_business_time(cn, at(2025, 3, 17), 1.5)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="7 entries"):
        Schedule(tz=SHANGHAI, weekly=((),))
    with pytest.raises(ValueError, match="start before"):
        Schedule.build(weekly={0: [("12:00", "08:00")]})
    never = Schedule.build(weekly={}, workdays={dt.date(2025, 3, 20): OFFICE})
    assert add_business_time(never, at(2025, 3, 17), 60) == at(2025, 3, 20, 9, 30)
    with pytest.raises(ValueError, match="no working time"):
        add_business_time(never, at(2025, 3, 21), 60)


def test_periods_parse_merge_and_format() -> None:
    assert parse_hours("08:30-12:00, 13:30-17:30") == ((30600, 43200), (48600, 63000))
    assert parse_hours("08:30-12:00，13:30~24:00") == ((30600, 43200), (48600, 86400))
    assert parse_hours("  ") == ()
    assert format_hours(parse_hours("13:30-17:30,08:30-12:00")) == "08:30-12:00, 13:30-17:30"
    with pytest.raises(ValueError, match="overlap"):
        parse_hours("08:00-12:00, 11:00-13:00")
    with pytest.raises(ValueError):
        parse_hours("8h-12h")
    with pytest.raises(ValueError):
        parse_hours("08:00-25:00")
    # The arithmetic merges overlapping and touching periods (a union).
    assert normalise([(dt.time(8), dt.time(12)), (dt.time(11), dt.time(13)),
                      (dt.time(13), dt.time(0))]) == ((28800, 86400),)
    assert overlapping([("08:00", "12:00"), ("12:00", "13:00")]) is None


def test_long_spans_are_fast(cn: Schedule) -> None:
    # R37: the SLA sweep computes many timers; months cost well under a few milliseconds.
    start, end = at(2025, 1, 3, 9, 0), at(2025, 7, 3, 9, 0)  # Spring Festival to Dragon Boat
    total = business_time_between(cn, start, end)
    assert add_business_time(cn, start, total) == end
    began = time.perf_counter()
    for _ in range(200):
        business_time_between(cn, start, end)
        add_business_time(cn, start, total)
    per_call = (time.perf_counter() - began) / 400
    assert per_call < 0.005, f"{per_call * 1e6:.0f} µs per call"
