"""Business-time arithmetic on a frozen ``Schedule`` (R37), independent of the ORM.

A promise (R7, R34, R36, ...) is computed either on calendar time or on a business
calendar: working hours per weekday (split shifts allowed), public holidays and, for
China, the officially swapped working weekends (调休). The SLA engine loads a calendar
once (``sla.selectors.schedule_for``) and then calls, as often as it likes:

``add_business_time(schedule, start, minutes)``
    the moment when ``minutes`` (an ``int`` of minutes, or a ``timedelta``) of business
    time have elapsed after ``start``. Outside working time the clock starts at the next
    working moment. The result is the *earliest* such moment, so a target that uses up a
    day's hours exactly ends at that day's closing time (Friday 17:30), not at the next
    opening (Monday 08:30). **Zero** returns the next working moment at or after
    ``start`` (``start`` itself if it is working time): "when does the clock start?".
``business_time_between(schedule, start, end)``
    the business time inside ``[start, end)``, a ``timedelta``; zero when ``end <= start``.
``next_working_moment(schedule, moment)`` and ``is_working_time(schedule, moment)``.

``CALENDAR_TIME`` is the schedule where every moment counts (24x7, no holidays), so a
policy on calendar time goes through the same calls (R35: VIP 24-hour repair).

How a day's hours become real time
    A working period ``[a, b)`` on local date ``d`` covers the real time from the first
    moment the local wall clock reads ``d a`` or later to the first moment it reads
    ``d b`` or later (``b`` may be 24:00, the next midnight). Business time is real
    elapsed time inside such spans, exact to the microsecond. In zones without daylight
    saving (Asia/Shanghai) this is plain wall-clock arithmetic. Where clocks change, a
    00:00-24:00 day lasts 23 or 25 hours, a period that starts in the skipped hour starts
    at the jump, and a period that starts in the repeated hour starts at its first pass.

How it stays fast
    Days are grouped into runs of ordinary days (no holiday, no extra working day, no
    UTC-offset change, within one year). The business time of a run is known in O(1)
    from per-weekday totals (whole weeks at once), so the cost of a call grows with the
    number of holidays and clock changes it crosses, not with its length: microseconds
    for a week, a few tens of microseconds for months. Only the special days are turned
    into real-time spans one by one.

Precedence of the day kinds: a date in ``workdays`` works with its own periods; else a
date in ``holidays`` does not work; else the weekday's periods apply. ``sla.selectors``
builds schedules from the database with the country's data first and the calendar's
local overrides on top (local overrides always win).
"""

from __future__ import annotations

import bisect
import datetime as dt
import functools
import itertools
import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from zoneinfo import ZoneInfo

#: The product's zone (settings.TIME_ZONE's default); China has no daylight saving.
DEFAULT_TIME_ZONE = "Asia/Shanghai"

SECONDS_PER_DAY = 86_400
_US = 1_000_000  # microseconds per second: every instant below is an int of microseconds
_DAY_US = SECONDS_PER_DAY * _US
_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
_EPOCH_ORDINAL = dt.date(1970, 1, 1).toordinal()
_ONE_US = dt.timedelta(microseconds=1)

#: One working period: seconds after local midnight, ``0 <= start < end <= 86400``.
Period = tuple[int, int]
DayPeriods = tuple[Period, ...]
#: What ``Schedule.build`` accepts for a period's ends: ``time`` (``time(0)`` as an end
#: means 24:00), "HH:MM[:SS]" (``"24:00"`` allowed) or seconds after midnight.
TimeLike = dt.time | str | int


# --- Periods -------------------------------------------------------------------------

