"""The SLA timers follow the order's lifecycle: a handler of ``OrderEvent`` on the bus."""

from __future__ import annotations

from fieldops import bus
from workorders.events import OrderEvent

from . import engine


def timers_follow(event: OrderEvent) -> None:
    """R7, R14, R31, R34-R38: arm, stop, pause, resume or cancel the order's timers in the
    transaction of the change (the policy's rules name the actions)."""
    engine.on_order_event(order=event.order, action=event.action, at=event.at)


def register() -> None:
    bus.subscribe(OrderEvent, timers_follow)
