"""Every write of a complaint (R51): record, handle, decide, release, close, reopen rework.

Each service checks the caller's role and the input first (a ``RuleViolation`` naming the
field and the rule, nothing written), then changes the complaint under a row lock in one
transaction. A complaint about an order leaves ``record_complaint`` and ``close_complaint``
on the order's event log (R42), without the complainant's words: the technician reads that
log. A decision is published as ``ComplaintDecided`` for the assessment ledger (R53).
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Any

from django.db import transaction
from django.utils.translation import gettext as _

from fieldops import bus, clock
from surveys.services import work_order_start_rework
from workorders.errors import NotPermitted, RuleViolation
from workorders.events import OrderAction
from workorders.lifecycle import lock_order, record_event
from workorders.models import Customer, State, WorkOrder
from workorders.services.rework import ReopenCause, work_order_reopen_rework

from . import deadlines
from .events import ComplaintDecided
from .models import (
    Complaint,
    ComplaintChannel,
    ComplaintContact,
    ComplaintPolicy,
    ComplaintStatus,
    ContactKind,
    DeadlineKind,
    Outcome,
    Tier,
)

RULE = "R51"
PERM_RECORD = "complaints.add_complaint"
PERM_VIEW = "complaints.view_complaint"
PERM_HANDLE = "complaints.handle_complaint"
PERM_DECIDE = "complaints.decide_complaint"
#: The states from which a complaint about the visit sends the order back (R31).
REWORK_STATES = (State.COMPLETED, State.SURVEY_PENDING)


class AlreadyDecided(RuleViolation):
    """A second decision of one complaint: a conflict, nothing written."""

    status = 409


def _require(user: Any, perm: str, message: str) -> None:
    if not (user is not None and (user.is_superuser or user.has_perm(perm))):
        raise NotPermitted(message, rule=RULE)


def can_view(user: Any) -> bool:
    return bool(user is not None and getattr(user, "is_authenticated", False)
                and (user.is_superuser or user.has_perm(PERM_VIEW)))


def tier_choices_text() -> str:
    return ", ".join(f"{value} ({label})" for value, label in Tier.choices)


def check_tier(tier: Any) -> str:
    """R51: the three tiers and nothing else; the message names them."""
    if tier not in Tier.values:
        raise RuleViolation(
            _("“%(tier)s” is not a complaint tier. Use one of: %(allowed)s.")
            % {"tier": tier, "allowed": tier_choices_text()},
            field="tier", rule=RULE, allowed=list(Tier.values))
    return str(tier)


def _locked(complaint: Complaint) -> Complaint:
    return Complaint.objects.select_for_update().get(pk=complaint.pk)


def _log_on_order(complaint: Complaint, by: Any, action: OrderAction, at: Any) -> None:
    """R42 on the order, without the complainant's words (the technician reads this log)."""
    if complaint.order_id is None:
        return
    order = lock_order(WorkOrder.objects.get(pk=complaint.order_id))
    record_event(order=order, by=by, action=action, from_state=order.state,
                 to_state=order.state, at=at,
                 payload={"complaint": complaint.pk, "tier": complaint.tier,
                          "outcome": complaint.outcome})


def complaint_record(*, by: Any, tier: str, channel: str, text: str,
                     order: WorkOrder | None = None,
                     customer: Customer | None = None) -> Complaint:
    """R51: the call-centre records a complaint against an order or a customer, with its
    tier, channel and the customer's words; the tier's deadlines start now."""
    _require(by, PERM_RECORD, _("Only the call-centre records complaints."))
    tier = check_tier(tier)
    if channel not in ComplaintChannel.values:
        raise RuleViolation(
            _("“%(channel)s” is not a channel. Use one of: %(allowed)s.")
            % {"channel": channel, "allowed": ", ".join(ComplaintChannel.values)},
            field="channel", rule=RULE)
    text = (text or "").strip()
    if not text:
        raise RuleViolation(_("Write down what the customer complains about."),
                            field="text", rule=RULE)
    if order is None and customer is None:
        raise RuleViolation(_("Say which order or which customer the complaint is about."),
                            field="order", rule=RULE)
    if order is not None and customer is not None and order.customer_id != customer.pk:
        raise RuleViolation(_("The order belongs to another customer."), field="customer",
                            rule=RULE)
    policy = ComplaintPolicy.objects.select_related("calendar").filter(tier=tier).first()
    if policy is None:
        raise RuleViolation(_("No deadlines are set for the tier “%(tier)s”: add them in the "
                              "admin's complaint deadline policies.")
                            % {"tier": Tier(tier).label}, field="tier", rule=RULE)
    now = clock.now()
    with transaction.atomic():
        complaint = Complaint.objects.create(
            tier=tier, channel=channel, text=text, order=order,
            customer_id=order.customer_id if order is not None else customer.pk,  # type: ignore[union-attr]
            technician_id=order.technician_id if order is not None else None,
            recorded_at=now, recorded_by=by)
        deadlines.arm(complaint, policy, now)
        _log_on_order(complaint, by, OrderAction.RECORD_COMPLAINT, now)
    return complaint