def to_seconds(value: TimeLike, *, end: bool = False) -> int:
    """Seconds after midnight for a period's start or (``end=True``) end."""
    if isinstance(value, bool):
        raise TypeError("a time of day, not a bool")
    if isinstance(value, int):
        seconds = value
    elif isinstance(value, dt.time):
        if value.microsecond:
            raise ValueError(f"working periods are whole seconds: {value}")
        seconds = value.hour * 3600 + value.minute * 60 + value.second
        if end and seconds == 0:
            seconds = SECONDS_PER_DAY  # an end of 00:00 is the midnight ending the day
    else:
        match = re.fullmatch(r"\s*(\d{1,2}):(\d{2})(?::(\d{2}))?\s*", value)
        if not match:
            raise ValueError(f"not a time of day (HH:MM): {value!r}")
        hours, minutes, secs = int(match[1]), int(match[2]), int(match[3] or 0)
        if minutes > 59 or secs > 59:
            raise ValueError(f"not a time of day (HH:MM): {value!r}")
        seconds = hours * 3600 + minutes * 60 + secs
    if not 0 <= seconds <= SECONDS_PER_DAY:
        raise ValueError(f"a time of day is between 00:00 and 24:00, not {value!r}")
    return seconds


def normalise(periods: Iterable[tuple[TimeLike, TimeLike]]) -> DayPeriods:
    """Sorted, merged (union of overlapping or touching) periods in seconds."""
    spans = sorted((to_seconds(a), to_seconds(b, end=True)) for a, b in periods)
    merged: list[list[int]] = []
    for start, end in spans:
        if start >= end:
            raise ValueError(f"a working period must start before it ends: "
                             f"{format_seconds(start)}-{format_seconds(end)}")
        if merged and start <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], end)
        else:
            merged.append([start, end])
    return tuple((start, end) for start, end in merged)


def overlapping(periods: Iterable[tuple[TimeLike, TimeLike]]) -> tuple[Period, Period] | None:
    """The first two periods that overlap (touching is fine), for validation messages."""
    spans = sorted((to_seconds(a), to_seconds(b, end=True)) for a, b in periods)
    for previous, current in itertools.pairwise(spans):
        if current[0] < previous[1]:
            return previous, current
    return None


def parse_hours(text: str) -> DayPeriods:
    """``"08:30-12:00, 13:30-17:30"`` -> periods; blank -> ``()``. Overlaps are refused."""
    chunks = [chunk for chunk in re.split(r"[,，;；\s]+", text.strip()) if chunk]
    pairs: list[tuple[str, str]] = []
    for chunk in chunks:
        start, sep, end = chunk.replace("–", "-").replace("~", "-").partition("-")
        if not sep:
            raise ValueError(f"not a period (HH:MM-HH:MM): {chunk!r}")
        pairs.append((start, end))
    clash = overlapping(pairs)
    if clash:
        raise ValueError(f"periods overlap: {format_hours(clash)}")
    return normalise(pairs)


def format_seconds(seconds: int) -> str:
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours:02d}:{minutes:02d}" + (f":{secs:02d}" if secs else "")


def format_hours(periods: Iterable[Period]) -> str:
    """The inverse of ``parse_hours``: ``"08:30-12:00, 13:30-17:30"``."""
    return ", ".join(f"{format_seconds(a)}-{format_seconds(b)}" for a, b in periods)


# --- Country data ----------------------------------------------------------------------

@dataclass(frozen=True)
class CountryDays:
    """Public holidays and officially swapped working days of a country, per the
    ``holidays`` package, for ``years`` (inclusive range)."""

    code: str
    years: tuple[int, int]
    holidays: Mapping[dt.date, str]
    workdays: frozenset[dt.date]


@functools.lru_cache(maxsize=32)
def country_days(code: str, first_year: int, last_year: int,
                 language: str | None = None) -> CountryDays:
    """Holidays and swapped working weekends of ``code`` for ``first_year..last_year``.

    For China ("CN") the ``holidays`` package (0.109 here) encodes the State Council's
    yearly notices (国务院办公厅关于节假日安排的通知) for **2001-2026**: the statutory
    holidays, the days off moved onto weekdays ("day off, substituted from ...") and the
    weekend days worked in exchange (``weekend_workdays``, 调休上班). For later years it
    only has the statutory days (with lunar dates computed and rule-based "observed"
    days, marked estimated) and **no swapped working days**: those come with the next
    notice (published each November) in a newer ``holidays`` release, or as the
    calendar's local overrides until then. ``language`` only changes the names.
    """
    # holidays loads every country's rules (slow): only when a calendar is filled.
    import holidays as holidays_lib

    years = range(first_year, last_year + 1)
    data = holidays_lib.country_holidays(code, years=years, language=language)
    names = {day: str(name) for day, name in data.items() if day.year in years}
    swapped: Iterable[dt.date] = getattr(data, "weekend_workdays", ())
    workdays = frozenset(day for day in swapped if day.year in years)
    return CountryDays(code=code, years=(first_year, last_year), holidays=names,
                       workdays=workdays)


