"""What the customer is told about a booking, by SMS through the outbox: the booked or
moved visit with its signed link (R9, R10, R15), the missed call (R8), the technician on
the way (R13)."""

from __future__ import annotations

import datetime as dt

from django.utils import timezone
from django.utils.translation import gettext as _

from workorders.messages import local_text, sms_customer, technician_text, tell_users
from workorders.models import WorkOrder

from . import links
from .models import Appointment, AppointmentStatus, Precision


def window_text(appointment: Appointment) -> str:
    """A booking as the customer reads it: "11-23 10:00-11:00", "11-23 morning"."""
    if appointment.precision == Precision.EXACT:
        return f"{local_text(appointment.start)}-{local_text(appointment.end, '%H:%M')}"
    day = local_text(appointment.start, "%m-%d")
    if appointment.precision == Precision.HALF_DAY:
        afternoon = timezone.localtime(appointment.start).hour >= 12
        return f"{day} {_('afternoon') if afternoon else _('morning')}"
    return day


def sms_missed_call(order: WorkOrder, now: dt.datetime) -> bool:
    """R8: the phone did not answer: the customer gets the technician's name and number
    (one SMS a day per order, however many calls fail)."""
    values = technician_text(order)
    return sms_customer(
        order, kind="contact_missed",
        body=lambda: _("Your technician %(name)s (%(phone)s) called about order %(number)s "
                       "and could not reach you. Please call back.") % values,
        params=values,
        dedupe_key=f"r8:{order.pk}:{timezone.localdate(now).isoformat()}")


def sms_booking(order: WorkOrder, appointment: Appointment, *, moved: bool) -> None:
    """R9/R15: the customer is told of a booked or moved visit, with a signed link to
    confirm it or ask for another time (R10)."""
    _link, url = links.issue(appointment)
    values = {**technician_text(order), "window": window_text(appointment), "url": url}
    if moved:
        def body() -> str:
            return _("Your visit for order %(number)s has been moved to %(window)s "
                     "(technician %(name)s, %(phone)s). Confirm or ask for another time: "
                     "%(url)s") % values
    else:
        def body() -> str:
            return _("Your visit for order %(number)s is booked for %(window)s (technician "
                     "%(name)s, %(phone)s). Confirm or ask for another time: %(url)s") % values
    sms_customer(order, kind="appointment_moved" if moved else "appointment_booked",
                  body=body, params=values, dedupe_key=f"booking:{appointment.pk}")


def sms_on_the_way(order: WorkOrder, now: dt.datetime) -> None:
    """R13: the technician is on the way."""
    booked = order.appointments.filter(status=AppointmentStatus.BOOKED).first()
    values = {**technician_text(order),
              "window": window_text(booked) if booked else local_text(now, "%H:%M")}
    sms_customer(
        order, kind="on_the_way",
        body=lambda: _("Technician %(name)s (%(phone)s) is on the way for order %(number)s, "
                       "booked for %(window)s.") % values,
        params=values,
        dedupe_key=f"r13:{order.pk}:{booked.pk if booked else now.isoformat()}")



def tell_resumed(order: WorkOrder, until: dt.date) -> None:
    """R12: the wait the customer asked for is over: the customer is told the technician
    will call to book the visit, and the technician sees the order back on their list."""
    values = {**technician_text(order), "day": until.strftime("%m-%d")}
    sms_customer(
        order, kind="parked_resumed",
        body=lambda: _("Order %(number)s: the wait you asked for ended on %(day)s. Your "
                       "technician %(name)s (%(phone)s) will call you to book the visit.")
        % values,
        params=values,
        dedupe_key=f"r12-resume:{order.pk}:{order.version}")
    if order.technician is not None:
        tell_users([order.technician.user], order, kind="parked_resumed",
                   body=_("Order %(number)s is back from the customer's wait (until "
                          "%(day)s): call the customer and book the visit (R12).") % values,
                   dedupe=f"r12-resume:{order.pk}:{order.version}")
