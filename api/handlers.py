"""The call-centre's webhooks follow the lifecycle and the SLA engine: handlers on the bus.

Order events and SLA warnings/breaches become webhook deliveries in the outbox, in the
transaction that caused them; the outbox sends them after commit (channel ``webhook``,
registered with the notifications app in ``ApiConfig.ready()``).
"""

from __future__ import annotations

from fieldops import bus
from notifications.backends import register_channel
from sla.events import BreachesWithdrawn, TimerStepped
from sla.timers import Timer
from workorders.events import OrderEvent

from .models import WebhookEndpoint
from .services import (
    webhook_publish_order_event,
    webhook_publish_timer_event,
    webhook_publish_timer_withdrawal,
)
from .webhooks import send_webhook


def order_event_to_webhooks(event: OrderEvent) -> None:
    """Each order event (its R42 row) to the endpoints that want its type."""
    webhook_publish_order_event(event=event.row)


def timer_steps_to_webhooks(event: TimerStepped) -> None:
    """R38 for the call-centre: warnings and breaches to the endpoints that want them. One
    query when nobody listens."""
    if not WebhookEndpoint.objects.filter(is_active=True, client__is_active=True).exists():
        return
    timers = Timer.objects.select_related("order").in_bulk({s.timer_id for s in event.steps})
    for step in event.steps:
        webhook_publish_timer_event(timer=timers[step.timer_id], kind=step.kind, at=step.at)


def withdrawals_to_webhooks(event: BreachesWithdrawn) -> None:
    """R38: endpoints told of a warning or breach are told when it is withdrawn (a step done
    offline in time reached the server after the sweep). One query when nobody listens."""
    if not WebhookEndpoint.objects.filter(is_active=True, client__is_active=True).exists():
        return
    timers = Timer.objects.select_related("order").in_bulk({s.timer_id for s in event.steps})
    for step in event.steps:
        webhook_publish_timer_withdrawal(timer=timers[step.timer_id], kind=step.kind,
                                         reached_at=step.reached_at, at=event.at,
                                         received_at=event.received_at, action=event.action)


def register() -> None:
    bus.subscribe(OrderEvent, order_event_to_webhooks)
    bus.subscribe(TimerStepped, timer_steps_to_webhooks)
    bus.subscribe(BreachesWithdrawn, withdrawals_to_webhooks)
    register_channel("webhook", send_webhook)
