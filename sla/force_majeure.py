"""Force majeure (R50): declare an event, tell the customers, let a supervisor decide.

``declare`` records the event for one order (its technician, R41, or a dispatcher) or for
an area and a time range (a dispatcher), writes ``declare_force_majeure`` on each affected
order's event log (R42) and texts each affected customer once (R50: told at once, why, and
a new time offered through the booking's signed link, R15). ``decide`` approves or rejects
it (a supervisor): approval marks every breach of the affected orders' timers inside the
range exempt (``ExemptBreach``; the breach stays recorded, R38), writes
``decide_force_majeure`` on each order's log (so the dashboards recompute its facts, R39)
and publishes ``BreachesExempted`` for the assessment ledger (R53). A timer that breaches
later inside an approved range is marked by the beat task (``exempt_late_breaches``).
Bad input is refused with a ``RuleViolation`` naming the field, and nothing is written.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.conf import settings
from django.core.files.base import ContentFile
from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from appointments import links as customer_links
from appointments.messages import window_text
from appointments.models import Appointment, AppointmentStatus
from fieldops import bus, clock
from notifications.models import Notification
from technicians.models import Area
from workorders.access import is_order_technician
from workorders.errors import NotPermitted, RuleViolation
from workorders.events import OrderAction
from workorders.images import (
    PreparedImage,
    files_discarded_on_error,
    prepare_image,
    remember_stored,
)
from workorders.lifecycle import record_event
from workorders.messages import sms_customer, technician_text
from workorders.models import TERMINAL_STATES, WorkOrder

from .events import BreachesExempted
from .exemptions import (
    ExemptBreach,
    Exemption,
    ExemptionKind,
    ExemptionOrder,
    ExemptionState,
)
from .timers import Timer

PERM_DECLARE = "sla.declare_exemption"
PERM_DECIDE = "sla.decide_exemption"
RULE = "R50"


def max_range() -> dt.timedelta:
    return dt.timedelta(hours=settings.SLA_EXEMPTION_MAX_HOURS)


def can_declare_for_area(user: Any) -> bool:
    return bool(user is not None and (user.is_superuser or user.has_perm(PERM_DECLARE)))


def can_declare_for(order: WorkOrder, user: Any) -> bool:
    """R41: a technician for their own orders; a dispatcher for any order."""
    return can_declare_for_area(user) or is_order_technician(order, user)


def can_decide(user: Any) -> bool:
    return bool(user is not None and (user.is_superuser or user.has_perm(PERM_DECIDE)))


def _check_range(starts_at: dt.datetime | None, ends_at: dt.datetime | None,
                 now: dt.datetime) -> tuple[dt.datetime, dt.datetime]:
    if starts_at is None:
        raise RuleViolation(_("Say when the event began."), field="starts_at", rule=RULE)
    if ends_at is None:
        raise RuleViolation(_("Say until when the event lasts."), field="ends_at", rule=RULE)
    if starts_at > now:
        raise RuleViolation(_("The event has not begun yet: force majeure is declared "
                              "when it happens, not in advance."), field="starts_at",
                            rule=RULE)
    if ends_at <= starts_at:
        raise RuleViolation(_("The range must end after it starts."), field="ends_at",
                            rule=RULE)
    if ends_at - starts_at > max_range():
        raise RuleViolation(_("A declaration covers at most %(hours)s hours; declare a "
                              "longer event in several parts.")
                            % {"hours": settings.SLA_EXEMPTION_MAX_HOURS},
                            field="ends_at", rule=RULE)
    return starts_at, ends_at


def _affected_orders(area: Area, starts_at: dt.datetime, ends_at: dt.datetime) -> list[int]:
    """The area's orders the event can have touched: received before the range ends and
    still open at its start (not closed before it)."""
    return list(WorkOrder.objects.filter(area=area, created_at__lte=ends_at)
                .filter(Q(closed_at__isnull=True) | Q(closed_at__gte=starts_at))
                .order_by("pk").values_list("pk", flat=True))


def check(*, by: Any, kind: str, reason: str, starts_at: dt.datetime | None,
          ends_at: dt.datetime | None, order: WorkOrder | None = None,
          area: Area | None = None, now: dt.datetime | None = None) -> str:
    """Refuse a bad declaration (R50, R41) with the field at fault; the reason, stripped."""
    now = now or clock.now()
    if kind not in ExemptionKind.values:
        raise RuleViolation(_("Choose what kind of event it is."), field="kind", rule=RULE)
    reason = (reason or "").strip()
    if not reason:
        raise RuleViolation(_("Say what happened."), field="reason", rule=RULE)
    if (order is None) == (area is None):
        raise RuleViolation(_("Declare it for one order or for one area."), field="area",
                            rule=RULE)
    if order is not None and not can_declare_for(order, by):
        # R41: a technician only for their own orders.
        raise NotPermitted(_("You can declare force majeure only for your own orders."))
    if area is not None and not can_declare_for_area(by):
        raise NotPermitted(_("Only a dispatcher can declare force majeure for an area."))
    _check_range(starts_at, ends_at, now)
    return reason


def prepare_evidence(evidence: Any) -> PreparedImage | None:
    """The evidence photo checked and re-encoded like the visit's photos
    (``workorders.images``: decoded pixels capped, turned upright, its metadata (GPS) and
    any bytes after the image dropped, stored as JPEG); refused with a ``RuleViolation`` on
    ``evidence`` when too large or not a photo. An image already prepared (the admin's form
    checks it while validating) is passed through."""
    if not evidence:
        return None
    if isinstance(evidence, PreparedImage):
        return evidence
    return prepare_image(evidence, field="evidence", rule=RULE)


def declare(*, by: Any, kind: str, reason: str, starts_at: dt.datetime | None,
            ends_at: dt.datetime | None, order: WorkOrder | None = None,
            area: Area | None = None, evidence: Any = None) -> Exemption:
    """Record a force-majeure event (R50) for ``order`` or for ``area`` over the range, tell
    each affected customer once, and log it on each affected order (R42). The evidence
    photo is never stored as uploaded (``prepare_evidence``); a refused declaration leaves
    no file."""
    now = clock.now()
    reason = check(by=by, kind=kind, reason=reason, starts_at=starts_at, ends_at=ends_at,
                   order=order, area=area, now=now)
    assert starts_at is not None and ends_at is not None
    image = prepare_evidence(evidence)
    with files_discarded_on_error(), transaction.atomic():
        exemption = Exemption.objects.create(
            kind=kind, reason=reason, order=order, area=area, starts_at=starts_at,
            ends_at=ends_at, declared_by=by, declared_at=now)
        if image is not None:
            exemption.evidence.save(f"exemption-{exemption.pk}-{image.sha256[:12]}.jpg",
                                    ContentFile(image.content), save=False)
            remember_stored(exemption.evidence)
            exemption.save(update_fields=["evidence"])
        order_ids = [order.pk] if order is not None else _affected_orders(
            area, starts_at, ends_at)  # type: ignore[arg-type]
        ExemptionOrder.objects.bulk_create(
            [ExemptionOrder(exemption=exemption, order_id=pk) for pk in order_ids])
        for affected in (WorkOrder.objects.filter(pk__in=order_ids)
                         .select_related("technician__user").order_by("pk")):
            record_event(order=affected, by=by, action=OrderAction.DECLARE_FORCE_MAJEURE,
                         from_state=affected.state, to_state=affected.state, reason=reason,
                         payload={"exemption": exemption.pk, "kind": kind}, at=now)
            if affected.state not in TERMINAL_STATES:
                tell_customer(affected, exemption)
    return exemption


def sms_key(order: WorkOrder, exemption: Exemption) -> str:
    """One SMS per order per kind of event and local day: a declaration sent twice (a
    retry, a second dispatcher) texts nobody twice."""
    day = timezone.localdate(exemption.starts_at).isoformat()
    return f"r50:{order.pk}:{exemption.kind}:{day}"


def tell_customer(order: WorkOrder, exemption: Exemption) -> bool:
    """R50, R15: the customer is told at once why the visit cannot be kept; with a booked
    visit, the SMS carries a new signed link to confirm or ask for another time (the
    reschedule path of R10/R15); without one, the technician's name and number."""
    key = sms_key(order, exemption)
    if Notification.objects.filter(dedupe_key=key).exists():
        return False
    event = str(exemption.get_kind_display())
    booked = (Appointment.objects.filter(order=order, status=AppointmentStatus.BOOKED)
              .order_by("-start").first())
    if booked is not None:
        _link, url = customer_links.issue(booked)
        values = {"number": order.number, "event": event, "window": window_text(booked),
                  "url": url}
        return sms_customer(
            order, kind="force_majeure_rebook", params=values, dedupe_key=key,
            body=lambda: _("Order %(number)s: because of %(event)s we may not keep your "
                           "visit at %(window)s. We are sorry. Keep it or choose another "
                           "time: %(url)s") % values)
    values = {**technician_text(order), "event": event}
    return sms_customer(
        order, kind="force_majeure", params=values, dedupe_key=key,
        body=lambda: _("Order %(number)s: because of %(event)s your visit is delayed. We are "
                       "sorry. Your technician %(name)s (%(phone)s) will call you to agree a "
                       "new time.") % values)


