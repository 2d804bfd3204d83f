"""An order's facts for the dashboards, computed from its history (pure: no queries).

Used by the refresh of the orders each event marks (``services.order_facts_refresh``),
by the rebuild command, and by the scale demo data, so the three always agree.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from django.utils import timezone

from workorders.events import OrderAction

#: R12: the customer asked to wait; R6: no line or port resources. Each pause ends with
#: the first of its ``ends`` actions (or the end of the order).
CUSTOMER_PAUSE = (OrderAction.PARK,
                  frozenset({OrderAction.RESUME, OrderAction.CANCEL, OrderAction.CLOSE_ABNORMAL}))
RESOURCES_PAUSE = (OrderAction.REPORT_NO_RESOURCES,
                   frozenset({OrderAction.DISPATCH, OrderAction.RESOLVE_REMOTELY,
                              OrderAction.CANCEL, OrderAction.PARK}))
#: Survey answers (R29-R33): satisfied closes the order, not satisfied starts a rework round.
SATISFIED = OrderAction.CLOSE_SATISFIED
UNSATISFIED = OrderAction.START_REWORK


@dataclass(frozen=True)
class History:
    """What the facts are computed from."""

    created_at: dt.datetime
    #: (action, at) of every event, in order.
    events: Sequence[tuple[str, dt.datetime]]
    #: (kind, status, breached_at) of every SLA timer of the order, except the breached
    #: ones a supervisor exempted (R50): those are left out of every figure.
    timers: Sequence[tuple[str, str, dt.datetime | None]]
    #: (arrived_at, late) of every appointment the technician checked in to (R14).
    arrivals: Sequence[tuple[dt.datetime, bool | None]]
    #: Breached timers exempted for force majeure (R50): still recorded (R38), counted
    #: apart.
    exempt_breaches: int = 0


Interval = tuple[dt.datetime, dt.datetime]


def pauses(events: Sequence[tuple[str, dt.datetime]], starts: str,
           ends: frozenset[str]) -> list[Interval]:
    """The closed intervals between a pausing action and the action that ends it."""
    found: list[Interval] = []
    since: dt.datetime | None = None
    for action, at in events:
        if since is None and action == starts:
            since = at
        elif since is not None and action in ends:
            found.append((since, at))
            since = None
    return found


def overlap(intervals: Iterable[Interval], start: dt.datetime, end: dt.datetime) -> float:
    """Seconds of ``intervals`` inside [start, end)."""
    total = 0.0
    for lo, hi in intervals:
        lo, hi = max(lo, start), min(hi, end)
        if hi > lo:
            total += (hi - lo).total_seconds()
    return total


def net_seconds(start: dt.datetime | None, end: dt.datetime | None,
                paused: Sequence[Interval]) -> int | None:
    """Seconds from start to end with the paused time left out; None if either is unknown."""
    if start is None or end is None or end < start:
        return None
    return round((end - start).total_seconds() - overlap(paused, start, end))


def outcome(timers: Iterable[tuple[str, str, dt.datetime | None]], kind: str) -> str:
    """"breached" if any cycle of the timer broke the promise, "met" if one stopped in time,
    "" while it is still running (or was only cancelled)."""
    statuses = [(status, breached) for k, status, breached in timers if k == kind]
    if any(breached is not None for _s, breached in statuses):
        return "breached"
    if any(status == "stopped" for status, _b in statuses):
        return "met"
    return ""


def compute(history: History) -> dict[str, Any]:
    """The facts (fields of ``OrderFact``) that come from the order's history."""
    events = history.events

    def first(action: str) -> dt.datetime | None:
        return next((at for a, at in events if a == action), None)

    customer = pauses(events, *CUSTOMER_PAUSE)
    resources = pauses(events, *RESOURCES_PAUSE)
    paused = customer + resources
    dispatched, contacted = first(OrderAction.DISPATCH), first(OrderAction.CONTACT)
    on_site, completed = first(OrderAction.CHECK_IN), first(OrderAction.COMPLETE)
    actions = [a for a, _at in events]
    return {
        "day": timezone.localdate(history.created_at),
        "created_at": history.created_at,
        "dispatched_at": dispatched,
        "contacted_at": contacted,
        "on_site_at": on_site,
        "completed_at": completed,
        "dispatch_to_contact_s": net_seconds(dispatched, contacted, paused),
        "dispatch_to_site_s": net_seconds(dispatched, on_site, paused),
        "site_to_complete_s": net_seconds(on_site, completed, paused),
        "paused_customer_s": round(sum((b - a).total_seconds() for a, b in customer)),
        "paused_resources_s": round(sum((b - a).total_seconds() for a, b in resources)),
        "contact_outcome": outcome(history.timers, "contact"),
        "visit_outcome": outcome(history.timers, "visit"),
        "breaches": sum(1 for _k, _s, breached in history.timers if breached is not None),
        "exempt_breaches": history.exempt_breaches,
        "visits": actions.count(OrderAction.CHECK_IN),
        "arrivals": len(history.arrivals),
        "late_arrivals": sum(1 for _at, late in history.arrivals if late),
        "survey_answers": actions.count(SATISFIED) + actions.count(UNSATISFIED),
        "satisfied_answers": actions.count(SATISFIED),
        "rework_rounds": actions.count(UNSATISFIED),
        "remote": OrderAction.RESOLVE_REMOTELY in actions,
        "abnormal": OrderAction.MAKE_ABNORMAL in actions,
    }
