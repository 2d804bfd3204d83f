"""The ledger listens (fieldops.bus): SLA breaches, the lifecycle's missed appointments and
upheld complaints (R51) and failed quality inspections (R52) become entries in the
transaction that caused them (R53). Nothing here is called by the lifecycle, the SLA
engine, the complaints app or quality."""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from complaints.events import ComplaintDecided
from fieldops import bus
from quality.events import InspectionFailed
from sla.events import BreachesExempted, BreachesWithdrawn, TimerStepped
from sla.exemptions import Exemption
from workorders.events import OrderAction, OrderEvent

from . import sources
from .services import (
    entries_exempted,
    entries_of_kept_appointment,
    entries_withdrawn,
    record_entries,
)

_MISS_ACTIONS = (OrderAction.APPOINTMENT_MISSED, OrderAction.RESCHEDULE)


def breaches_to_entries(event: TimerStepped) -> None:
    """R38 → R53: one entry per breached timer; a repeated batch adds nothing."""
    record_entries(sources.from_breaches(event.steps))


def misses_to_entries(event: OrderEvent) -> None:
    """R15, R16 → R53: missed appointments and the second miss."""
    if event.action in _MISS_ACTIONS:
        record_entries(sources.from_missed_appointments(event))


def kept_appointments_to_reversals(event: OrderEvent) -> None:
    """R16 corrected → R53: a miss withdrawn because the check-in done in time reached the
    server later reverses its entries, once, in the same transaction."""
    if event.action != OrderAction.APPOINTMENT_MISS_WITHDRAWN:
        return
    with translation.override(settings.LANGUAGE_CODE):
        reason = _("The technician checked in at %(at)s; the check-in reached the server "
                   "after the miss was recorded.") % {
            "at": _local(dt.datetime.fromisoformat(event.payload["arrived_at"]))}
    entries_of_kept_appointment(appointment_id=int(event.payload["appointment"]),
                                reason=reason)


def exemptions_to_reversals(event: BreachesExempted) -> None:
    """R50 → R53: breaches exempted after their entries were written are reversed (a new
    entry each, once), in the approving transaction."""
    exemption = Exemption.objects.select_related("decided_by").get(pk=event.exemption_id)
    entries_exempted(timer_ids=event.timer_ids, by=exemption.decided_by,
                     reason=exemption.decision_reason or exemption.reason)


def withdrawals_to_reversals(event: BreachesWithdrawn) -> None:
    """R38 → R53: a breach withdrawn by a late-arriving earlier event (a check-in done
    offline in time) reverses its missed-promise entry, once, in the same transaction."""
    if not event.timer_ids:
        return
    with translation.override(settings.LANGUAGE_CODE):
        label = (OrderAction(event.action).label if event.action in OrderAction.values
                 else event.action)
        reason = _("%(action)s was done at %(at)s and reached the server at %(received)s.") % {
            "action": label, "at": _local(event.at), "received": _local(event.received_at)}
    entries_withdrawn(timer_ids=event.timer_ids, reason=reason)


def _local(moment: dt.datetime) -> str:
    return timezone.localtime(moment).strftime("%Y-%m-%d %H:%M")


def complaints_to_entries(event: ComplaintDecided) -> None:
    """R51 → R53: an upheld complaint against a technician, once."""
    record_entries(sources.from_complaint(event))


def inspections_to_entries(event: InspectionFailed) -> None:
    """R52 → R53: a failed inspection, once."""
    record_entries(sources.from_failed_inspection(event))


def register() -> None:
    bus.subscribe(InspectionFailed, inspections_to_entries)
    bus.subscribe(TimerStepped, breaches_to_entries)
    bus.subscribe(BreachesExempted, exemptions_to_reversals)
    bus.subscribe(BreachesWithdrawn, withdrawals_to_reversals)
    bus.subscribe(OrderEvent, misses_to_entries)
    bus.subscribe(OrderEvent, kept_appointments_to_reversals)
    bus.subscribe(ComplaintDecided, complaints_to_entries)
