"""The bookings follow the order's lifecycle: handlers of ``OrderEvent`` on the bus.

Each runs in the transaction of the change that caused it (``fieldops.bus``); the order
services name none of them.
"""

from __future__ import annotations

from django.conf import settings
from django.utils import translation
from django.utils.translation import gettext as _

from fieldops import bus, roles
from notifications.models import Channel
from notifications.services import notify
from workorders.events import OrderAction, OrderEvent
from workorders.lifecycle import day_window

from . import rules
from .messages import sms_on_the_way
from .models import Appointment, AppointmentStatus, Precision
from .services import missed_in_error, withdraw_missed_by_us


def book_intake_day(event: OrderEvent) -> None:
    """R3: the first appointment is agreed to the day at intake."""
    order = event.order
    start, end = day_window(order.preferred_day)
    booking = Appointment.objects.create(
        order=order, start=start, end=end, precision=Precision.DAY, booked_at=event.at,
        booked_by=event.actor, reason=_("First booking at intake (R3)"))
    # The order's bookings, newest first, as api.selectors.order_for prefetches them: the
    # API's answer to the intake shows this one without asking for it again.
    order.appointment_rows = [booking]


def keep_booking(event: OrderEvent) -> None:
    """R14: the technician checked in: the booking is kept, with how far the arrival was
    from the booked time and whether that was late."""
    booked = event.order.appointments.filter(status=AppointmentStatus.BOOKED).first()
    if booked is None:
        # R16 corrected: a check-in done in time offline that reached the server after the
        # sweep recorded the booking as missed by us keeps it after all.
        booked = missed_in_error(event.order, event.at)
        if booked is None:
            return
        withdraw_missed_by_us(event.order, booked, arrived_at=event.at)
    result = rules.arrival(start=booked.start, end=booked.end, precision=booked.precision,
                           at=event.at)
    booked.status = AppointmentStatus.KEPT
    booked.closed_at, booked.closed_by = event.at, event.actor
    booked.arrived_at = event.at
    booked.arrival_offset_minutes = result.offset_minutes
    booked.late = result.late
    booked.save(update_fields=["status", "closed_at", "closed_by", "arrived_at",
                               "arrival_offset_minutes", "late"])


def missed_by_customer(event: OrderEvent) -> None:
    """R18: nobody home: the booking (booked, or kept on a check-in) was not kept by the
    customer; it counts towards R19's abnormal order."""
    event.order.appointments.filter(
        status__in=[AppointmentStatus.BOOKED, AppointmentStatus.KEPT]).update(
        status=AppointmentStatus.MISSED_BY_CUSTOMER)


def cancel_booking(event: OrderEvent) -> None:
    """Step 14: a cancelled order keeps no booking; nor does one resolved without a visit
    (R2, and an outage's customer whose service is back, R54): no technician is coming, so
    the day booked at intake (R3) is not a visit ahead on the board, the ranking or the
    customer's page."""
    event.order.appointments.filter(status=AppointmentStatus.BOOKED).update(
        status=AppointmentStatus.CANCELLED)


def tell_on_the_way(event: OrderEvent) -> None:
    """R13: the customer is told the technician is on the way, with the booked time."""
    sms_on_the_way(event.order, event.at)


def tell_abnormal(event: OrderEvent) -> None:
    """R19: an abnormal order goes to the call-centre for a recorded callback; the
    call-centre's and the dispatchers' alert inboxes say so (written in the site's
    language, once per event)."""
    order = event.order
    with translation.override(settings.LANGUAGE_CODE):
        body = _("Order %(number)s is abnormal: call the customer back and record the "
                 "outcome.") % {"number": order.number}
    for role in (roles.CALL_CENTRE, roles.DISPATCHER):
        notify(channel=Channel.IN_APP, kind="abnormal", body=body, address=f"role:{role}",
               order=order, dedupe_key=f"r19:{event.row.pk}:{role}")


HANDLERS = {
    OrderAction.CREATE: book_intake_day,
    OrderAction.CHECK_IN: keep_booking,
    OrderAction.NOBODY_HOME: missed_by_customer,
    OrderAction.CANCEL: cancel_booking,
    OrderAction.RESOLVE_REMOTELY: cancel_booking,
    OrderAction.DEPART: tell_on_the_way,
    OrderAction.MAKE_ABNORMAL: tell_abnormal,
}


def on_order_event(event: OrderEvent) -> None:
    handler = HANDLERS.get(event.action)
    if handler is not None:
        handler(event)


def register() -> None:
    bus.subscribe(OrderEvent, on_order_event)
