"""Outages (群障, R54): declare, attach, ask after the repair, close or release.

Every write is here. ``declare`` records the outage for an area or an access node, attaches
its open repair orders in one transaction (each gets ``attach_outage`` on its event log, so
the SLA rules pause its visit clock, R42 / R6-like) and texts each customer once (the
notification's dedupe key is per outage and order: a retried job texts nobody twice).
``mark_repaired`` asks each attached customer, through a signed link, whether service is
back; ``answer`` closes the order as resolved without a visit (``resolve_remotely`` with
the outage named, counted on the outage) or releases it to dispatch (``release_outage``:
its clocks run again). ``sweep`` is beat's: the outage's own repair promise (warned and
breached once, at their true times) and customers who never answered (released).
Bad input is refused with a ``RuleViolation`` naming the field; nothing is half-written.
"""

from __future__ import annotations

import datetime as dt
import secrets
from collections.abc import Iterable
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django_fsm import can_proceed

from fieldops import clock, roles
from fieldops.text import strip_hidden_characters
from notifications.models import Channel
from notifications.services import notify
from technicians.models import Area
from workorders.errors import NotPermitted, RuleViolation
from workorders.events import OrderAction
from workorders.lifecycle import lock_order, record_event, transition
from workorders.messages import group_users, sms_customer, tell_users
from workorders.models import Kind, State, WorkOrder

from . import links, selectors
from .models import (
    AccessNode,
    Link,
    Outage,
    OutageOrder,
    OutageProposal,
    OutageState,
    ProposalState,
)

RULE = "R54"
PERM = "outages.repair_outage"
#: Repair orders an outage holds: reported, not yet visited (a technician on the way or on
#: site finishes the visit; a finished order is no longer waiting).
ATTACHABLE_STATES = (
    State.ACCEPTED, State.DISPATCHED, State.TAKEN, State.NO_RESOURCES, State.CONTACTED,
    State.SCHEDULED, State.PARKED, State.PREPARED, State.NOBODY_HOME,
    State.AWAITING_REVISIT,
)
EXPLANATION_LIMIT = 200  # it goes into an SMS


def can_manage(user: Any) -> bool:
    """Dispatchers declare outages, mark them repaired and release orders (R54)."""
    return bool(user is not None and (user.is_superuser or user.has_perm(PERM)))


def _require_manager(user: Any) -> None:
    if not can_manage(user):
        raise NotPermitted(_("Only a dispatcher can declare outages and release their "
                             "orders."))


def check(*, by: Any, explanation: str, eta: dt.datetime | None, area: Area | None = None,
          node: AccessNode | None = None, now: dt.datetime | None = None) -> str:
    """Refuse a bad declaration with the field at fault; the explanation, stripped."""
    _require_manager(by)
    now = now or clock.now()
    if area is None and node is None:
        raise RuleViolation(_("Say where the outage is: choose an area or an access node."),
                            field="area", rule=RULE)
    if area is not None and node is not None and node.area_id != area.pk:
        raise RuleViolation(_("Access node %(node)s is not in area %(area)s; choose the "
                              "node alone, or a node of that area.")
                            % {"node": node, "area": area}, field="node", rule=RULE)
    # Texted to customers as written: no bidi override, zero-width space or NUL in it
    # (issue 18 item 4; every face strips them too).
    explanation = strip_hidden_characters(explanation or "").strip()
    if not explanation:
        raise RuleViolation(_("Explain the outage in a sentence the customers will read."),
                            field="explanation", rule=RULE)
    if len(explanation) > EXPLANATION_LIMIT:
        raise RuleViolation(_("Shorten the explanation to %(limit)d characters (it goes "
                              "into an SMS); it has %(length)d.")
                            % {"limit": EXPLANATION_LIMIT, "length": len(explanation)},
                            field="explanation", rule=RULE)
    if eta is None:
        raise RuleViolation(_("Give the estimated repair time."), field="eta", rule=RULE)
    if eta <= now:
        raise RuleViolation(_("The estimated repair time %(eta)s has already passed; give "
                              "a time still to come.")
                            % {"eta": timezone.localtime(eta).strftime("%Y-%m-%d %H:%M")},
                            field="eta", rule=RULE)
    return explanation


def matching_orders(outage: Outage) -> list[int]:
    """The open repair orders of the outage's node (their account's line) or, for an area
    outage, of its area; not those another open outage already holds."""
    orders = WorkOrder.objects.filter(kind=Kind.REPAIR, state__in=ATTACHABLE_STATES)
    if outage.node_id:
        orders = orders.filter(account__access_node__node_id=outage.node_id)
    else:
        orders = orders.filter(area_id=outage.area_id)
    held = OutageOrder.objects.filter(state__in=selectors.HOLDING).values("order_id")
    return list(orders.exclude(pk__in=held).order_by("pk").values_list("pk", flat=True))