# --- The schedule ------------------------------------------------------------------------

def _ordinal_us(ordinal: int) -> int:
    """Microseconds from the epoch to 00:00 of ``ordinal`` in UTC."""
    return (ordinal - _EPOCH_ORDINAL) * _DAY_US


def _to_us(moment: dt.datetime) -> int:
    return (moment - _EPOCH) // _ONE_US


def _from_us(us: int, tz: dt.tzinfo) -> dt.datetime:
    return (_EPOCH + dt.timedelta(microseconds=us)).astimezone(tz)


def _aware(moment: dt.datetime, what: str) -> int:
    if not isinstance(moment, dt.datetime):
        raise TypeError(f"{what} must be a datetime, not {type(moment).__name__}")
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"{what} must be an aware datetime (with a time zone): {moment}")
    return _to_us(moment)


@dataclass(frozen=True)
class Schedule:
    """When the clock runs: a zone, the weekly hours and the exceptions. Immutable.

    ``weekly[0]`` is Monday. ``holidays`` are dates without work; ``workdays`` are dates
    that work with the given periods whatever their weekday (swapped working weekends,
    local working days); a date in both works. ``holiday_years`` says which years the
    country data covered (``None`` when there is none): outside them only the weekly
    hours and the local overrides apply.
    """

    tz: dt.tzinfo
    weekly: tuple[DayPeriods, ...]
    holidays: frozenset[dt.date] = frozenset()
    workdays: tuple[tuple[dt.date, DayPeriods], ...] = ()
    name: str = ""
    holiday_years: tuple[int, int] | None = None

    # Derived in __post_init__ (not compared, not shown).
    _week_us: tuple[int, ...] = field(init=False, repr=False, compare=False)
    _periods_us: tuple[tuple[tuple[int, int], ...], ...] = field(
        init=False, repr=False, compare=False)
    _prefix: tuple[int, ...] = field(init=False, repr=False, compare=False)
    _week_total: int = field(init=False, repr=False, compare=False)
    _workday_map: Mapping[dt.date, DayPeriods] = field(init=False, repr=False, compare=False)
    _special: tuple[int, ...] = field(init=False, repr=False, compare=False)
    _special_set: frozenset[int] = field(init=False, repr=False, compare=False)
    _last_work_ordinal: int = field(init=False, repr=False, compare=False)
    _continuous: bool = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if len(self.weekly) != 7:
            raise ValueError("weekly needs 7 entries, Monday first")
        weekly = tuple(normalise(day) for day in self.weekly)
        workdays = tuple(sorted((day, normalise(periods)) for day, periods in self.workdays))
        if len({day for day, _ in workdays}) != len(workdays):
            raise ValueError("a date appears twice in workdays")
        workday_map = dict(workdays)
        holidays = frozenset(day for day in self.holidays if day not in workday_map)
        setter = object.__setattr__
        setter(self, "weekly", weekly)
        setter(self, "workdays", workdays)
        setter(self, "holidays", holidays)
        setter(self, "_workday_map", workday_map)
        periods_us = tuple(tuple((a * _US, b * _US) for a, b in day) for day in weekly)
        week_us = tuple(sum(b - a for a, b in day) for day in periods_us)
        prefix = [0]
        for i in range(14):  # two weeks, so any 7-day window is one subtraction
            prefix.append(prefix[-1] + week_us[i % 7])
        setter(self, "_periods_us", periods_us)
        setter(self, "_week_us", week_us)
        setter(self, "_prefix", tuple(prefix))
        setter(self, "_week_total", prefix[7])
        special = sorted({day.toordinal() for day in holidays}
                         | {day.toordinal() for day in workday_map})
        setter(self, "_special", tuple(special))
        setter(self, "_special_set", frozenset(special))
        working_extras = [day.toordinal() for day, periods in workdays if periods]
        setter(self, "_last_work_ordinal", max(working_extras, default=0))
        setter(self, "_continuous", not special and all(
            day == ((0, SECONDS_PER_DAY),) for day in weekly))

    @classmethod
    def build(cls, *, tz: str | dt.tzinfo = DEFAULT_TIME_ZONE,
              weekly: Mapping[int, Iterable[tuple[TimeLike, TimeLike]]],
              holidays: Iterable[dt.date] = (),
              workdays: Mapping[dt.date, Iterable[tuple[TimeLike, TimeLike]]] | None = None,
              name: str = "", holiday_years: tuple[int, int] | None = None) -> Schedule:
        """``Schedule.build(weekly={0: [("08:30", "12:00"), ("13:30", "17:30")], ...})``;
        weekdays left out of ``weekly`` do not work."""
        if any(day not in range(7) for day in weekly):
            raise ValueError("weekdays are 0 (Monday) to 6 (Sunday)")
        zone = ZoneInfo(tz) if isinstance(tz, str) else tz
        return cls(
            tz=zone,
            weekly=tuple(normalise(weekly.get(day, ())) for day in range(7)),
            holidays=frozenset(holidays),
            workdays=tuple((day, normalise(p)) for day, p in (workdays or {}).items()),
            name=name, holiday_years=holiday_years)

    def periods_on(self, day: dt.date) -> DayPeriods:
        """The working periods of a local date (seconds after midnight)."""
        if day in self._workday_map:
            return self._workday_map[day]
        if day in self.holidays:
            return ()
        return self.weekly[day.weekday()]

    # --- The two halves of the arithmetic: ordinary runs and special days ---------------

    def _next_break(self, ordinal: int) -> int:
        """The first ordinal after ``ordinal`` (an ordinary day) that ends its run: a
        special day, a day whose UTC offset changes, or 1 January."""
        year = dt.date.fromordinal(ordinal).year
        limit = dt.date(year + 1, 1, 1).toordinal()
        i = bisect.bisect_right(self._special, ordinal)
        if i < len(self._special):
            limit = min(limit, self._special[i])
        changes = _offset_change_days(self.tz, year)
        j = bisect.bisect_right(changes, ordinal)
        if j < len(changes):
            limit = min(limit, changes[j])
        return limit

    def _is_special(self, ordinal: int) -> bool:
        return ordinal in self._special_set or _changes_offset(self.tz, ordinal)

    def _spans(self, start_us: int) -> Iterator[tuple[int, int, int]]:
        """Chronological chunks covering the time from the local day before
        ``start_us`` on: ``(kind, a, b)`` with kind 0 = a run of ordinary days
        ``[a, b)`` (ordinals), kind 1 = a special day ``a`` (b unused)."""
        ordinal = _from_us(start_us, self.tz).date().toordinal() - 1
        while True:
            if self._is_special(ordinal):
                yield 1, ordinal, ordinal + 1
                ordinal += 1
            else:
                end = self._next_break(ordinal)
                yield 0, ordinal, end
                ordinal = end

    def _day_intervals(self, ordinal: int) -> tuple[list[tuple[int, int]], int]:
        """A special day's working periods as real-time ``[a, b)`` microseconds, and the
        instant the day ends."""
        day = dt.date.fromordinal(ordinal)
        if not _changes_offset(self.tz, ordinal):
            origin = self._run_origin(ordinal)
            return ([(origin + a * _US, origin + b * _US) for a, b in self.periods_on(day)],
                    origin + _DAY_US)
        return ([(_wall_us(self.tz, day, a), _wall_us(self.tz, day, b))
                 for a, b in self.periods_on(day)],
                _wall_us(self.tz, day, SECONDS_PER_DAY))

    def _run_origin(self, ordinal: int) -> int:
        """The instant of 00:00 on an ordinary day (its offset holds all run long)."""
        midnight = dt.datetime.combine(dt.date.fromordinal(ordinal), dt.time(), self.tz)
        offset = midnight.utcoffset() or dt.timedelta()
        return _ordinal_us(ordinal) - offset // _ONE_US

    def _run_cumulative(self, ordinal: int, origin: int, moment: int) -> int:
        """Business microseconds from the run's first midnight to ``moment``."""
        days, into = divmod(moment - origin, _DAY_US)
        weekday = (ordinal + days + 6) % 7
        total = self._days_total(ordinal, days)
        for a, b in self._periods_us[weekday]:
            if into <= a:
                break
            total += min(into, b) - a
        return total

    def _days_total(self, ordinal: int, days: int) -> int:
        """Business microseconds of ``days`` ordinary days from ``ordinal``."""
        weeks, rest = divmod(days, 7)
        weekday = (ordinal + 6) % 7
        return weeks * self._week_total + self._prefix[weekday + rest] - self._prefix[weekday]

    def _run_locate(self, ordinal: int, origin: int, target: int, strict: bool) -> int:
        """The earliest instant in the run where the cumulative business time reaches
        ``target`` (``strict``: where it goes beyond ``target``, i.e. the next working
        moment). The caller guarantees the run holds that much."""
        weekday = (ordinal + 6) % 7
        # Whole weeks that end before the target is reached (strictly: reached or passed).
        weeks = (target if strict else target - 1) // self._week_total
        rest = target - weeks * self._week_total
        day = weeks * 7
        while True:
            todays = self._week_us[(weekday + day) % 7]
            if rest < todays or (not strict and rest == todays):
                break
            rest -= todays
            day += 1
        for a, b in self._periods_us[(weekday + day) % 7]:
            length = b - a
            if rest < length or (not strict and rest == length):
                return origin + day * _DAY_US + a + rest
            rest -= length
        raise AssertionError("unreachable: the day holds the rest")  # pragma: no cover

    # --- The public arithmetic (module-level functions delegate here) --------------------

    def add(self, start: dt.datetime, amount: int | dt.timedelta) -> dt.datetime:
        start_us = _aware(start, "start")
        if isinstance(amount, bool) or not isinstance(amount, int | dt.timedelta):
            raise TypeError("amount is an int of minutes or a timedelta")
        need = amount * 60 * _US if isinstance(amount, int) else amount // _ONE_US
        if need < 0:
            raise ValueError(f"business time to add must not be negative: {amount}")
        if self._continuous:
            return _from_us(start_us + need, self.tz)
        for kind, first, end in self._spans(start_us):
            if kind == 1:
                for a, b in self._day_intervals(first)[0]:
                    a = max(a, start_us)
                    if b <= a:
                        continue
                    if need == 0:
                        return _from_us(a, self.tz)
                    if b - a >= need:
                        return _from_us(a + need, self.tz)
                    need -= b - a
                continue
            origin = self._run_origin(first)
            run_end = origin + (end - first) * _DAY_US
            if run_end <= start_us:
                continue
            low = max(start_us, origin)
            before = self._run_cumulative(first, origin, low)
            available = self._days_total(first, end - first) - before
            if available > need or (need and available == need):
                return _from_us(self._run_locate(first, origin, before + need, not need),
                                self.tz)
            need -= available
            if self._week_total == 0 and end > self._last_work_ordinal:
                raise ValueError(f"schedule {self.name!r} has no working time after "
                                 f"{dt.date.fromordinal(end)}")
        raise AssertionError("unreachable")  # pragma: no cover

    def between(self, start: dt.datetime, end: dt.datetime) -> dt.timedelta:
        start_us, end_us = _aware(start, "start"), _aware(end, "end")
        if end_us <= start_us:
            return dt.timedelta()
        if self._continuous:
            return dt.timedelta(microseconds=end_us - start_us)
        total = 0
        for kind, first, last in self._spans(start_us):
            if kind == 1:
                intervals, day_end = self._day_intervals(first)
                for a, b in intervals:
                    total += max(0, min(b, end_us) - max(a, start_us))
                if day_end >= end_us:
                    break
                continue
            origin = self._run_origin(first)
            run_end = origin + (last - first) * _DAY_US
            low, high = max(start_us, origin), min(end_us, run_end)
            if low < high:
                total += (self._run_cumulative(first, origin, high)
                          - self._run_cumulative(first, origin, low))
            if run_end >= end_us:
                break
        return dt.timedelta(microseconds=total)


