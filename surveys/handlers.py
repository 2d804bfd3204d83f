"""The callback survey follows the order's lifecycle: a handler of ``OrderEvent`` on the bus."""

from __future__ import annotations

from django.conf import settings
from django.utils import translation
from django.utils.translation import gettext as _

from fieldops import bus, outbox, roles
from notifications.models import Channel
from notifications.services import notify
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


def tell_callback_due(event: OrderEvent) -> None:
    """R30: a survey still unanswered at its callback time became a callback task; the
    call-centre, who makes the call, finds it in the alerts inbox (and on their browsers
    while push is on). One alert per callback (the callback is one-to-one with its
    survey), on the role's desk: each agent acknowledges it for themselves, and the push
    fan-out reaches each agent once. Written in the site's language."""
    if event.action != OrderAction.CALLBACK_OPENED:
        return
    order = event.order
    survey = event.payload.get("survey") if event.payload else None
    with translation.override(settings.LANGUAGE_CODE):
        body = _("Order %(number)s: the customer did not answer the satisfaction survey; "
                 "call them back and record the answer.") % {"number": order.number}
    notify(channel=Channel.IN_APP, kind="callback_due", body=body,
           address=f"role:{roles.CALL_CENTRE}", order=order,
           dedupe_key=f"r30:callback:{survey or event.row.pk}:{roles.CALL_CENTRE}")


def register() -> None:
    bus.subscribe(OrderEvent, survey_after_completion)
    bus.subscribe(OrderEvent, survey_set_aside_on_reopen)
    bus.subscribe(OrderEvent, tell_callback_due)