def _breached_in_range(exemption: Exemption, order_ids: list[int]) -> list[Timer]:
    return list(Timer.objects.filter(order_id__in=order_ids, breached_at__isnull=False,
                                     breached_at__gte=exemption.starts_at,
                                     breached_at__lte=exemption.ends_at,
                                     exempt_mark__isnull=True).order_by("pk"))


def _mark(exemption: Exemption, timers: list[Timer], by_id: int,
          at: dt.datetime) -> list[int]:
    why = exemption.decision_reason or exemption.reason
    # A timer already marked (by another exemption) keeps its first mark.
    ExemptBreach.objects.bulk_create(
        [ExemptBreach(timer=t, exemption=exemption, exempted_by_id=by_id, exempted_at=at,
                      reason=why) for t in timers], ignore_conflicts=True)
    return list(ExemptBreach.objects.filter(exemption=exemption,
                                            timer_id__in=[t.pk for t in timers])
                .order_by("timer_id").values_list("timer_id", flat=True))


def decide(exemption: Exemption, *, by: Any, approve: bool, reason: str) -> Exemption:
    """R50: a supervisor approves (the breaches in the range become exempt) or rejects
    (nothing changes but the record). Once only."""
    if not can_decide(by):
        raise NotPermitted(_("Only a supervisor can approve or reject force majeure."))
    reason = (reason or "").strip()
    if not reason:
        raise RuleViolation(_("Say why you approve or reject it."), field="decision_reason",
                            rule=RULE)
    now = clock.now()
    with transaction.atomic():
        exemption = Exemption.objects.select_for_update().get(pk=exemption.pk)
        if exemption.state != ExemptionState.DECLARED:
            raise RuleViolation(_("This declaration was already decided (%(state)s).")
                                % {"state": exemption.get_state_display()},
                                field="state", rule=RULE)
        exemption.state = ExemptionState.APPROVED if approve else ExemptionState.REJECTED
        exemption.decided_by, exemption.decided_at = by, now
        exemption.decision_reason = reason
        exemption.save(update_fields=["state", "decided_by", "decided_at",
                                      "decision_reason"])
        order_ids = list(exemption.affected.order_by("order_id")
                         .values_list("order_id", flat=True))
        timers = _breached_in_range(exemption, order_ids) if approve else []
        timer_ids = _mark(exemption, timers, by.pk, now) if timers else []
        per_order: dict[int, list[int]] = {}
        for timer in timers:
            if timer.pk in timer_ids:
                per_order.setdefault(timer.order_id, []).append(timer.pk)
        for order in WorkOrder.objects.filter(pk__in=order_ids).order_by("pk"):
            record_event(order=order, by=by, action=OrderAction.DECIDE_FORCE_MAJEURE,
                         from_state=order.state, to_state=order.state, reason=reason,
                         payload={"exemption": exemption.pk, "decision": exemption.state,
                                  "exempt_timers": per_order.get(order.pk, [])},
                         at=now)
        if timer_ids:
            bus.publish(BreachesExempted(exemption_id=exemption.pk,
                                         timer_ids=tuple(timer_ids), approved_by=by.pk,
                                         at=now))
    return exemption