def _money(value: Any) -> Decimal:
    try:
        amount = Decimal(str(value)).quantize(Decimal("0.01"))
    except (InvalidOperation, ValueError):
        raise RuleViolation(_("Give the compensation as an amount in yuan, e.g. 50.00."),
                            field="compensation", rule=RULE) from None
    if amount < 0 or amount >= Decimal("100000000"):
        raise RuleViolation(_("The compensation must be between 0 and 99999999.99 yuan."),
                            field="compensation", rule=RULE)
    return amount


def complaint_handle(*, complaint: Complaint, by: Any, kind: str, note: str,
                     solution: str = "", compensation: Any = None,
                     compensation_note: str = "",
                     customer_confirmed: bool = False) -> Complaint:
    """R51: a contact with the customer (the first meets the response deadline), and the
    solution and compensation when there is one. ``customer_confirmed``: the customer
    agreed to the solution on this contact."""
    _require(by, PERM_HANDLE, _("Only the call-centre handles complaints."))
    if kind not in ContactKind.values:
        raise RuleViolation(_("“%(kind)s” is not a kind of contact. Use one of: %(allowed)s.")
                            % {"kind": kind, "allowed": ", ".join(ContactKind.values)},
                            field="kind", rule=RULE)
    note = (note or "").strip()
    if not note:
        raise RuleViolation(_("Write down what was said with the customer."), field="note",
                            rule=RULE)
    solution = (solution or "").strip()
    amount = _money(compensation) if compensation not in (None, "") else None
    now = clock.now()
    with transaction.atomic():
        locked = _locked(complaint)
        if locked.status == ComplaintStatus.CLOSED:
            raise RuleViolation(_("This complaint is closed."), field="complaint", rule=RULE)
        if customer_confirmed and not (solution or locked.solution):
            raise RuleViolation(_("Record the solution before the customer confirms it."),
                                field="solution", rule=RULE)
        ComplaintContact.objects.create(complaint=locked, kind=kind, at=now, by=by, note=note,
                                        customer_confirmed=customer_confirmed)
        fields = ["status", "version"]
        if solution:
            locked.solution = solution
            fields.append("solution")
        if amount is not None:
            locked.compensation = amount
            locked.compensation_note = (compensation_note or "").strip()[:255]
            fields += ["compensation", "compensation_note"]
        locked.status = ComplaintStatus.IN_HAND
        locked.version += 1
        locked.save(update_fields=fields)
        deadlines.meet(locked, DeadlineKind.RESPONSE, now)
    return locked


def complaint_decide(*, complaint: Complaint, by: Any, upheld: bool, note: str,
                     released_note: str | None = None) -> Complaint:
    """R51: a supervisor decides once whether the complaint is upheld, and may release a
    note for the technician concerned. An upheld complaint against a technician becomes an
    assessment entry (R53) through ``ComplaintDecided``."""
    _require(by, PERM_DECIDE, _("Only a supervisor decides complaints."))
    note = (note or "").strip()
    if not note:
        raise RuleViolation(_("Say why the complaint is or is not upheld."), field="note",
                            rule=RULE)
    now = clock.now()
    with transaction.atomic():
        locked = _locked(complaint)
        if locked.outcome:
            raise AlreadyDecided(_("This complaint was already decided (%(outcome)s).")
                                 % {"outcome": locked.get_outcome_display()},
                                 field="outcome", rule=RULE)
        locked.outcome = Outcome.UPHELD if upheld else Outcome.NOT_UPHELD
        locked.decided_at, locked.decided_by, locked.decision_note = now, by, note
        fields = ["outcome", "decided_at", "decided_by", "decision_note", "version"]
        if released_note is not None:
            locked.released_note = released_note.strip()
            fields.append("released_note")
        locked.version += 1
        locked.save(update_fields=fields)
        bus.publish(ComplaintDecided(complaint_id=locked.pk, upheld=bool(upheld),
                                     technician_id=locked.technician_id,
                                     order_id=locked.order_id, at=now, decided_by=by.pk))
    return locked


