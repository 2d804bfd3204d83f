"""Where entries come from (R53): one function per source, each turning an event into
``NewEntry`` values for ``services.record_entries``.

A new source (an upheld complaint, R51; a failed inspection, R52) is one more function
here and one ``bus.subscribe`` in ``handlers.register``: build ``NewEntry(kind=…,
source_type="complaint", source_id=str(complaint.pk), …)`` and call ``record_entries``.
The unique key (kind, source) makes it exactly once, whatever retries the source has.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.conf import settings
from django.db import connection
from django.db.models.expressions import RawSQL
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from appointments.models import Appointment
from complaints.events import ComplaintDecided
from complaints.models import Complaint
from quality.events import InspectionFailed
from sla.events import TimerStep
from sla.timers import Timer, TimerEventKind
from workorders.events import OrderAction, OrderEvent
from workorders.models import WorkOrder

from .models import EntryKind
from .services import NewEntry

#: The entry kind of a breach of each SLA timer kind (R38 → R53).
BREACH_KINDS = {
    "contact": EntryKind.BREACH_CONTACT,
    "visit": EntryKind.BREACH_VISIT,
    "no_visit_answer": EntryKind.BREACH_NO_VISIT_ANSWER,
    "arrival": EntryKind.BREACH_ARRIVAL,
    "rework_contact": EntryKind.BREACH_REWORK_CONTACT,
}


def _local(moment: Any) -> str:
    return timezone.localtime(moment).strftime("%Y-%m-%d %H:%M")


def from_breaches(steps: Iterable[TimerStep]) -> list[NewEntry]:
    """Each breached timer of an order with a technician: one missed-promise entry
    (R38, R53), dated at the true moment of the breach."""
    breached = {s.timer_id: s for s in steps if s.kind == TimerEventKind.BREACHED}
    if not breached:
        return []
    # R50: a breach a supervisor already exempted (force majeure) makes no entry; one
    # exempted after its entry was written is reversed (handlers.exemptions_to_reversals).
    # A breach withdrawn in the same transaction (a late-arriving earlier stop cleared
    # ``breached_at``) makes none either.
    # (``breached_at`` is checked below, not in the query: a batch's timers are found by
    # their keys, never by scanning every breached timer through the dashboards' index,
    # which is what the planner chose when its statistics lagged behind a storm.)
    timers = (Timer.objects.select_related("order")
              .filter(order__technician__isnull=False, exempt_mark__isnull=True).order_by())
    if connection.vendor == "postgresql":
        # A breach storm's batch names thousands of timers: one array parameter, not an
        # ``IN`` list of thousands of literals to quote, parse and plan; written as the
        # array's text at once (the driver's list dumper quotes element by element).
        ids = "{" + ",".join(str(int(pk)) for pk in breached) + "}"
        timers = timers.filter(pk__in=RawSQL("SELECT unnest(%s::bigint[])", [ids]))
    else:
        timers = timers.filter(pk__in=breached)
    found = []
    with translation.override(settings.LANGUAGE_CODE):
        for timer in sorted(timers, key=lambda t: (t.started_at, t.pk)):  # Timer's order
            kind = BREACH_KINDS.get(timer.kind)
            technician_id = timer.order.technician_id
            if kind is None or technician_id is None or timer.breached_at is None:
                continue
            at = breached[timer.pk].at
            found.append(NewEntry(
                kind=kind, technician_id=technician_id, source_type="timer",
                source_id=str(timer.pk), occurred_at=at, order_id=timer.order_id,
                reason=_("Order %(number)s: “%(promise)s” was due %(due)s and was broken at "
                         "%(at)s.") % {"number": timer.order.number,
                                      "promise": timer.get_kind_display(),
                                      "due": _local(timer.due_at or at), "at": _local(at)}))
    return found


def from_missed_appointments(event: OrderEvent) -> list[NewEntry]:
    """R15, R16: a booking we missed (nobody checked in) or moved at too short notice is
    an entry; the one that makes it twice for the same order is a second-miss entry too."""
    order = event.order
    technician_id = order.technician_id
    if technician_id is None:
        return []
    if event.action == OrderAction.APPOINTMENT_MISSED:
        appointment = Appointment.objects.filter(pk=int(event.payload.get("appointment") or 0),
                                                 order=order).first()
        second = int(event.payload.get("our_missed_appointments") or 0) >= 2
    elif event.action == OrderAction.RESCHEDULE:
        # The booking this move closed, if the move came at too short notice (R15).
        appointment = (Appointment.objects.filter(order=order, short_notice=True)
                       .order_by("-closed_at", "-pk").first())
        second = False
    else:
        return []
    if appointment is None:
        return []
    found = []
    with translation.override(settings.LANGUAGE_CODE):
        window = _local(appointment.start)
        found.append(NewEntry(
            kind=EntryKind.MISSED_APPOINTMENT, technician_id=technician_id,
            source_type="appointment", source_id=str(appointment.pk), occurred_at=event.at,
            order_id=order.pk,
            reason=_("Order %(number)s: the appointment of %(window)s was missed or moved "
                     "at short notice (%(why)s).")
            % {"number": order.number, "window": window, "why": appointment.close_reason}))
        if second:
            found.append(NewEntry(
                kind=EntryKind.SECOND_MISS, technician_id=technician_id,
                source_type="appointment", source_id=str(appointment.pk),
                occurred_at=event.at, order_id=order.pk,
                reason=_("Order %(number)s: this customer's appointment was missed a "
                         "second time (%(window)s).")
                % {"number": order.number, "window": window}))
    return found


def from_complaint(event: ComplaintDecided) -> list[NewEntry]:
    """R51 → R53: an upheld complaint against a technician is one entry, dated when it was
    decided; the source is the complaint, so a replayed decision adds nothing."""
    if not event.upheld or event.technician_id is None:
        return []
    complaint = Complaint.objects.filter(pk=event.complaint_id).select_related("order").first()
    if complaint is None:
        return []
    with translation.override(settings.LANGUAGE_CODE):
        about = (_("order %(number)s") % {"number": complaint.order.number}
                 if complaint.order is not None else _("a customer"))
        reason = _("Complaint %(complaint)s about %(about)s (%(tier)s) was upheld on "
                   "%(day)s.") % {"complaint": complaint.number, "about": about,
                                  "tier": complaint.get_tier_display(),
                                  "day": _local(event.at)}
    return [NewEntry(kind=EntryKind.COMPLAINT_UPHELD, technician_id=event.technician_id,
                     source_type="complaint", source_id=str(complaint.pk),
                     occurred_at=event.at, order_id=complaint.order_id, reason=reason)]
def from_failed_inspection(event: InspectionFailed) -> list[NewEntry]:
    """R52 → R53: a failed inspection is one entry for the technician who did the work,
    keyed by the quality record (exactly once, whatever retries there are)."""
    if event.technician_id is None:
        return []
    with translation.override(settings.LANGUAGE_CODE):
        number = WorkOrder.number_for(event.order_id)
        return [NewEntry(
            kind=EntryKind.INSPECTION_FAILED, technician_id=event.technician_id,
            source_type="inspection", source_id=str(event.record_id), occurred_at=event.at,
            order_id=event.order_id,
            reason=_("Order %(number)s failed its quality inspection: %(findings)s")
            % {"number": number, "findings": event.findings.replace("\n", "; ")})]
