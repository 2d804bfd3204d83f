"""The callback survey follows the order's lifecycle: a handler of ``OrderEvent`` on the bus."""

from __future__ import annotations

from fieldops import bus, outbox
from workorders.events import OrderAction, OrderEvent

from .tasks import start_survey


def survey_after_completion(event: OrderEvent) -> None:
    """R29: once the completion is committed, the automatic survey is sent (a Celery job,
    so it is queued only after commit, through the outbox so a broker outage loses nothing;
    the job is safe to run twice)."""
    if event.action == OrderAction.COMPLETE:
        outbox.send_after_commit(start_survey, event.order.pk)


def register() -> None:
    bus.subscribe(OrderEvent, survey_after_completion)
