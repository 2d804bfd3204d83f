"""The dispatcher's queue: open orders by the next promise to fall due (R38).

Each open order's next promise is its running SLA timer with the earliest due time, across
every kind the engine keeps (contact R7/R7a, visit R34/R35, arrival R14, rework contact
R31). Orders come earliest-due first; at equal due time (or none), VIP customers first,
then the oldest order. A fixed number of queries per page: the timer, the booked window
and the area are read beside the order, the page's technicians in one more, never per row.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from django.db.models import Case, Exists, F, IntegerField, OuterRef, QuerySet, Subquery, When
from django.utils.translation import gettext as _

from appointments.models import Appointment, AppointmentStatus, Precision
from fieldops.durations import time_left_in_words
from sla.timers import Timer, TimerKind, TimerStatus
from technicians.models import Area, Technician
from workorders.models import OPEN_STATES, TERMINAL_STATES, CustomerClass, Kind, State, WorkOrder

PAGE_SIZE = 50

#: Row colours: the next promise is kept so far, past its warning step, or broken.
ON_TRACK, AT_RISK, BREACHED = "on_track", "at_risk", "breached"


@dataclass(frozen=True)
class QueueFilters:
    area: Area | None = None
    kind: str = ""
    state: str = ""
    technician: Technician | None = None
    unassigned: bool = False
    at_risk: bool = False
    breached: bool = False


@dataclass(frozen=True)
class QueueRow:
    order: WorkOrder
    promise: str  # what is due ("Contact the customer"), or "" when nothing runs
    due: dt.datetime | None
    left: str  # "12 min", "2 h 10 min", "overdue 35 min", or ""
    status: str  # ON_TRACK, AT_RISK or BREACHED; "" when nothing runs
    broken_before: bool  # a promise of this order was broken earlier (R38: it stays)
    window: tuple[dt.datetime, dt.datetime] | None
    whole_day: bool  # the window is a day agreed at intake (R3), not hours

    @property
    def status_label(self) -> str:
        """The status in words beside its colour (colour is never the only sign)."""
        return {ON_TRACK: _("On track"), AT_RISK: _("At risk"),
                BREACHED: _("Breached")}.get(self.status, "")


def _next_timer() -> QuerySet[Timer]:
    # Read through the partial index ``timer_running`` (an order's running timers by due
    # time): the queue sorts every open order by it, so it is one index probe per order.
    return (Timer.objects.filter(order=OuterRef("pk"), status=TimerStatus.ARMED,
                                 due_at__isnull=False)
            .order_by("due_at", "id"))


def _booked() -> QuerySet[Appointment]:
    return (Appointment.objects.filter(order=OuterRef("pk"), status=AppointmentStatus.BOOKED)
            .order_by("-booked_at", "-id"))


def open_orders(filters: QueueFilters) -> QuerySet[WorkOrder]:
    """The queue's orders, in its order, with what each row shows annotated."""
    timer = _next_timer()
    booked = _booked()
    orders = (WorkOrder.objects.filter(state__in=OPEN_STATES)
              # The technician and their user are fetched for the page's rows only (two
              # small queries): joined here, their wide rows would be carried through the
              # sort of every open order.
              .select_related("area").prefetch_related("technician__user")
              .annotate(
                  next_due=Subquery(timer.values("due_at")[:1]),
                  next_kind=Subquery(timer.values("kind")[:1]),
                  next_warned=Subquery(timer.values("warned_at")[:1]),
                  # Any broken promise (R38): a first match, not ``Exists``, so that the
                  # database looks it up for the page's rows only instead of reading every
                  # breached timer there is (a hashed subplan).
                  broken=Subquery(Timer.objects.filter(order=OuterRef("pk"),
                                                       breached_at__isnull=False)
                                  .values("pk")[:1]),
                  window_start=Subquery(booked.values("start")[:1]),
                  window_end=Subquery(booked.values("end")[:1]),
                  window_precision=Subquery(booked.values("precision")[:1]),
                  vip_first=Case(When(customer_class=CustomerClass.VIP, then=0), default=1,
                                 output_field=IntegerField()),
              ))
    if filters.area is not None:
        orders = orders.filter(area=filters.area)
    if filters.kind:
        orders = orders.filter(kind=filters.kind)
    if filters.state:
        orders = orders.filter(state=filters.state)
    if filters.technician is not None:
        orders = orders.filter(technician=filters.technician)
    if filters.unassigned:
        orders = orders.filter(technician__isnull=True)
    if filters.at_risk:
        # A running promise past its warning step, not yet broken (as the API's sla_status).
        orders = orders.filter(Exists(Timer.objects.filter(
            order=OuterRef("pk"), status__in=[TimerStatus.ARMED, TimerStatus.PAUSED],
            warned_at__isnull=False, breached_at__isnull=True)))
    if filters.breached:
        orders = orders.filter(Exists(Timer.objects.filter(order=OuterRef("pk"),
                                                           breached_at__isnull=False)))
    return orders.order_by(F("next_due").asc(nulls_last=True), "vip_first", "created_at", "pk")


def row(order: Any, now: dt.datetime) -> QueueRow:
    due = order.next_due
    if due is None:
        promise, left, status = "", "", ""
    else:
        promise = str(TimerKind(order.next_kind).label)
        seconds = (due - now).total_seconds()
        left = time_left_in_words(seconds)
        status = BREACHED if seconds < 0 else AT_RISK if order.next_warned else ON_TRACK
    window = ((order.window_start, order.window_end)
              if order.window_start is not None and order.window_end is not None else None)
    return QueueRow(order=order, promise=promise, due=due, left=left, status=status,
                    broken_before=order.broken is not None, window=window,
                    whole_day=order.window_precision == Precision.DAY)


STATE_CHOICES = [(s.value, s.label) for s in State if s not in TERMINAL_STATES]
KIND_CHOICES = list(Kind.choices)
