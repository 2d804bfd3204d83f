"""Travel, check-in and the visit: the kit is checked (R20, R21), the customer told the
technician is on the way (R13), the technician checks in (R17) or finds nobody home (R18,
R19), or can't finish and promises a new visit (R24)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import Any

from django.db import transaction
from django.utils.translation import gettext as _

from fieldops import clock, roles

from ..errors import RuleViolation
from ..events import OrderAction
from ..images import files_discarded_on_error, prepare_image, save_photo
from ..kit import order_kit
from ..lifecycle import User, require, transition
from ..messages import group_users, local_text, sms_customer, technician_text, tell_users
from ..models import Photo, WorkOrder

#: R19: this many bookings refused or not kept by the customer make the order abnormal.
ABNORMAL_AFTER_CUSTOMER_MISSES = 2


def work_order_confirm_kit(*, order: WorkOrder, by: User, items: Iterable[str]) -> WorkOrder:
    """R20, R21: every item of the kit for this access type is confirmed before leaving;
    R49: with the safety gear when the visit is work at height."""
    ticked = set(items)
    missing = [label for code, label in order_kit(order).items()
               if code not in ticked]
    if missing:
        raise RuleViolation(_("Confirm the whole kit before leaving; missing: %(items)s.")
                            % {"items": ", ".join(str(m) for m in missing)},
                            field="items", rule="R20")
    return transition(order, OrderAction.CONFIRM_KIT, by=by, payload={"items": sorted(ticked)})


def _position(latitude: float | None, longitude: float | None) -> dict[str, Any]:
    if latitude is None or longitude is None:
        return {}
    if not (-90 <= latitude <= 90 and -180 <= longitude <= 180):
        raise RuleViolation(_("The location is not a valid latitude/longitude."),
                            field="latitude", rule="R17")
    return {"latitude": latitude, "longitude": longitude}


def work_order_depart(*, order: WorkOrder, by: User, latitude: float | None = None,
                      longitude: float | None = None) -> WorkOrder:
    """R13: the technician is on the way; the customer is told by SMS with the booked time
    (the bookings' handler of this event, ``appointments.handlers``). Where the phone was
    when they set off, if it said, is kept as an en-route position (``planning.handlers``)
    for the arrival estimate."""
    return transition(order, OrderAction.DEPART, by=by,
                      payload=_position(latitude, longitude) or None)


def work_order_check_in(*, order: WorkOrder, by: User, latitude: float | None = None,
                        longitude: float | None = None, accuracy: float | None = None,
                        photo: Any = None) -> WorkOrder:
    """R17: check-in with time, location and a photo (the technician's pages require the
    photo; the location is what the browser gave). R14: the booking is marked kept, with
    how far the arrival was from the booked time and whether that was late, by the
    bookings' handler of this event (``appointments.handlers``)."""
    payload: dict[str, Any] = _position(latitude, longitude)
    if payload and accuracy is not None:
        payload["accuracy_m"] = round(accuracy)
    image = prepare_image(photo, field="photo", rule="R17") if photo is not None else None

    def keep(locked: WorkOrder, now: dt.datetime) -> None:
        if image is not None:
            photo_row = save_photo(locked, image, kind=Photo.Kind.CHECK_IN, by=by, now=now)
            payload["photo"] = photo_row.pk

    with files_discarded_on_error():
        return transition(order, OrderAction.CHECK_IN, by=by, payload=payload, after=keep)


def work_order_nobody_home(*, order: WorkOrder, by: User, note: str) -> WorkOrder:
    """R18: nobody home and the customer can't be reached: leave a note, back to
    scheduling. R19: the second booking the customer did not keep makes the order
    abnormal and hands it to the call-centre. The booking is marked missed by the
    customer by the bookings' handler of this event."""
    require(note, _("Leave a note: arrival time, leaving time, how to reach you (R18)."),
             field="note", rule="R18")

    with transaction.atomic():
        order = transition(order, OrderAction.NOBODY_HOME, by=by, reason=note)
        return abnormal_if_missed_too_often(order)


def abnormal_if_missed_too_often(order: WorkOrder) -> WorkOrder:
    """R19: after the second booking the customer refused or did not keep, the order
    becomes abnormal and goes to the call-centre. Call inside the step's transaction."""
    if order.customer_missed_bookings < ABNORMAL_AFTER_CUSTOMER_MISSES:
        return order
    return transition(order, OrderAction.MAKE_ABNORMAL, by=None,
                      reason=_("%(n)s bookings not kept by the customer (R19)")
                      % {"n": order.customer_missed_bookings})


def work_order_leave_note(*, order: WorkOrder, by: User, arrived_at: dt.datetime,
                          left_at: dt.datetime, note: str = "") -> WorkOrder:
    """R18: nobody home and the customer can't be reached: the note (arrival time, leaving
    time, how to reach the technician) is recorded, the customer gets an SMS, and the
    order goes back to booking; the second booking not kept makes it abnormal (R19)."""
    if left_at < arrived_at:
        raise RuleViolation(_("The leaving time is before the arrival time."),
                            field="left_at", rule="R18")
    values = {**technician_text(order), "arrived": local_text(arrived_at, "%H:%M"),
              "left": local_text(left_at, "%H:%M")}
    text = (_("Arrived %(arrived)s, left %(left)s, contact %(name)s %(phone)s.") % values
            + (f" {note.strip()}" if note.strip() else ""))
    with transaction.atomic():
        result = work_order_nobody_home(order=order, by=by, note=text)
        sms_customer(
            result, kind="nobody_home",
            body=lambda: _("Technician %(name)s came for order %(number)s at %(arrived)s and "
                           "waited until %(left)s, but nobody was home. Call %(phone)s to "
                           "book another visit.") % values,
            params=values,
            dedupe_key=f"r18:{result.pk}:{result.version}")
    return result


def work_order_return_from_abnormal(*, order: WorkOrder, by: User, callback_note: str) -> WorkOrder:
    """R19: the call-centre's recorded callback agreed to try again."""
    require(callback_note, _("Record what the customer said on the callback (R19)."),
             field="callback_note", rule="R19")
    return transition(order, OrderAction.RETURN_FROM_ABNORMAL, by=by, reason=callback_note)


def work_order_close_abnormal(*, order: WorkOrder, by: User, callback_note: str) -> WorkOrder:
    """R19: the recorded callback closes the order (the customer no longer wants it)."""
    require(callback_note, _("Record what the customer said on the callback (R19)."),
             field="callback_note", rule="R19")
    return transition(order, OrderAction.CLOSE_ABNORMAL, by=by, reason=callback_note, at=None)


def work_order_cant_finish(*, order: WorkOrder, by: User, reason: str,
                           promised_at: dt.datetime) -> WorkOrder:
    """R24: can't finish on site: dispatch is told, the customer gets a promised time and
    the order waits for a new visit."""
    require(reason, _("Say why the work can't be finished (R24)."), field="reason",
             rule="R24")
    if promised_at <= clock.now():
        raise RuleViolation(_("Promise the customer a time in the future (R24)."),
                            field="promised_at", rule="R24")
    return transition(order, OrderAction.CANT_FINISH, by=by, reason=reason,
                       payload={"promised_at": promised_at.isoformat()})


def work_order_report_cant_finish(*, order: WorkOrder, by: User, reason: str,
                                  promised_at: dt.datetime) -> WorkOrder:
    """R24: can't finish on site: the order waits for a new visit, dispatch is told (in
    the app) and the customer gets the promised time by SMS."""
    with transaction.atomic():
        result = work_order_cant_finish(order=order, by=by, reason=reason,
                                        promised_at=promised_at)
        values = {**technician_text(result), "promised": local_text(promised_at),
                  "reason": reason}
        sms_customer(
            result, kind="cant_finish",
            body=lambda: _("Order %(number)s could not be finished today. We will come back "
                           "by %(promised)s; technician %(name)s (%(phone)s).") % values,
            params=values,
            dedupe_key=f"r24:{result.pk}:{result.version}")
        tell_users(group_users(roles.DISPATCHER), result, kind="cant_finish",
                    body=_("Order %(number)s can't be finished on site: %(reason)s. Promised "
                           "to the customer: %(promised)s (R24).") % values,
                    dedupe=f"r24:{result.pk}:{result.version}")
    return result