def declare(*, by: Any, explanation: str, eta: dt.datetime | None, area: Area | None = None,
            node: AccessNode | None = None,
            proposal: OutageProposal | None = None) -> Outage:
    """R54: record the outage, attach its open repair orders (their visit clocks pause) and
    text each customer the explanation and the ETA, once."""
    now = clock.now()
    explanation = check(by=by, explanation=explanation, eta=eta, area=area, node=node,
                        now=now)
    assert eta is not None
    policy = selectors.policy()
    target = dt.timedelta(minutes=policy.repair_target_minutes)
    warn_at = now + target * policy.warn_percent / 100
    with transaction.atomic():
        if proposal is not None:
            proposal = OutageProposal.objects.select_for_update().get(pk=proposal.pk)
            if proposal.state != ProposalState.OPEN:
                raise RuleViolation(_("This proposal was already %(state)s.")
                                    % {"state": proposal.get_state_display().lower()},
                                    field="proposal", rule=RULE)
        outage = Outage.objects.create(
            area=area if node is None else (area or node.area), node=node,
            explanation=explanation, eta=eta, declared_by=by, declared_at=now,
            due_at=now + target, warn_at=warn_at, next_check_at=warn_at)
        if proposal is not None:
            proposal.state, proposal.outage = ProposalState.DECLARED, outage
            proposal.decided_by, proposal.decided_at = by, now
            proposal.save(update_fields=["state", "outage", "decided_by", "decided_at"])
        attach(outage, matching_orders(outage), by=by, now=now)
    return outage


def attach(outage: Outage, order_ids: Iterable[int], *, by: Any,
           now: dt.datetime | None = None) -> int:
    """Attach these orders (those still open and held by no other outage): one
    ``attach_outage`` event each (the SLA rules pause the visit clock) and one SMS each.
    Call inside a transaction; orders are locked in id order. Returns how many."""
    now = now or clock.now()
    held = OutageOrder.objects.filter(state__in=selectors.HOLDING).values("order_id")
    orders = list(WorkOrder.objects.select_for_update(no_key=True, of=("self",))
                  .filter(pk__in=list(order_ids), kind=Kind.REPAIR,
                          state__in=ATTACHABLE_STATES)
                  .exclude(pk__in=held).order_by("pk"))
    if not orders:
        return 0
    OutageOrder.objects.bulk_create([
        OutageOrder(outage=outage, order=order, attached_at=now, nonce=secrets.token_hex(8))
        for order in orders])
    eta = selectors.eta_text(outage)
    for order in orders:
        record_event(order=order, by=by, action=OrderAction.ATTACH_OUTAGE,
                     from_state=order.state, to_state=order.state,
                     reason=outage.explanation,
                     payload={"outage": outage.pk, "eta": outage.eta.isoformat()}, at=now)
        tell_declared(order, outage, eta=eta)
    return len(orders)


def tell_declared(order: WorkOrder, outage: Outage, *, eta: str | None = None) -> bool:
    """R54: one SMS per order and outage with the explanation and the ETA (the dedupe key
    makes a second call, a retried job, write nothing)."""
    values = {"number": order.number, "explanation": outage.explanation,
              "eta": eta or selectors.eta_text(outage)}
    return sms_customer(
        order, kind="outage", params=values, dedupe_key=f"r54:{outage.pk}:{order.pk}:declared",
        body=lambda: _("Order %(number)s: we know of a fault on your line's network: "
                       "%(explanation)s We expect it repaired by %(eta)s; no visit is needed "
                       "until then. We will text you when it is fixed.") % values)


def attach_new_order(order_id: int) -> bool:
    """A repair taken while an outage covers it is attached (R54); run after the intake
    commits (``handlers``). Safe to run twice."""
    with transaction.atomic():
        order = WorkOrder.objects.filter(pk=order_id, kind=Kind.REPAIR).first()
        if order is None:
            return False
        outage = selectors.covering(order)
        if outage is None:
            return False
        return attach(outage, [order.pk], by=None) == 1


