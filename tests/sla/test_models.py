"""Business calendars in the database: the default calendars, local overrides, the cache of
built schedules, validation and the admin (R37; "24x7" for R35)."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.urls import reverse

from sla import selectors, services
from sla.calendars import add_business_time, business_time_between, is_working_time
from sla.models import (
    CN_STANDARD,
    ROUND_THE_CLOCK,
    BusinessCalendar,
    CalendarOverride,
    WorkingPeriod,
)
from workorders.errors import RuleViolation

pytestmark = pytest.mark.django_db

SHANGHAI = ZoneInfo("Asia/Shanghai")
H = dt.timedelta(hours=1)
YEARS = (2024, 2026)


def at(*args: int) -> dt.datetime:
    return dt.datetime(*args, tzinfo=SHANGHAI)  # type: ignore[misc]


@pytest.fixture
def cn() -> BusinessCalendar:
    return BusinessCalendar.objects.get(name=CN_STANDARD)


def test_the_migration_creates_cn_standard_and_24x7(cn: BusinessCalendar) -> None:
    # R37 / R35
    assert cn.time_zone == "Asia/Shanghai" and cn.country_holidays == "CN"
    hours = sorted((p.weekday, p.start, p.end) for p in cn.periods.all())
    assert hours == sorted((day, start, end) for day in range(5) for start, end in (
        (dt.time(8, 30), dt.time(12)), (dt.time(13, 30), dt.time(17, 30))))
    always = BusinessCalendar.objects.get(name=ROUND_THE_CLOCK)
    assert always.country_holidays == ""
    assert {(p.weekday, p.start, p.end) for p in always.periods.all()} == {
        (day, dt.time(0), dt.time(0)) for day in range(7)}


def test_cn_standard_from_the_database(cn: BusinessCalendar) -> None:
    # R37: the examples of test_calendars.py, on the calendar the migration made.
    schedule = selectors.schedule_for(cn, years=YEARS)
    assert schedule.holiday_years == YEARS
    assert add_business_time(schedule, at(2025, 3, 14, 16), 240) == at(2025, 3, 17, 11)
    assert add_business_time(schedule, at(2025, 9, 30, 16), 240) == at(2025, 10, 9, 11)
    assert add_business_time(schedule, at(2025, 9, 27, 10), 480) == at(2025, 9, 29, 9)
    assert business_time_between(schedule, at(2026, 9, 28), at(2026, 10, 12)) == 45 * H


def test_24x7_counts_every_moment() -> None:
    # R35: VIP 24-hour repair, nights and National Day included.
    schedule = selectors.schedule_named(ROUND_THE_CLOCK, years=YEARS)
    start = at(2025, 9, 30, 22)
    assert add_business_time(schedule, start, 24 * 60) == at(2025, 10, 1, 22)
    assert business_time_between(schedule, start, at(2025, 10, 8, 22)) == 8 * 24 * H


def test_local_overrides_win_over_the_country_data(cn: BusinessCalendar) -> None:
    # R37: a local working morning on a national holiday, a day off on a swapped working
    # Sunday, and a working Saturday with the calendar's Monday hours.
    services.set_override(cn, dt.date(2025, 10, 2), "workday", hours="09:00-13:00",
                          note="国庆值班")
    services.set_override(cn, dt.date(2025, 9, 28), "holiday", note="本地不调休")
    services.set_override(cn, dt.date(2025, 3, 22), "workday")
    schedule = selectors.schedule_for(cn, years=YEARS)
    assert business_time_between(schedule, at(2025, 10, 1), at(2025, 10, 3)) == 4 * H
    assert not is_working_time(schedule, at(2025, 9, 28, 9))
    assert business_time_between(schedule, at(2025, 3, 22), at(2025, 3, 23)) == 7.5 * H
    services.remove_override(cn, dt.date(2025, 9, 28))
    schedule = selectors.schedule_for(cn, years=YEARS)
    assert is_working_time(schedule, at(2025, 9, 28, 9))


def test_split_shifts_from_the_database(cn: BusinessCalendar) -> None:
    # R37: Saturday 08:00-12:00 and 18:00-21:00.
    services.set_working_hours(cn, 5, [(dt.time(8), dt.time(12)), (dt.time(18), dt.time(21))])
    schedule = selectors.schedule_for(cn, years=YEARS)
    # Fri 2025-03-14 17:00 + 5 h: 0.5 h Friday, 4 h Saturday morning, 0.5 h in the evening.
    assert add_business_time(schedule, at(2025, 3, 14, 17), 300) == at(2025, 3, 15, 18, 30)


def test_a_changed_calendar_is_rebuilt_and_an_unchanged_one_is_cached(
        cn: BusinessCalendar) -> None:
    # R37: the cache is keyed on the revision in the database, which every change renews
    # (even with the clock frozen, where an updated_at would not move).
    with time_machine.travel(at(2025, 6, 1, 10), tick=False):
        first = selectors.schedule_for(cn, years=YEARS)
        assert selectors.schedule_for(cn, years=YEARS) is first
        stale = BusinessCalendar.objects.get(pk=cn.pk)
        period = cn.periods.get(weekday=0, start=dt.time(8, 30))
        period.start = dt.time(9)
        period.save()
        # An instance read before the change still gets the current hours.
        second = selectors.schedule_for(stale, years=YEARS)
        assert second is not first
        assert selectors.schedule_for(cn, years=YEARS) is second
        assert second.weekly[0][0] == (9 * 3600, 12 * 3600)
        CalendarOverride.objects.create(calendar=cn, date=dt.date(2025, 6, 3), kind="holiday")
        third = selectors.schedule_for(cn.pk, years=YEARS)
        assert dt.date(2025, 6, 3) in third.holidays
        cn.periods.filter(weekday=0).delete()
        assert selectors.schedule_for(cn, years=YEARS).weekly[0] == ()
        cn.time_zone = "Europe/London"
        cn.save()
        assert str(selectors.schedule_for(cn, years=YEARS).tz) == "Europe/London"


def test_default_years_follow_today(cn: BusinessCalendar) -> None:
    with time_machine.travel(at(2026, 11, 22, 10), tick=False):
        assert selectors.default_years() == (2016, 2028)
        schedule = selectors.schedule_for(cn)
    assert schedule.holiday_years == (2016, 2028)
    assert dt.date(2016, 10, 1) in schedule.holidays


# --- Validation -------------------------------------------------------------------------------

def test_working_periods_are_validated(cn: BusinessCalendar) -> None:
    # R37
    with pytest.raises(ValidationError):
        WorkingPeriod(calendar=cn, weekday=6, start=dt.time(12), end=dt.time(8)).full_clean()
    WorkingPeriod(calendar=cn, weekday=6, start=dt.time(20), end=dt.time(0)).full_clean()
    with pytest.raises(RuleViolation) as overlap:
        services.set_working_hours(cn, 6, [(dt.time(8), dt.time(12)), (dt.time(11), dt.time(14))])
    assert overlap.value.rule == "R37"
    with pytest.raises(RuleViolation):
        services.set_working_hours(cn, 6, [(dt.time(12), dt.time(8))])
    with pytest.raises(RuleViolation):
        services.set_working_hours(cn, 7, [])
    assert not cn.periods.filter(weekday=6).exists()
    with transaction.atomic(), pytest.raises(IntegrityError):  # the database refuses too
        WorkingPeriod.objects.create(calendar=cn, weekday=6, start=dt.time(12), end=dt.time(8))


def test_overrides_are_validated(cn: BusinessCalendar) -> None:
    # R37
    with pytest.raises(RuleViolation):
        services.set_override(cn, dt.date(2025, 5, 1), "holiday", hours="09:00-12:00")
    with pytest.raises(RuleViolation):
        services.set_override(cn, dt.date(2025, 5, 1), "workday", hours="9-12")
    with pytest.raises(RuleViolation):
        services.set_override(cn, dt.date(2025, 5, 1), "workday",
                              hours="09:00-12:00, 11:00-13:00")
    with pytest.raises(RuleViolation):
        services.set_override(cn, dt.date(2025, 5, 1), "sometimes")
    free = BusinessCalendar.objects.create(name="weekends only")
    with pytest.raises(RuleViolation):  # no Monday hours to borrow
        services.set_override(free, dt.date(2025, 5, 1), "workday")
    override = services.set_override(cn, dt.date(2025, 5, 1), "workday", hours="09:00-12:00")
    again = services.set_override(cn, dt.date(2025, 5, 1), "holiday")
    assert again.pk == override.pk and again.kind == "holiday"


def test_time_zone_and_country_are_validated() -> None:
    calendar = BusinessCalendar(name="bad", time_zone="Mars/Olympus", country_holidays="XX")
    with pytest.raises(ValidationError) as error:
        calendar.full_clean()
    assert set(error.value.message_dict) == {"time_zone", "country_holidays"}


# --- Admin -----------------------------------------------------------------------------------

def _inline_data(periods: list[tuple[str, str, str]]) -> dict[str, str]:
    data = {"name": "Night shift", "time_zone": "Asia/Shanghai", "country_holidays": "CN",
            "description": "",
            "periods-TOTAL_FORMS": str(len(periods)), "periods-INITIAL_FORMS": "0",
            "overrides-TOTAL_FORMS": "1", "overrides-INITIAL_FORMS": "0",
            "overrides-0-date": "2025-10-02", "overrides-0-kind": "workday",
            "overrides-0-hours": "09:00-13:00", "overrides-0-note": "值班"}
    for i, (weekday, start, end) in enumerate(periods):
        data |= {f"periods-{i}-weekday": weekday, f"periods-{i}-start": start,
                 f"periods-{i}-end": end}
    return data


def test_the_admin_edits_calendars_with_inlines(admin_client, cn: BusinessCalendar) -> None:
    # R37
    assert admin_client.get(reverse("admin:sla_businesscalendar_changelist")).status_code == 200
    page = admin_client.get(reverse("admin:sla_businesscalendar_change", args=[cn.pk]))
    assert page.status_code == 200
    assert "2026-10-10" in page.content.decode() or "2027" in page.content.decode()
    add = reverse("admin:sla_businesscalendar_add")
    refused = admin_client.post(add, _inline_data([("0", "20:00", "23:00"),
                                                   ("0", "22:00", "00:00")]))
    assert refused.status_code == 200
    assert not BusinessCalendar.objects.filter(name="Night shift").exists()
    created = admin_client.post(add, _inline_data([("0", "20:00", "22:00"),
                                                   ("0", "22:00", "00:00"),
                                                   ("1", "00:00", "06:00")]))
    assert created.status_code == 302, created.content.decode()[:2000]
    night = BusinessCalendar.objects.get(name="Night shift")
    schedule = selectors.schedule_for(night, years=YEARS)
    # Mon 2025-03-17 21:00 + 5 h: 21:00-24:00 Monday, then Tuesday 00:00-02:00.
    assert add_business_time(schedule, at(2025, 3, 17, 21), 300) == at(2025, 3, 18, 2)
    assert business_time_between(schedule, at(2025, 10, 2), at(2025, 10, 3)) == 4 * H
