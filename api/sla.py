"""The SLA part of the API: timers on the order detail and timeline, and the
``sla_status`` list filter, read from the SLA engine (``sla.selectors``, R38)."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet

from sla import selectors as sla_selectors
from sla.timers import TimerEvent
from workorders.models import WorkOrder


def order_status(timers: list[dict[str, Any]]) -> str:
    """"breached" once any promise was broken (it stays so, R38), else "at_risk" while a
    running timer is past its warning step, else "ok"; "none" without timers."""
    if not timers:
        return "none"
    if any(t["breached_at"] is not None for t in timers):
        return "breached"
    if any(t["at_risk"] for t in timers):
        return "at_risk"
    return "ok"


def order_sla(order: WorkOrder) -> dict[str, Any]:
    timers = sla_selectors.order_timers(order)
    for timer in timers:
        timer["breached"] = timer["breached_at"] is not None
    return {"available": True, "status": order_status(timers), "timers": timers}


def timer_events(order: WorkOrder) -> list[dict[str, Any]]:
    """Every timer event of the order (started, paused, warned, breached...), oldest first."""
    rows = (TimerEvent.objects.filter(timer__order=order).select_related("timer")
            .order_by("at", "id"))
    return [{"at": e.at, "timer": e.timer.kind, "cycle": e.timer.cycle, "event": e.kind,
             "level": e.level, "reason": e.reason} for e in rows]


def timers_with_status(status: str) -> QuerySet[Any]:
    """``at_risk``: running timers past their warning step; ``breached``: broken promises."""
    return (sla_selectors.timers_at_risk() if status == "at_risk"
            else sla_selectors.timers_breached())


def filter_orders(qs: QuerySet[WorkOrder], status: str) -> QuerySet[WorkOrder]:
    """Orders with a timer of ``timers_with_status(status)``."""
    return qs.filter(pk__in=timers_with_status(status).values("order_id"))