def mark_repaired(outage: Outage, *, by: Any, note: str = "") -> Outage:
    """R54: the fault is repaired. Each customer still held is asked, by SMS with a signed
    link, whether service is back; an order closed meanwhile is released. Once only."""
    _require_manager(by)
    note = (note or "").strip()
    now = clock.now()
    with transaction.atomic():
        outage = Outage.objects.select_for_update().get(pk=outage.pk)
        if outage.state != OutageState.OPEN:
            raise RuleViolation(
                _("Outage %(number)s was already marked repaired at %(at)s.")
                % {"number": outage.number,
                   "at": timezone.localtime(outage.repaired_at).strftime("%Y-%m-%d %H:%M")
                   if outage.repaired_at else "-"},
                field="state", rule=RULE)
        outage.state, outage.repaired_at, outage.repaired_by = OutageState.REPAIRED, now, by
        outage.repair_note, outage.next_check_at = note, None
        outage.save(update_fields=["state", "repaired_at", "repaired_by", "repair_note",
                                   "next_check_at"])
        held = list(OutageOrder.objects.select_for_update().filter(
            outage=outage, state=Link.ATTACHED).select_related("order").order_by("order_id"))
        for link in held:
            if link.order.is_terminal:
                link.state, link.released_at = Link.RELEASED, now
                link.release_reason = _("The order was closed while the outage was open.")
                link.save(update_fields=["state", "released_at", "release_reason"])
                continue
            link.state, link.asked_at = Link.ASKED, now
            link.save(update_fields=["state", "asked_at"])
            ask_customer(link)
    return outage


def ask_customer(link: OutageOrder) -> bool:
    """R54: after the repair, one SMS asking whether service is back (signed link)."""
    order = link.order
    values = {"number": order.number, "url": links.absolute_url(link)}
    return sms_customer(
        order, kind="outage_repaired", params=values,
        dedupe_key=f"r54:{link.outage_id}:{order.pk}:repaired",
        body=lambda: _("Order %(number)s: the network fault is repaired. Is your service "
                       "back? Tell us here: %(url)s") % values)


class AlreadyAnswered(RuleViolation):
    pass


def answer(link: OutageOrder, *, service_back: bool) -> OutageOrder:
    """R54: the customer's answer through the signed link. Yes: the order closes as
    resolved without a visit (``resolve_remotely``, the outage named in the event); no: it
    goes back to dispatch with its clocks running (``release_outage``)."""
    now = clock.now()
    with transaction.atomic():
        link = OutageOrder.objects.select_for_update().select_related("outage").get(
            pk=link.pk)
        if link.state != Link.ASKED:
            raise AlreadyAnswered(_("We already have your answer. Thank you."),
                                  field="service_back", rule=RULE)
        order = lock_order(WorkOrder.objects.get(pk=link.order_id))
        link.service_back, link.answered_at = service_back, now
        if service_back and can_proceed(order.resolve_remotely):
            transition(order, OrderAction.RESOLVE_REMOTELY, by=None,
                       reason=_("Service back after outage %(number)s (the customer "
                                "confirmed).") % {"number": link.outage.number},
                       payload={"outage": link.outage_id, "outcome": "service_back"},
                       at=None)
            link.state = Link.RESOLVED
            link.save(update_fields=["state", "service_back", "answered_at"])
            return link
        if service_back:
            why = _("The customer says service is back, but the visit is already booked: "
                    "call to confirm and cancel it.")
        else:
            why = _("The customer says service is still down after the repair.")
        _release(link, order, by=None, reason=why, now=now)
        if service_back:
            users = group_users(roles.DISPATCHER)
            if order.technician is not None:
                users.append(order.technician.user)
            tell_users(users, order, kind="outage_service_back", body=f"{order.number}: {why}",
                       dedupe=f"r54:{link.outage_id}:{order.pk}:back")
    return link


def _release(link: OutageOrder, order: WorkOrder, *, by: Any, reason: str,
             now: dt.datetime) -> None:
    link.state, link.released_at, link.release_reason = Link.RELEASED, now, reason[:255]
    link.save(update_fields=["state", "released_at", "release_reason", "service_back",
                             "answered_at"])
    record_event(order=order, by=by, action=OrderAction.RELEASE_OUTAGE,
                 from_state=order.state, to_state=order.state, reason=reason,
                 payload={"outage": link.outage_id}, at=now)


def release(link: OutageOrder, *, by: Any, reason: str) -> OutageOrder:
    """A dispatcher releases one order from its outage (not the same fault after all):
    it goes back to dispatch with its clocks running. Once only."""
    _require_manager(by)
    reason = (reason or "").strip()
    if not reason:
        raise RuleViolation(_("Say why the order leaves the outage."), field="reason",
                            rule=RULE)
    now = clock.now()
    with transaction.atomic():
        link = OutageOrder.objects.select_for_update().select_related("outage").get(
            pk=link.pk)
        order = lock_order(WorkOrder.objects.get(pk=link.order_id))
        if link.state not in selectors.HOLDING:
            raise RuleViolation(
                _("Order %(number)s already left outage %(outage)s (%(state)s).")
                % {"number": order.number, "outage": link.outage.number,
                   "state": link.get_state_display()}, field="order", rule=RULE)
        _release(link, order, by=by, reason=reason, now=now)
    return link


# --- Proposals (R54: many reports from one node) -----------------------------------------

