"""The callback survey follows the order's lifecycle: a handler of ``OrderEvent`` on the bus."""

from __future__ import annotations

from fieldops import bus, outbox
from workorders.events import OrderAction, OrderEvent

from .services import survey_superseded
from .tasks import start_survey


def survey_after_completion(event: OrderEvent) -> None:
    """R29: once the completion is committed, the automatic survey is sent (a Celery job,
    so it is queued only after commit, through the outbox so a broker outage loses nothing;
    the job is safe to run twice)."""
    if event.action == OrderAction.COMPLETE:
        outbox.send_after_commit(start_survey, event.order.pk)


def survey_set_aside_on_reopen(event: OrderEvent) -> None:
    """R52 → R31: an order reopened for rework while its survey waits for an answer: that
    survey no longer counts (the customer is surveyed again after the rework, R32)."""
    if event.action == OrderAction.REOPEN_REWORK:
        survey_superseded(order=event.order, now=event.at, reason="reopened for rework")


def register() -> None:
    bus.subscribe(OrderEvent, survey_after_completion)
    bus.subscribe(OrderEvent, survey_set_aside_on_reopen)
