"""Outages listen to the lifecycle (fieldops.bus): a repair taken while an outage covers
it is attached, and repair reports from one access node may propose an outage (R54).
Nothing here is called by the lifecycle."""

from __future__ import annotations

from fieldops import bus, outbox
from workorders.events import OrderAction, OrderEvent
from workorders.models import Kind

from . import selectors, services, tasks


def new_repair(event: OrderEvent) -> None:
    """At intake (R54): the covering outage is left on the order for the intake's answer
    ("known outage, ETA 16:00") and the order is attached by a job after the intake commits,
    so its visit clock, armed by this very event, exists and is paused by the attach
    whatever order the handlers run in. A report from an access node counts towards a
    proposal."""
    if event.action != OrderAction.CREATE:
        return
    order = event.order
    if order.kind != Kind.REPAIR:
        return
    match = selectors.covering(order)
    order.__dict__["outage_match"] = match
    if match is not None:
        outbox.send_after_commit(tasks.attach_new_order, order.pk)
        return
    node_id = selectors.line_node(order)
    if node_id is not None:
        services.propose_for(order, node_id, now=event.at)


def register() -> None:
    bus.subscribe(OrderEvent, new_repair)
