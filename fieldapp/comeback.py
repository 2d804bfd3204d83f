"""Why an order is back with its technician (R31 after R29, R51 or R52), in plain words.

The order's last ``start_rework`` or ``reopen_rework`` event says what sent it back: its
payload names the survey (the customer not satisfied at the callback survey, R31), the
complaint (R51) or the inspection (R52, cause ``inspection``). The words come from those
records, never from the event's free-text reason: a complaint's reason may quote the
complainant, and the technician learns only that a complaint about the visit exists, its
outcome and the note a supervisor released (R51, no retaliation).

``reasons_for(orders)`` reads the reasons of many orders at once (the Today list: two or
three queries however long the list); ``reason_for(order)`` is the order page's.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from django.utils.translation import gettext as _

from complaints.models import Complaint, Outcome
from quality.models import Inspection
from workorders.events import OrderAction
from workorders.models import State, WorkOrder, WorkOrderEvent

#: The transitions that send an order back to rework.
BACK_ACTIONS = (OrderAction.START_REWORK, OrderAction.REOPEN_REWORK)


@dataclass(frozen=True)
class Comeback:
    """``cause``: ``inspection``, ``complaint`` or ``survey``; ``badge``: a few words for
    the Today list; ``sentence``: the order page's line, with what the technician may read
    of the finding (the inspector's points and notes); ``note``: the supervisor's released
    note of a complaint."""

    cause: str
    badge: str
    sentence: str
    note: str = ""


def _inspection(inspection: Inspection | None) -> Comeback:
    # R52: the inspector's findings are addressed to the technician's work (there is no
    # complainant to protect); the points found wrong, then the notes.
    badge = _("Inspection failed")
    findings = [str(p) for p in inspection.failed_points or []] if inspection else []
    if inspection is not None and inspection.notes:
        findings.append(inspection.notes)
    if not findings:
        return Comeback("inspection", badge, badge)
    return Comeback("inspection", badge, _("Inspection failed: %(findings)s")
                    % {"findings": "; ".join(findings)})


def _complaint(complaint: Complaint | None) -> Comeback:
    # R51: that a complaint about the visit exists and its outcome; the note a supervisor
    # released, nothing else (not the text, the channel or who complained).
    if complaint is None or not complaint.outcome:
        words = _("Complaint about the visit, not decided yet")
    elif complaint.outcome == Outcome.UPHELD:
        words = _("Complaint about the visit, upheld")
    else:
        words = _("Complaint about the visit, not upheld")
    note = (complaint.released_note or "").strip() if complaint is not None else ""
    return Comeback("complaint", words, words, note)


def _cause(event: WorkOrderEvent) -> str:
    payload = event.payload or {}
    if payload.get("cause") == "inspection" or "inspection" in payload:
        return "inspection"
    if "complaint" in payload:
        return "complaint"
    return "survey"


def reasons_for(orders: Iterable[WorkOrder]) -> dict[int, Comeback]:
    """The reason each order in rework is back, by order id (orders not in rework have
    none)."""
    ids = [o.pk for o in orders if o.state == State.REWORK]
    if not ids:
        return {}
    # The last event that sent each order back (PostgreSQL's DISTINCT ON).
    events = list(WorkOrderEvent.objects.filter(order_id__in=ids, action__in=BACK_ACTIONS)
                  .order_by("order_id", "-at", "-id").distinct("order_id")
                  .only("order_id", "payload"))
    causes = {e.order_id: (_cause(e), e.payload or {}) for e in events}
    inspections = Inspection.objects.in_bulk(
        [p["inspection"] for c, p in causes.values() if c == "inspection"
         and isinstance(p.get("inspection"), int)])
    complaints = Complaint.objects.only("outcome", "released_note").in_bulk(
        [p["complaint"] for c, p in causes.values() if c == "complaint"
         and isinstance(p.get("complaint"), int)])
    out: dict[int, Comeback] = {}
    for order_id, (cause, payload) in causes.items():
        if cause == "inspection":
            out[order_id] = _inspection(inspections.get(payload.get("inspection")))
        elif cause == "complaint":
            out[order_id] = _complaint(complaints.get(payload.get("complaint")))
        else:
            # R31: the callback survey's "not satisfied" (by the link or the call-centre's
            # callback, R30); what the customer said is on the rework card below.
            words = _("Customer not satisfied at callback")
            out[order_id] = Comeback("survey", words, words)
    return out


def reason_for(order: WorkOrder) -> Comeback | None:
    return reasons_for([order]).get(order.pk)
