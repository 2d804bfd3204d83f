"""Inspectors' writes (R52): open an inspection of a completed order by hand, and pass or
fail one after a review of the evidence or a revisit, against the policy's checklist.

A fail sends the order back for rework (R31) through the lifecycle's service
(``work_order_reopen_rework``), writes the quality record and publishes
``events.InspectionFailed`` (the assessment ledger's entry, R53), all in one transaction.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from fieldops import bus, clock
from workorders.errors import DomainError, NotPermitted, RuleViolation
from workorders.events import OrderAction
from workorders.lifecycle import lock_order, record_event
from workorders.models import State, WorkOrder
from workorders.services import ReopenCause, work_order_reopen_rework

from .events import InspectionFailed
from .models import (
    Inspection,
    InspectionMethod,
    InspectionReason,
    InspectionStatus,
    QualityRecord,
)
from .suspicion import Policies

PERM_DECIDE = "quality.decide_inspection"
#: An order has been completed and its work stands (R52 inspects these, and only these).
INSPECTABLE_STATES = frozenset({State.COMPLETED, State.SURVEY_PENDING, State.CLOSED})


class AlreadyDecided(DomainError):
    status = 409
    code = "inspection_decided"


def can_inspect(user: Any) -> bool:
    return bool(user is not None and getattr(user, "is_authenticated", False)
                and user.has_perm(PERM_DECIDE))


def _require_inspector(by: Any) -> None:
    if not can_inspect(by):
        raise NotPermitted(_("Only inspectors and supervisors inspect orders (R52)."))


def _require_completed(order: WorkOrder) -> None:
    if order.state not in INSPECTABLE_STATES:
        raise RuleViolation(
            _("Order %(number)s is not completed (it is %(state)s): only completed orders "
              "are inspected (R52).") % {"number": order.number,
                                         "state": order.state_label},
            field="order", rule="R52")


def checklist_for(inspection: Inspection) -> list[str]:
    return [str(point) for point in Policies()(inspection.area_id).checklist]


def inspection_open(*, order: WorkOrder, by: Any) -> Inspection:
    """R52: an inspector picks a completed order outside the sample (a tip-off, a spot
    check). An order already drawn for this completion is not drawn twice."""
    _require_inspector(by)
    order = WorkOrder.objects.get(pk=order.pk)
    _require_completed(order)
    assert order.completed_at is not None
    existing = Inspection.objects.filter(order=order, round=order.rework_round).first()
    if existing is not None:
        return existing
    try:
        with transaction.atomic():
            return Inspection.objects.create(
                order=order, round=order.rework_round, area_id=order.area_id,
                technician_id=order.technician_id,
                day=timezone.localdate(order.completed_at),
                completed_at=order.completed_at, reason=InspectionReason.SAMPLE)
    except IntegrityError:
        return Inspection.objects.get(order=order, round=order.rework_round)


def inspection_decide(*, inspection: Inspection, by: Any, passed: bool, method: str,
                      notes: str = "", failed_points: Iterable[str] = (),
                      revisited_at: dt.datetime | None = None) -> Inspection:
    """R52: pass or fail, with the method (a review of the evidence or a revisit, when),
    the checklist points found wrong and notes. A fail needs at least one point or a note
    and reopens rework (R31); either way the order's log records the inspection (R42)."""
    _require_inspector(by)
    if method not in InspectionMethod.values:
        raise RuleViolation(_("Say whether you reviewed the evidence or revisited the "
                              "address."), field="method", rule="R52")
    if not isinstance(passed, bool):
        raise RuleViolation(_("Say whether the order passed."), field="passed", rule="R52")
    notes = (notes or "").strip()
    points = [str(p) for p in failed_points]
    allowed = checklist_for(inspection)
    unknown = [p for p in points if p not in allowed]
    if unknown:
        raise RuleViolation(_("Not on the checklist: %(points)s.")
                            % {"points": "; ".join(unknown)}, field="failed_points",
                            rule="R52")
    if passed and points:
        raise RuleViolation(_("A passed inspection has no points found wrong; fail it or "
                              "clear them."), field="failed_points", rule="R52")
    if not passed and not (points or notes):
        raise RuleViolation(_("Tick the checklist points found wrong or write what was "
                              "wrong."), field="notes", rule="R52")
    now = clock.now()
    if method == InspectionMethod.REVISIT:
        if revisited_at is None:
            raise RuleViolation(_("Record when the address was revisited."),
                                field="revisited_at", rule="R52")
        if revisited_at > now:
            raise RuleViolation(_("The revisit cannot be in the future."),
                                field="revisited_at", rule="R52")
    else:
        revisited_at = None
    with transaction.atomic():
        # Lock order as everywhere: the order first, then its rows.
        order = lock_order(WorkOrder.objects.get(pk=inspection.order_id))
        locked = Inspection.objects.select_for_update().get(pk=inspection.pk)
        if locked.status != InspectionStatus.OPEN:
            raise AlreadyDecided(_("This inspection was decided already (%(status)s).")
                                 % {"status": locked.get_status_display()})
        _require_completed(order)
        locked.status = InspectionStatus.PASSED if passed else InspectionStatus.FAILED
        locked.method = method
        locked.notes = notes
        locked.failed_points = points
        locked.revisited_at = revisited_at
        locked.decided_at = now
        locked.decided_by = by
        locked.save(update_fields=["status", "method", "notes", "failed_points",
                                   "revisited_at", "decided_at", "decided_by"])
        payload = {"inspection": locked.pk, "passed": passed, "method": method,
                   "failed_points": points}
        record_event(order=order, by=by, action=OrderAction.INSPECT, from_state=order.state,
                     to_state=order.state, reason=notes, payload=payload, at=now)
        if not passed:
            findings = "\n".join([*points, notes] if notes else points)
            reopened = work_order_reopen_rework(
                order=order, by=by, cause=ReopenCause.INSPECTION,
                reason=_("Failed quality inspection: %(findings)s")
                % {"findings": "; ".join([*points, notes] if notes else points)},
                payload={"inspection": locked.pk})
            record = QualityRecord.objects.create(
                inspection=locked, order=order, technician_id=locked.technician_id,
                findings=findings, rework_round=reopened.rework_round, recorded_at=now,
                recorded_by=by)
            bus.publish(InspectionFailed(
                inspection_id=locked.pk, record_id=record.pk, order_id=order.pk,
                technician_id=locked.technician_id, at=now, findings=findings))
    return locked