def _wall_us(tz: dt.tzinfo, day: dt.date, seconds: int) -> int:
    """The first instant (microseconds) at which the wall clock in ``tz`` reads
    ``day + seconds`` or later: the instant itself, the first pass of a repeated time,
    the moment of the jump for a skipped time."""
    naive = dt.datetime.combine(day, dt.time()) + dt.timedelta(seconds=seconds)
    first = _to_us(naive.replace(tzinfo=tz))
    second = _to_us(naive.replace(tzinfo=tz, fold=1))
    if first <= second:  # unique (equal) or repeated (fold=0 is the first pass)
        return first
    # Skipped by a jump forward: fold=1 lands before the jump, fold=0 after it.
    # Transitions fall on whole seconds: bisect for the first second showing >= naive.
    low, high = second // _US, -(-first // _US)
    while high - low > 1:
        middle = (low + high) // 2
        wall = dt.datetime.fromtimestamp(middle, tz).replace(tzinfo=None)
        if wall >= naive:
            high = middle
        else:
            low = middle
    return high * _US


def _changes_offset(tz: dt.tzinfo, ordinal: int) -> bool:
    """Whether the UTC offset changes on that local date (see ``_offset_change_days``)."""
    changes = _offset_change_days(tz, dt.date.fromordinal(ordinal).year)
    i = bisect.bisect_left(changes, ordinal)
    return i < len(changes) and changes[i] == ordinal


