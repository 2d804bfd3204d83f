"""When the technician will be at the door ("where is my technician", R13, R14): an
estimated arrival window per order, for the call-centre's API and the customer's page.

From the best that is known, in this order:

* ``en_route``: the technician is on the way (R13) and we know where they were last seen
  since setting off (a ping of the phone when they tapped "On my way", else the previous
  check-in) and where the order is: the time of that sighting (not before the departure)
  plus the drive there (the straight line times ``DAY_PLAN["detour"]`` at
  ``DISPATCH_RANKING["speed_kmh"]``, as the day plans count it), give or take a quarter of
  the drive (at least ``ETA["margin_minutes"]``);
* ``plan``: the dispatcher's planned start inside the booked window (the day board or an
  accepted day plan), give or take ``ETA["margin_minutes"]`` (10, as R14's tolerance);
* ``booking``: the booked window itself (an exact time give or take the margin; a half day
  or a whole day as booked).

Only for an order that has a technician and still waits for the visit; none otherwise (not
yet dispatched, on site, done). Never earlier than now: a late technician's window moves on.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Any

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from appointments import services as booking_services
from appointments.models import Appointment, AppointmentStatus, Precision
from fieldops import clock
from workorders.events import OrderAction
from workorders.models import State, WorkOrder, WorkOrderEvent

from .dayplans import plan_settings
from .geocoding import Point, haversine_km
from .models import OrderLocation, TechnicianPosition
from .ranking import ranking_settings

DEFAULTS: dict[str, Any] = {"margin_minutes": 10, "en_route_share": 0.25}
#: States in which the technician is still to arrive.
WAITING = frozenset({*booking_services.PLANNABLE_STATES, State.EN_ROUTE})


class EtaSource(models.TextChoices):
    EN_ROUTE = "en_route", _("on the way")
    PLAN = "plan", _("planned start")
    BOOKING = "booking", _("booked time")


@dataclasses.dataclass(frozen=True)
class Eta:
    start: dt.datetime
    end: dt.datetime
    source: EtaSource


def eta_settings() -> dict[str, Any]:
    return {**DEFAULTS, **(getattr(settings, "ETA", {}) or {})}


def order_eta(order: WorkOrder, *, now: dt.datetime | None = None) -> Eta | None:
    """The order's estimated arrival window, or None (see the module's docstring)."""
    if order.technician_id is None or order.state not in WAITING:
        return None
    now = now or clock.now()
    cfg = eta_settings()
    margin = dt.timedelta(minutes=float(cfg["margin_minutes"]))
    if order.state == State.EN_ROUTE:
        found = _on_the_way(order, now, cfg, margin)
        if found is not None:
            return found
    booking = (Appointment.objects.filter(order=order, status=AppointmentStatus.BOOKED)
               .order_by("-start", "-pk").first())
    if booking is None:
        return None
    plan = booking_services.current_plan(booking)
    if plan is not None:
        return _not_before(now, plan.planned_start - margin, plan.planned_start + margin,
                           EtaSource.PLAN)
    if booking.precision == Precision.EXACT:
        return _not_before(now, booking.start - margin, booking.start + margin,
                           EtaSource.BOOKING)
    return _not_before(now, booking.start, booking.end, EtaSource.BOOKING)


def _on_the_way(order: WorkOrder, now: dt.datetime, cfg: dict[str, Any],
                margin: dt.timedelta) -> Eta | None:
    place = OrderLocation.objects.filter(order=order).first()
    departed = (WorkOrderEvent.objects
                .filter(order=order, action=OrderAction.DEPART).order_by("-at", "-pk")
                .values_list("at", flat=True).first())
    technician = order.technician_id
    if place is None or departed is None or technician is None:
        return None
    ranking = ranking_settings()
    since = now - dt.timedelta(hours=float(ranking["position_max_age_hours"]))
    seen = (TechnicianPosition.objects
            .filter(technician_id=technician, at__gte=since, at__lte=now)
            .order_by("-at", "-pk").first())
    if seen is None:
        return None
    km = haversine_km(Point(seen.latitude, seen.longitude),
                     Point(place.latitude, place.longitude)) * float(plan_settings()["detour"])
    drive = dt.timedelta(hours=km / float(ranking["speed_kmh"]))
    arrival = max(seen.at, departed) + drive
    spread = max(margin, drive * float(cfg["en_route_share"]))
    return _not_before(now, arrival - spread, arrival + spread, EtaSource.EN_ROUTE)


def _not_before(now: dt.datetime, start: dt.datetime, end: dt.datetime,
                source: EtaSource) -> Eta:
    """A window that has begun starts now; one that has passed ends a margin from now."""
    width = end - start
    if start < now:
        start = now
        end = max(end, now + min(width, dt.timedelta(minutes=15)))
    return Eta(_minute(start), _minute(end, up=True), source)


def _minute(moment: dt.datetime, *, up: bool = False) -> dt.datetime:
    """Whole minutes: a customer is told 10:40, not 10:40:17."""
    down = moment.replace(second=0, microsecond=0)
    return down + dt.timedelta(minutes=1) if up and down != moment else down
