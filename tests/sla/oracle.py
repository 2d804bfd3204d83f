"""A brute-force oracle for business time (R37), written independently of sla.calendars.

It steps through real time (minute by minute, or second by second) and asks of each step
"is this working time?" by looking at the local wall clock: the step works when the
latest wall-clock reading so far (the high-water mark, so a repeated hour after a fall-back
is read as the end of the hour before it) falls inside a working period of its local date.
That is the definition in sla.calendars' docstring ("a period runs from the first moment
the clock reads its start"), checked the slow and obvious way.

Steps are exact when every period boundary, input and zone transition lies on a whole step,
which the tests ensure (whole minutes for the minute oracle; second-resolution checks use
a fixed-offset zone).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from zoneinfo import ZoneInfo

Periods = Sequence[tuple[int, int]]  # seconds after local midnight, end may be 86400


@dataclass
class Oracle:
    tz: dt.tzinfo
    weekly: Mapping[int, Periods]
    holidays: frozenset[dt.date] = frozenset()
    workdays: Mapping[dt.date, Periods] = field(default_factory=dict)

    def periods(self, day: dt.date) -> Periods:
        if day in self.workdays:
            return self.workdays[day]
        if day in self.holidays:
            return ()
        return self.weekly.get(day.weekday(), ())

    def wall_is_working(self, wall: dt.datetime) -> bool:
        second = wall.hour * 3600 + wall.minute * 60 + wall.second
        return any(a <= second < b for a, b in self.periods(wall.date()))

    def steps(self, start: dt.datetime, step: int, warm_up: int = 26 * 3600
              ) -> Iterator[tuple[dt.datetime, bool]]:
        """``(moment, working)`` for each step from ``start`` on, forever. ``warm_up``
        seconds before ``start`` feed the high-water mark (none needed without DST)."""
        utc = start.astimezone(dt.UTC) - dt.timedelta(seconds=warm_up)
        delta = dt.timedelta(seconds=step)
        high: dt.datetime | None = None
        while True:
            wall = utc.astimezone(self.tz).replace(tzinfo=None)
            if high is None or wall > high:
                high = wall
            if utc >= start:
                yield utc, self.wall_is_working(high)
            utc += delta

    def between(self, start: dt.datetime, end: dt.datetime, step: int = 60,
                warm_up: int = 26 * 3600) -> dt.timedelta:
        total = 0
        for moment, working in self.steps(start, step, warm_up):
            if moment >= end:
                break
            total += step if working else 0
        return dt.timedelta(seconds=total)

    def add(self, start: dt.datetime, amount: dt.timedelta, horizon: dt.datetime,
            step: int = 60, warm_up: int = 26 * 3600) -> dt.datetime | None:
        """The moment ``amount`` of business time has elapsed, or ``None`` if that is
        after ``horizon``."""
        need = int(amount.total_seconds())
        for moment, working in self.steps(start, step, warm_up):
            if moment >= horizon:
                return None
            if working:
                if need == 0:
                    return moment
                need -= step
                if need == 0:
                    return moment + dt.timedelta(seconds=step)


def zone(name: str) -> dt.tzinfo:
    return ZoneInfo(name)
