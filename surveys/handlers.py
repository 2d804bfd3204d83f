"""The callback survey follows the order's lifecycle: a handler of ``OrderEvent`` on the bus."""

from __future__ import annotations

from django.db import transaction

from fieldops import bus
from workorders.events import OrderAction, OrderEvent

from .tasks import start_survey


def survey_after_completion(event: OrderEvent) -> None:
    """R29: once the completion is committed, the automatic survey is sent (a Celery job,
    so it is queued only after commit; the job is safe to run twice)."""
    if event.action == OrderAction.COMPLETE:
        order_id = event.order.pk
        transaction.on_commit(lambda: start_survey.delay(order_id))


def register() -> None:
    bus.subscribe(OrderEvent, survey_after_completion)
