"""Replay the timer event log to check every recorded breach and non-breach (R38).

For each timer the log is walked from "started": pauses, resumes, re-arms and the stop
give the business time used; a breach must be recorded exactly when that time reached the
target, exactly once, at the moment the target was reached. Timers still running and just
past due (not yet swept) are reported as pending, not as errors.

A breach withdrawn by a late-arriving earlier event (a WITHDRAWN event naming its level and
round) no longer counts: it is correct when the withdrawing event's time is before the
breach's (the clock stopped before the due time), and the timer's ``breached_at`` must not
show it; the breach that counts is the one left (a resumed timer may breach again in the
next round).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from fieldops import clock

from . import calendars
from .engine import schedule_of
from .timers import Timer, TimerEventKind


@dataclass(frozen=True)
class Finding:
    timer_id: int
    order_id: int
    problem: str


def replay(timer: Timer, *, now: dt.datetime,
           grace: dt.timedelta = dt.timedelta(minutes=5)) -> Finding | None:
    schedule = schedule_of(timer.rule)
    events = sorted(timer.events.all(), key=lambda e: (e.at, e.pk))
    used = 0
    running_since: dt.datetime | None = None
    target = timer.target_seconds
    withdrawals = {(e.round, e.withdraws): e for e in events
                   if e.kind == TimerEventKind.WITHDRAWN}
    breaches = []
    for event in events:
        if event.kind != TimerEventKind.BREACHED:
            continue
        withdrawn = withdrawals.get((event.round, event.level))
        if withdrawn is None:
            breaches.append(event)
        elif not withdrawn.at < event.at:
            return Finding(timer.pk, timer.order_id,
                           f"breach at {event.at.isoformat()} withdrawn by an event at "
                           f"{withdrawn.at.isoformat()}, not before it")
    for event in events:
        if event.kind in (TimerEventKind.STARTED, TimerEventKind.RESUMED):
            running_since = event.at
            if event.kind == TimerEventKind.STARTED:
                target = int(event.data.get("target_seconds", target))
        elif event.kind in (TimerEventKind.PAUSED, TimerEventKind.STOPPED,
                            TimerEventKind.CANCELLED, TimerEventKind.REARMED):
            if running_since is not None:
                used += int(calendars.business_time_between(schedule, running_since,
                                                            event.at).total_seconds())
                running_since = event.at if event.kind == TimerEventKind.REARMED else None
            if event.kind == TimerEventKind.REARMED:
                target = int(event.data.get("target_seconds", target))
    end = now
    if running_since is not None:
        used += int(calendars.business_time_between(schedule, running_since,
                                                    end).total_seconds())
    over = used >= target  # the promise is kept only before the due time
    if len(breaches) > 1:
        return Finding(timer.pk, timer.order_id, f"{len(breaches)} breaches recorded")
    if breaches and not used >= target:
        return Finding(timer.pk, timer.order_id,
                       f"breach recorded but only {used}s of {target}s used")
    if breaches and timer.breached_at != breaches[0].at:
        return Finding(timer.pk, timer.order_id, "breach time differs from its event")
    if not breaches and timer.breached_at is not None:
        return Finding(timer.pk, timer.order_id, "breach recorded on the timer was withdrawn")
    if over and not breaches:
        late = timer.status == "armed" and timer.due_at is not None and now - timer.due_at < grace
        if not late:
            return Finding(timer.pk, timer.order_id,
                           f"{used}s of {target}s used but no breach recorded")
    return None


def verify(timers: Iterable[Timer] | None = None, *,
           now: dt.datetime | None = None) -> Iterator[Finding]:
    now = now or clock.now()
    qs = timers if timers is not None else (
        Timer.objects.select_related("rule__calendar").prefetch_related("events")
        .iterator(chunk_size=2000))
    for timer in qs:
        finding = replay(timer, now=now)
        if finding is not None:
            yield finding
