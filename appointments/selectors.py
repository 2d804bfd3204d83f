"""Reads about bookings: the current one, a technician's day, clashes (R10), the list
behind the technician's Today page and the promise clock shown on it."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.db.models import OuterRef, QuerySet, Subquery
from django.utils import timezone
from django.utils.translation import gettext as _

from fieldops import clock
from workorders.models import TERMINAL_STATES, Kind, State, WorkOrder
from workorders.selectors import orders_visible_to

from .models import Appointment, AppointmentStatus, ChangeRequest, ChangeRequestStatus
from .rules import HALF_DAYS, SLOT_STEP

#: The Today page leaves out what is finished from the technician's point of view.
NOT_ON_TODAY = {*TERMINAL_STATES, State.COMPLETED, State.SURVEY_PENDING, State.ABNORMAL,
                State.PARKED, State.NO_RESOURCES}


def current_appointment(order: WorkOrder) -> Appointment | None:
    """The booking in force (at most one per order, by a constraint)."""
    return order.appointments.filter(status=AppointmentStatus.BOOKED).first()


def technician_day(technician: Any, day: dt.date, *,
                   exclude_order: WorkOrder | None = None) -> QuerySet[Appointment]:
    """R10: the technician's own current bookings that touch ``day`` (local time)."""
    tz = timezone.get_current_timezone()
    start = dt.datetime.combine(day, dt.time.min, tzinfo=tz)
    qs = Appointment.objects.filter(
        order__technician=technician, status=AppointmentStatus.BOOKED,
        start__lt=start + dt.timedelta(days=1), end__gt=start,
    ).exclude(order__state__in=TERMINAL_STATES).select_related("order").order_by("start")
    if exclude_order is not None:
        qs = qs.exclude(order=exclude_order)
    return qs


def bookable_slots(technician: Any, day: dt.date, *, length: dt.timedelta,
                   exclude_order: WorkOrder | None = None,
                   now: dt.datetime | None = None) -> list[dt.datetime]:
    """R9, R10: the exact start times the technician can offer on ``day``: every
    ``rules.SLOT_STEP`` from the start of a half day of work (``rules.HALF_DAYS``), the
    whole visit inside it, not in the past, and not overlapping another of their timed
    bookings (the service refuses a clash, so the page offers none). The customer may
    still ask for another time."""
    now = now or clock.now()
    tz = timezone.get_current_timezone()
    busy = [(a.start, a.end) for a in Appointment.objects.filter(
        order__technician=technician, status=AppointmentStatus.BOOKED,
        start__lt=dt.datetime.combine(day + dt.timedelta(days=1), dt.time.min, tzinfo=tz),
        end__gt=dt.datetime.combine(day, dt.time.min, tzinfo=tz),
    ).exclude(precision="day").exclude(order__state__in=TERMINAL_STATES).exclude(
        order=exclude_order)] if technician is not None else []
    slots = []
    for begin, finish in HALF_DAYS.values():
        start = dt.datetime.combine(day, begin, tzinfo=tz)
        last = dt.datetime.combine(day, finish, tzinfo=tz) - length
        while start <= last:
            end = start + length
            if start > now and not any(b < end and start < e for b, e in busy):
                slots.append(start)
            start += SLOT_STEP
    return slots


def clashes(technician: Any, start: dt.datetime, end: dt.datetime, *,
            exclude_order: WorkOrder | None = None) -> list[Appointment]:
    """R10: the technician's other timed bookings that overlap [start, end). Day bookings
    from intake (R3) are not times yet and never clash."""
    qs = Appointment.objects.filter(
        order__technician=technician, status=AppointmentStatus.BOOKED,
        start__lt=end, end__gt=start,
    ).exclude(precision="day").exclude(order__state__in=TERMINAL_STATES)
    if exclude_order is not None:
        qs = qs.exclude(order=exclude_order)
    return list(qs.select_related("order").order_by("start"))


def open_change_requests(order: WorkOrder) -> QuerySet[ChangeRequest]:
    return order.change_requests.filter(status=ChangeRequestStatus.OPEN).order_by(
        "requested_at")