def propose_for(order: WorkOrder, node_id: int, *, now: dt.datetime) -> OutageProposal | None:
    """Repair reports from ``node_id`` within the policy's window reached its count: an
    open proposal (one per node) and an alert to the dispatchers. Not declared: a person
    decides."""
    policy = selectors.policy()
    since = now - dt.timedelta(minutes=policy.proposal_window_minutes)
    reports = (WorkOrder.objects.filter(kind=Kind.REPAIR, created_at__gte=since,
                                        account__access_node__node_id=node_id).count())
    if reports < policy.proposal_count:
        return None
    if OutageProposal.objects.filter(node_id=node_id, state=ProposalState.OPEN).exists():
        return None
    try:
        with transaction.atomic():  # a savepoint: a racing intake may have proposed it
            proposal = OutageProposal.objects.create(
                node_id=node_id, reports=reports, window_minutes=policy.proposal_window_minutes,
                proposed_at=now)
    except IntegrityError:
        return None
    node = proposal.node
    tell_users(group_users(roles.DISPATCHER), order, kind="outage_proposed",
               body=_("Possible outage: %(reports)d repair reports from access node %(node)s "
                      "within %(minutes)d minutes. Declare an outage or dismiss the "
                      "proposal.") % {"reports": reports, "node": node,
                                      "minutes": policy.proposal_window_minutes},
               dedupe=f"r54:proposal:{proposal.pk}")
    return proposal


def dismiss(proposal: OutageProposal, *, by: Any) -> OutageProposal:
    _require_manager(by)
    with transaction.atomic():
        proposal = OutageProposal.objects.select_for_update().get(pk=proposal.pk)
        if proposal.state != ProposalState.OPEN:
            raise RuleViolation(_("This proposal was already %(state)s.")
                                % {"state": proposal.get_state_display().lower()},
                                field="proposal", rule=RULE)
        proposal.state, proposal.decided_by, proposal.decided_at = (
            ProposalState.DISMISSED, by, clock.now())
        proposal.save(update_fields=["state", "decided_by", "decided_at"])
    return proposal


# --- Beat: the repair promise and unanswered customers ----------------------------------

def _tell_staff(outage: Outage, *, kind: str, body: str, groups: Iterable[str]) -> None:
    for group in groups:
        for user in group_users(group):
            notify(channel=Channel.IN_APP, kind=kind, body=body, recipient=user,
                   dedupe_key=f"r54:{outage.pk}:{kind}:{user.pk}")


def sweep(*, limit: int = 100) -> int:
    """Warn and breach the outages' repair promise once each, at its true time (like the
    SLA sweep: claimed with SKIP LOCKED, the due time in the row); release customers who
    did not answer within the policy's hours. Safe to run twice. Returns the steps taken."""
    now = clock.now()
    steps = 0
    with transaction.atomic():
        due = list(Outage.objects.select_for_update(skip_locked=True)
                   .filter(state=OutageState.OPEN, next_check_at__lte=now)
                   .order_by("next_check_at")[:limit])
        for outage in due:
            if outage.warned_at is None:
                outage.warned_at = outage.warn_at
                _tell_staff(outage, kind="outage_warned", groups=(roles.DISPATCHER,),
                            body=_("Outage %(number)s at %(place)s is not repaired yet; it "
                                   "is due at %(due)s.")
                            % {"number": outage.number, "place": outage.place,
                               "due": timezone.localtime(outage.due_at).strftime("%H:%M")})
                steps += 1
            if outage.breached_at is None and now >= outage.due_at:
                outage.breached_at = outage.due_at
                _tell_staff(outage, kind="outage_breached",
                            groups=(roles.DISPATCHER, roles.SUPERVISOR),
                            body=_("Outage %(number)s at %(place)s was not repaired in time "
                                   "(due %(due)s).")
                            % {"number": outage.number, "place": outage.place,
                               "due": timezone.localtime(outage.due_at).strftime(
                                   "%Y-%m-%d %H:%M")})
                steps += 1
            outage.next_check_at = None if outage.breached_at else outage.due_at
            outage.save(update_fields=["warned_at", "breached_at", "next_check_at"])
    since = now - dt.timedelta(hours=selectors.policy().answer_hours)
    for pk in (OutageOrder.objects.filter(state=Link.ASKED, asked_at__lte=since)
               .order_by("pk").values_list("pk", flat=True)[:limit]):
        with transaction.atomic():
            link = (OutageOrder.objects.select_for_update(skip_locked=True)
                    .filter(pk=pk, state=Link.ASKED).first())
            if link is None:
                continue
            order = lock_order(WorkOrder.objects.get(pk=link.order_id))
            _release(link, order, by=None, now=now,
                     reason=_("No answer from the customer after the repair: dispatched as "
                              "usual."))
            steps += 1
    return steps
