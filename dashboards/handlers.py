"""The supervisors' figures follow the order's lifecycle: a handler of ``OrderEvent``."""

from __future__ import annotations

from fieldops import bus
from sla.events import BreachesWithdrawn
from workorders.events import OrderEvent

from .services import order_fact_mark_stale


def mark_stale(event: OrderEvent) -> None:
    """R39: every event marks the order's facts for the next batch refresh
    (``refresh_stale_facts``), in the event's transaction."""
    order_fact_mark_stale(event.order.pk)


def withdrawn_stale(event: BreachesWithdrawn) -> None:
    """R38/R39: breaches withdrawn by a late-arriving earlier event: the orders' facts are
    refreshed (the timers now count as met), in the same transaction."""
    for order_id in event.order_ids:
        order_fact_mark_stale(order_id)


def register() -> None:
    bus.subscribe(OrderEvent, mark_stale)
    bus.subscribe(BreachesWithdrawn, withdrawn_stale)