def today_orders(user: Any) -> list[WorkOrder]:
    """The technician's orders still to work on, in appointment order (R41: only their
    own); orders without a timed booking come last, oldest first."""
    booked = Appointment.objects.filter(order=OuterRef("pk"), status=AppointmentStatus.BOOKED)
    qs = (orders_visible_to(user).filter(technician__user=user)
          .exclude(state__in=NOT_ON_TODAY)
          .annotate(visit_start=Subquery(booked.values("start")[:1]),
                    visit_end=Subquery(booked.values("end")[:1]),
                    visit_precision=Subquery(booked.values("precision")[:1]))
          .select_related("area"))
    orders: list[WorkOrder] = list(qs)
    far = dt.datetime.max.replace(tzinfo=dt.UTC)
    orders.sort(key=lambda o: (getattr(o, "visit_start", None) or far, o.created_at, o.pk))
    return orders


@dataclass(frozen=True)
class Clock:
    """The promise that is running on an order, for the Today page."""

    label: str
    due: dt.datetime
    remaining: dt.timedelta
    status: str  # "ok", "at_risk" or "breached"
    rule: str

    @property
    def minutes(self) -> int:
        """Whole minutes left (0 in the last minute)."""
        return max(0, int(self.remaining.total_seconds() // 60))

    @property
    def overdue_minutes(self) -> int:
        return max(0, int(-self.remaining.total_seconds() // 60))


#: At this share of the window used, the promise is at risk (amber); R38's default.
AT_RISK_SHARE = 0.8


def _clock(label: str, rule: str, started: dt.datetime, due: dt.datetime,
           now: dt.datetime) -> Clock:
    window = (due - started).total_seconds() or 1
    used = (now - started).total_seconds() / window
    status = "breached" if now > due else "at_risk" if used >= AT_RISK_SHARE else "ok"
    return Clock(label=label, due=due, remaining=due - now, status=status, rule=rule)


def order_clock(order: WorkOrder, *, now: dt.datetime | None = None) -> Clock | None:
    """The running promise: from the SLA engine's armed timer when it has one, otherwise
    the DOMAIN.md defaults (contact R7, arrival R14, on site for repairs R34)."""
    now = now or clock.now()
    from_sla = _sla_clock(order, now)
    if from_sla is not None:
        return from_sla
    if order.state in (State.DISPATCHED, State.TAKEN) and order.dispatched_at:
        return _clock(_("Contact the customer"), "R7", order.dispatched_at,
                      order.dispatched_at + dt.timedelta(minutes=60), now)
    start = getattr(order, "visit_start", None)
    precision = getattr(order, "visit_precision", None)
    if order.state in (State.SCHEDULED, State.PREPARED, State.EN_ROUTE) and start and \
            precision != "day":
        booked_at = (order.appointments.filter(status=AppointmentStatus.BOOKED)
                     .values_list("booked_at", flat=True).first()) or order.updated_at
        tolerance = dt.timedelta(minutes=settings.APPOINTMENT_LATE_AFTER_MINUTES)
        return _clock(_("Arrive"), "R14", booked_at, start + tolerance, now)
    if order.kind == Kind.REPAIR and order.state in (State.CONTACTED, State.NOBODY_HOME,
                                                     State.AWAITING_REVISIT):
        return _clock(_("On site within 24 h"), "R34", order.created_at,
                      order.created_at + dt.timedelta(hours=24), now)
    return None


def _sla_clock(order: WorkOrder, now: dt.datetime) -> Clock | None:
    """The SLA engine's armed timer with the nearest due time, if that engine is there."""
    timers = getattr(order, "timers", None)
    if timers is None:
        return None
    timer = timers.filter(status="armed", due_at__isnull=False).order_by("due_at").first()
    if timer is None:
        return None
    started = timer.started_at
    status = ("breached" if timer.breached_at or now > timer.due_at
              else "at_risk" if timer.warned_at else "ok")
    result = _clock(timer.get_kind_display(), timer.rule.rule_id or "", started,
                    timer.due_at, now)
    return Clock(label=result.label, due=result.due, remaining=result.remaining,
                 status=status if status != "ok" else result.status, rule=result.rule)
