"""The supervisors' figures follow the order's lifecycle: a handler of ``OrderEvent``."""

from __future__ import annotations

from fieldops import bus
from workorders.events import OrderEvent

from .services import order_fact_mark_stale


def mark_stale(event: OrderEvent) -> None:
    """R39: every event marks the order's facts for the next batch refresh
    (``refresh_stale_facts``), in the event's transaction."""
    order_fact_mark_stale(event.order.pk)


def register() -> None:
    bus.subscribe(OrderEvent, mark_stale)
