"""The SLA part of the API: timers on the order detail and timeline, and the
``sla_status`` list filter.

NOT YET CONNECTED: this server's ``sla`` app has no ``Timer`` model yet, so every order
shows ``{"available": false, "status": "none", "timers": []}``, the timeline shows no
timer events, and ``sla_status`` filters to nothing. Connecting it means implementing the
three functions below on ``sla.models.Timer`` / ``sla.selectors.order_timers``.
"""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet

from workorders.models import WorkOrder


def order_sla(order: WorkOrder) -> dict[str, Any]:
    return {"available": False, "status": "none", "timers": []}


def timer_events(order: WorkOrder) -> list[dict[str, Any]]:
    return []


def filter_orders(qs: QuerySet[WorkOrder], status: str) -> QuerySet[WorkOrder]:
    return qs.none()