def exempt_late_breaches(*, within: dt.timedelta = dt.timedelta(days=1)) -> int:
    """A breach recorded after the approval inside an approved range (the event was still
    going on, or the sweep recorded it late at its true time) is exempt too. Beat runs this
    every ``SLA_EXEMPTION_SECONDS`` (60): one indexed read when no approved range ended
    within ``within``; the sweep itself pays nothing. Each order whose breaches are marked
    gets ``decide_force_majeure`` on its log (so its dashboard facts are refreshed) and
    ``BreachesExempted`` is published, in one transaction per exemption. Returns how many
    breaches were marked; safe to run twice (one mark per timer)."""
    now = clock.now()
    marked = 0
    for pk in (Exemption.objects.filter(state=ExemptionState.APPROVED,
                                        ends_at__gte=now - within)
               .order_by("pk").values_list("pk", flat=True)):
        with transaction.atomic():
            exemption = Exemption.objects.select_for_update().get(pk=pk)
            order_ids = list(exemption.affected.values_list("order_id", flat=True))
            timers = _breached_in_range(exemption, order_ids)
            if not timers:
                continue
            assert exemption.decided_by_id is not None and exemption.decided_at is not None
            ids = _mark(exemption, timers, exemption.decided_by_id, now)
            per_order: dict[int, list[int]] = {}
            for timer in timers:
                if timer.pk in ids:
                    per_order.setdefault(timer.order_id, []).append(timer.pk)
            for order in WorkOrder.objects.filter(pk__in=per_order).order_by("pk"):
                record_event(order=order, by=exemption.decided_by,
                             action=OrderAction.DECIDE_FORCE_MAJEURE, from_state=order.state,
                             to_state=order.state, reason=exemption.decision_reason,
                             payload={"exemption": exemption.pk,
                                      "decision": exemption.state,
                                      "exempt_timers": per_order[order.pk]}, at=now)
            if ids:
                bus.publish(BreachesExempted(exemption_id=exemption.pk, timer_ids=tuple(ids),
                                             approved_by=exemption.decided_by_id, at=now))
            marked += len(ids)
    return marked
