"""Writes about appointments that are not a state change of the order."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import F
from django.utils.translation import gettext as _

from fieldops import clock
from workorders.errors import IllegalTransition, RuleViolation
from workorders.models import State, WorkOrder
from workorders.services import record_event, record_missed_by_us, window_text

from . import links
from .models import Appointment, AppointmentStatus, ChangeRequest, CustomerLink, Precision

#: While the visit can still be moved.
CHANGEABLE_STATES = frozenset({State.ACCEPTED, State.DISPATCHED, State.TAKEN, State.CONTACTED,
                               State.SCHEDULED, State.PREPARED, State.NOBODY_HOME,
                               State.AWAITING_REVISIT})


def appointment_request_change(*, order: WorkOrder, by: Any, preferred_start: dt.datetime,
                               preferred_end: dt.datetime, source: str,
                               note: str = "") -> ChangeRequest:
    """R10: record the customer's wish for another time and hand it to the technician,
    who re-books it (``work_order_schedule``). The current booking stays until then."""
    if preferred_end <= preferred_start:
        raise RuleViolation(_("The preferred window must end after it starts."),
                            field="preferred_end", rule="R10")
    if preferred_start < clock.now():
        raise RuleViolation(_("The preferred time is in the past; choose a later time."),
                            field="preferred_start", rule="R10")
    with transaction.atomic():
        locked = WorkOrder.objects.select_for_update().get(pk=order.pk)
        if locked.state not in CHANGEABLE_STATES:
            raise IllegalTransition(locked, "request_change", [])
        current = Appointment.objects.filter(order=locked,
                                             status=AppointmentStatus.BOOKED).first()
        request = ChangeRequest.objects.create(
            order=locked, appointment=current, preferred_start=preferred_start,
            preferred_end=preferred_end, note=note, source=source, requested_by=by)
        record_event(order=locked, by=by, action="request_change", from_state=locked.state,
                     to_state=locked.state, reason=note,
                     payload={"preferred_start": preferred_start.isoformat(),
                              "preferred_end": preferred_end.isoformat(), "source": source})
        if locked.technician is not None:
            from notifications.models import Channel
            from notifications.services import notify

            notify(channel=Channel.IN_APP, kind="change_request", recipient=locked.technician.user,
                   order=locked, dedupe_key=f"change-request:{request.pk}",
                   body=_("Order %(number)s: the customer asks for another time. Book it "
                          "again.") % {"number": locked.number})
    return request


# --- The customer's signed link (R10) --------------------------------------------------

def _use_link(link: CustomerLink, use: str) -> None:
    """Single use, compare-and-swap: of two submissions of one link, one wins."""
    claimed = CustomerLink.objects.filter(pk=link.pk, used_at__isnull=True).update(
        used_at=clock.now(), used_for=use)
    if not claimed:
        raise links.LinkUsed(_("This link was already used. Your answer has been recorded."))


def appointment_confirm_by_link(*, token: str) -> Appointment:
    """R10: the customer confirms the booked time from the SMS link (no login)."""
    with transaction.atomic():
        link = links.resolve(token, for_use=True)
        _use_link(link, CustomerLink.Use.CONFIRMED)
        now = clock.now()
        appointment = Appointment.objects.select_for_update().get(pk=link.appointment_id)
        appointment.confirmed_at = now
        appointment.save(update_fields=["confirmed_at"])
        order = appointment.order
        record_event(order=order, by=None, action="customer_confirmed",
                     from_state=order.state, to_state=order.state, at=now,
                     payload={"appointment": appointment.pk, "via": "sms_link"})
    return appointment


def appointment_request_change_by_link(*, token: str, preferred_start: dt.datetime,
                                       preferred_end: dt.datetime,
                                       note: str = "") -> ChangeRequest:
    """R10: the customer asks for another time from the SMS link; the request goes to the
    technician, who books it (the current booking stays until then)."""
    with transaction.atomic():
        link = links.resolve(token, for_use=True)
        _use_link(link, CustomerLink.Use.CHANGE_REQUESTED)
        return appointment_request_change(
            order=link.appointment.order, by=None, preferred_start=preferred_start,
            preferred_end=preferred_end, source=ChangeRequest.Source.CUSTOMER_LINK, note=note)


# --- Missed appointments (R16) -------------------------------------------------------------

#: States in which a booked visit is still expected to happen.
AWAITING_VISIT = (State.SCHEDULED, State.PREPARED, State.EN_ROUTE)


def missed_deadline(appointment: Appointment) -> dt.datetime:
    return appointment.end + dt.timedelta(minutes=settings.APPOINTMENT_MISSED_AFTER_MINUTES)


def appointments_sweep_missed(*, now: dt.datetime | None = None, limit: int = 500) -> int:
    """R16: a timed booking nobody checked in to by the end of its window (plus a grace
    period) was missed by us: recorded, counted, the order flagged and the supervisor told
    (on every miss: the second one of a customer is the one R16 forbids). Safe to run
    twice: a booking is marked once. Returns how many were marked."""
    now = now or clock.now()
    grace = dt.timedelta(minutes=settings.APPOINTMENT_MISSED_AFTER_MINUTES)
    due = list(Appointment.objects.filter(
        status=AppointmentStatus.BOOKED, end__lt=now - grace,
        precision__in=[Precision.EXACT, Precision.HALF_DAY],
        order__state__in=AWAITING_VISIT).values_list("pk", flat=True)[:limit])
    marked = 0
    for pk in due:
        with transaction.atomic():
            appointment = (Appointment.objects.select_for_update(skip_locked=True)
                           .filter(pk=pk, status=AppointmentStatus.BOOKED).first())
            if appointment is None:
                continue
            order = WorkOrder.objects.select_for_update(of=("self",)).select_related(
                "technician__user", "technician__team").get(pk=appointment.order_id)
            if order.state not in AWAITING_VISIT:
                continue
            reason = _("Nobody checked in by %(deadline)s") % {
                "deadline": window_text(appointment)}
            appointment.status = AppointmentStatus.MISSED_BY_US
            appointment.closed_at, appointment.close_reason = now, reason
            appointment.save(update_fields=["status", "closed_at", "close_reason"])
            WorkOrder.objects.filter(pk=order.pk).update(version=F("version") + 1,
                                                         updated_at=now)
            record_missed_by_us(order, now, appointment, reason=reason)
            record_event(order=order, by=None, action="appointment_missed",
                         from_state=order.state, to_state=order.state, reason=reason, at=now,
                         payload={"appointment": appointment.pk,
                                  "our_missed_appointments": order.our_missed_appointments})
            marked += 1
    return marked