@functools.lru_cache(maxsize=1024)
def _offset_change_days(tz: dt.tzinfo, year: int) -> tuple[int, ...]:
    """Ordinals of the local dates of ``year`` on which the UTC offset changes (or whose
    midnight is skipped or repeated). Assumes at most one change per day, as in tzdata."""
    if isinstance(tz, dt.timezone):
        return ()

    def offsets(ordinal: int) -> tuple[dt.timedelta | None, dt.timedelta | None]:
        midnight = dt.datetime.combine(dt.date.fromordinal(ordinal), dt.time())
        return (midnight.replace(tzinfo=tz).utcoffset(),
                midnight.replace(tzinfo=tz, fold=1).utcoffset())

    first, stop = dt.date(year, 1, 1).toordinal(), dt.date(year + 1, 1, 1).toordinal()
    changes = []
    today = offsets(first)
    for ordinal in range(first, stop):
        tomorrow = offsets(ordinal + 1)
        if not today[0] == today[1] == tomorrow[0] == tomorrow[1]:
            changes.append(ordinal)
        today = tomorrow
    return tuple(changes)


#: Calendar time: every moment counts (24x7, no holidays). R35: VIP 24-hour repair.
CALENDAR_TIME = Schedule.build(
    tz=DEFAULT_TIME_ZONE, weekly={day: [(0, SECONDS_PER_DAY)] for day in range(7)},
    name="calendar time")


def add_business_time(schedule: Schedule, start: dt.datetime,
                      minutes: int | dt.timedelta) -> dt.datetime:
    """The earliest moment when ``minutes`` of business time have elapsed after ``start``
    (R37). Outside working time the clock starts at the next working moment; zero gives
    that next working moment (``start`` itself when it is working time). The result is
    in the schedule's zone."""
    return schedule.add(start, minutes)


def business_time_between(schedule: Schedule, start: dt.datetime,
                          end: dt.datetime) -> dt.timedelta:
    """Business time inside ``[start, end)`` (R37); zero when ``end <= start``."""
    return schedule.between(start, end)


def next_working_moment(schedule: Schedule, moment: dt.datetime) -> dt.datetime:
    """The first working moment at or after ``moment``."""
    return schedule.add(moment, 0)


def is_working_time(schedule: Schedule, moment: dt.datetime) -> bool:
    """Whether the clock runs at ``moment`` (working periods include their start)."""
    # In UTC: ``moment + 1 µs`` in its own zone is wall-clock arithmetic (and drops fold).
    instant = moment.astimezone(dt.UTC)
    return bool(schedule.between(instant, instant + _ONE_US))
