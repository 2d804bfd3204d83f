"""Writes for follow-ups (R28). Each one also appends to the order's event log (R42)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils.translation import gettext as _

from fieldops import clock
from workorders.errors import DomainError, NotPermitted, RuleViolation
from workorders.models import WorkOrder
from workorders.services import record_event

from .models import FollowUp, FollowUpKind, FollowUpStatus

PERM_LOG = "surveys.add_followup"
PERM_ANSWER = "surveys.change_followup"


def default_answer_window() -> dt.timedelta:
    """How long the owner has to answer (R28); a policy setting, 24 h unless configured."""
    return dt.timedelta(hours=getattr(settings, "FOLLOW_UP_ANSWER_HOURS", 24))


class AlreadyAnswered(DomainError):
    status = 409
    code = "already_answered"


def _is_orders_technician(order: WorkOrder, user: Any) -> bool:
    technician = order.technician
    return technician is not None and technician.user_id == user.pk


def follow_up_log(*, order: WorkOrder, by: Any, kind: str, text: str, owner: Any = None,
                  due_at: dt.datetime | None = None) -> FollowUp:
    """R28 (首问负责制): log a question the technician could not answer on site, or a
    complaint; it is owned by whoever was first asked (``by`` unless ``owner`` is named)
    and tracked until answered."""
    if by is not None and not (by.has_perm(PERM_LOG) or _is_orders_technician(order, by)):
        raise NotPermitted(_("You may not log follow-ups on order %(number)s.")
                           % {"number": order.number})
    if kind not in FollowUpKind.values:
        raise RuleViolation(_("A follow-up is a question or a complaint."), field="kind",
                            rule="R28")
    if not text or not text.strip():
        raise RuleViolation(_("Write down the customer's question or complaint (R28)."),
                            field="text", rule="R28")
    owner = owner or by
    if owner is None:
        raise RuleViolation(_("Name who owns the follow-up until it is answered (R28)."),
                            field="owner", rule="R28")
    now = clock.now()
    due_at = due_at or now + default_answer_window()
    if due_at <= now:
        raise RuleViolation(_("The answer must be due in the future (R28)."),
                            field="due_at", rule="R28")
    with transaction.atomic():
        locked = WorkOrder.objects.select_for_update(of=("self",)).get(pk=order.pk)
        follow_up = FollowUp.objects.create(order=locked, kind=kind, text=text.strip(),
                                            owner=owner, due_at=due_at, created_by=by,
                                            created_at=now)
        record_event(order=locked, by=by, action="follow_up_logged", from_state=locked.state,
                     to_state=locked.state, reason=follow_up.text, at=now,
                     payload={"follow_up": follow_up.pk, "kind": kind, "owner": owner.pk,
                              "due_at": due_at.isoformat()})
    return follow_up


def follow_up_answer(*, follow_up: FollowUp, by: Any, answer: str) -> FollowUp:
    """R28: the owner (or anyone holding the permission) records the answer given to the
    customer; the follow-up is then closed. Answering twice is refused."""
    if by is not None and not (by.pk == follow_up.owner_id or by.has_perm(PERM_ANSWER)):
        raise NotPermitted(_("Only the owner or the call-centre answers this follow-up."))
    if not answer or not answer.strip():
        raise RuleViolation(_("Write down the answer given to the customer (R28)."),
                            field="answer", rule="R28")
    now = clock.now()
    with transaction.atomic():
        # Compare-and-swap: of two people answering at once, one wins.
        changed = FollowUp.objects.filter(pk=follow_up.pk, status=FollowUpStatus.OPEN).update(
            status=FollowUpStatus.ANSWERED, answer=answer.strip(), answered_by=by,
            answered_at=now)
        if not changed:
            raise AlreadyAnswered(_("This follow-up was answered already; reload it."),
                                  follow_up=follow_up.pk)
        answered = FollowUp.objects.select_related("order").get(pk=follow_up.pk)
        order = answered.order
        record_event(order=order, by=by, action="follow_up_answered", from_state=order.state,
                     to_state=order.state, reason=answered.answer, at=now,
                     payload={"follow_up": answered.pk})
    return answered