def complaint_release(*, complaint: Complaint, by: Any, note: str) -> Complaint:
    """R51: what the technician concerned may read of the complaint; nothing else of the
    complainant's words or identity reaches them (不准打击报复)."""
    _require(by, PERM_DECIDE, _("Only a supervisor releases a note to the technician."))
    with transaction.atomic():
        locked = _locked(complaint)
        locked.released_note = (note or "").strip()
        locked.version += 1
        locked.save(update_fields=["released_note", "version"])
    return locked


def complaint_close(*, complaint: Complaint, by: Any, note: str = "") -> Complaint:
    """R51: closed only with a solution, a decision, and the customer's confirmation or a
    recorded callback; each missing piece is refused with what to do. Meets the
    resolution deadline."""
    _require(by, PERM_HANDLE, _("Only the call-centre closes complaints."))
    now = clock.now()
    with transaction.atomic():
        locked = _locked(complaint)
        if locked.status == ComplaintStatus.CLOSED:
            raise RuleViolation(_("This complaint is already closed."), field="complaint",
                                rule=RULE)
        if not locked.solution:
            raise RuleViolation(_("Record the solution given to the customer before closing."),
                                field="solution", rule=RULE)
        contacts = list(locked.contacts.all())
        if any(c.customer_confirmed for c in contacts):
            closure = "confirmed"
        elif any(c.kind == ContactKind.CALLBACK for c in contacts):
            closure = "callback"
        else:
            raise RuleViolation(
                _("A complaint is closed only when the customer has confirmed the solution or "
                  "a callback is recorded: record the customer's confirmation or the "
                  "callback first."), field="closure", rule=RULE)
        if not locked.outcome:
            raise RuleViolation(_("A supervisor decides whether the complaint is upheld "
                                  "before it is closed."), field="outcome", rule=RULE)
        locked.status = ComplaintStatus.CLOSED
        locked.closed_at, locked.closed_by, locked.closure = now, by, closure
        locked.closure_note = (note or "").strip()
        locked.version += 1
        locked.save(update_fields=["status", "closed_at", "closed_by", "closure",
                                   "closure_note", "version"])
        deadlines.meet(locked, DeadlineKind.RESPONSE, now)
        deadlines.meet(locked, DeadlineKind.RESOLUTION, now)
        _log_on_order(locked, by, OrderAction.CLOSE_COMPLAINT, now)
    return locked


def complaint_reopen_rework(*, complaint: Complaint, by: Any, reason: str) -> WorkOrder:
    """R51, R31: a complaint about the visit sends the order back to rework."""
    _require(by, PERM_HANDLE, _("Only the call-centre reopens rework for a complaint."))
    reason = (reason or "").strip()
    if not reason:
        raise RuleViolation(_("Say what must be reworked."), field="reason", rule=RULE)
    if complaint.order_id is None:
        raise RuleViolation(_("This complaint is about a customer, not an order: there is no "
                              "visit to rework."), field="order", rule=RULE)
    order = WorkOrder.objects.get(pk=complaint.order_id)
    return _reopen_rework(order, by, reason, complaint=complaint)


def _reopen_rework(order: WorkOrder, by: Any, reason: str, *,
                   complaint: Complaint | None = None) -> WorkOrder:
    """The one place a complaint sends an order back to rework (R31). A completed or
    survey-pending order goes through the survey loop's own transition; a closed order is
    reopened (``reopen_rework``, the transition a failed inspection uses too)."""
    if order.state in REWORK_STATES:
        return work_order_start_rework(
            order=order, by=by, comment=reason,
            payload={"complaint": complaint.pk} if complaint is not None else {})
    if order.state == State.CLOSED:
        return work_order_reopen_rework(
            order=order, by=by, reason=reason, cause=ReopenCause.COMPLAINT,
            payload={"complaint": complaint.pk} if complaint is not None else {})
    raise RuleViolation(_("Order %(number)s is %(state)s: rework can be reopened only for a "
                          "completed order or one waiting for its survey.")
                        % {"number": order.number, "state": order.get_state_display()},
                        field="order", rule="R31")
