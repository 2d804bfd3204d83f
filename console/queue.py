"""The dispatcher's queue: open orders by the next promise to fall due (R38).

Each open order's next promise is its running SLA timer with the earliest due time, across
every kind the engine keeps (contact R7/R7a, visit R34/R35, arrival R14, rework contact
R31). Orders come earliest-due first; at equal due time (or none), VIP customers first,
then the oldest order. A page costs a fixed number of queries whatever the number of open
orders: its ids (``QueueKeys``, which walks the running timers by due time and stops at the
page's end, instead of sorting every open order), then its rows with their timer, booked
window, area and technician.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from django.db.models import Case, Exists, IntegerField, OuterRef, Q, QuerySet, Subquery, When
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


def _running() -> QuerySet[Timer]:
    """Running promises: armed timers with a due time (the partial index ``timer_running``,
    by due time)."""
    return Timer.objects.filter(status=TimerStatus.ARMED, due_at__isnull=False)


def _matching(filters: QueueFilters, *, through: str = "") -> Q:
    """The filters as a condition on the order, or on the row's order ``through`` a
    foreign key (``"order"`` for a timer)."""
    prefix = f"{through}__" if through else ""
    order = through or "pk"  # the outer reference to the order's id

    def on(**lookups: Any) -> Q:
        return Q(**{prefix + name: value for name, value in lookups.items()})

    q = on(state__in=OPEN_STATES)
    if filters.area is not None:
        q &= on(area=filters.area)
    if filters.kind:
        q &= on(kind=filters.kind)
    if filters.state:
        q &= on(state=filters.state)
    if filters.technician is not None:
        q &= on(technician=filters.technician)
    if filters.unassigned:
        q &= on(technician__isnull=True)
    if filters.at_risk:
        # A running promise past its warning step, not yet broken (as the API's sla_status).
        q &= Q(Exists(Timer.objects.filter(
            order=OuterRef(order), status__in=[TimerStatus.ARMED, TimerStatus.PAUSED],
            warned_at__isnull=False, breached_at__isnull=True)))
    if filters.breached:
        q &= Q(Exists(Timer.objects.filter(order=OuterRef(order), breached_at__isnull=False)))
    return q


def _vip_first(prefix: str = "") -> Case:
    return Case(When(**{f"{prefix}customer_class": CustomerClass.VIP}, then=0), default=1,
                output_field=IntegerField())


class QueueKeys:
    """The queue's order ids in its order, as a paginator slices them (``count()`` and
    ``[a:b]``), read without sorting every open order: first the orders with a running
    promise, found by walking the running timers by due time (each order at its earliest
    timer, the rest skipped) and stopping at the page's end; then the orders with none,
    VIP first and oldest first."""

    def __init__(self, filters: QueueFilters) -> None:
        self.filters = filters
        self._with_timer: int | None = None

    def count(self) -> int:
        return WorkOrder.objects.filter(_matching(self.filters)).count()

    def _timed(self) -> QuerySet[Timer]:
        earlier = _running().filter(order=OuterRef("order")).filter(
            Q(due_at__lt=OuterRef("due_at")) | Q(due_at=OuterRef("due_at"), pk__lt=OuterRef("pk")))
        return (_running().filter(_matching(self.filters, through="order"))
                .filter(~Exists(earlier)))

    def with_timer(self) -> int:
        if self._with_timer is None:
            self._with_timer = self._timed().count()
        return self._with_timer

    def __getitem__(self, where: slice) -> list[int]:
        lo, hi = where.start or 0, where.stop
        assert hi is not None and where.step is None, "the queue is read a page at a time"
        ids = list(self._timed()
                   .order_by("due_at", _vip_first("order__"), "order__created_at", "order_id")
                   .values_list("order_id", flat=True)[lo:hi])
        if len(ids) == hi - lo:
            return ids
        # past the last order with a running promise: the others, from where they start
        timed = self.with_timer() if not ids else lo + len(ids)
        rest = (WorkOrder.objects.filter(_matching(self.filters))
                .filter(~Exists(_running().filter(order=OuterRef("pk"))))
                .order_by(_vip_first(), "created_at", "pk").values_list("pk", flat=True))
        return ids + list(rest[max(lo - timed, 0):hi - timed])


def rows_of(ids: list[int]) -> list[WorkOrder]:
    """The orders ``ids``, in that order, with what each row shows annotated: their next
    promise, whether one was broken before, their booked window, area and technician."""
    timer = _running().filter(order=OuterRef("pk")).order_by("due_at", "id")
    booked = (Appointment.objects.filter(order=OuterRef("pk"), status=AppointmentStatus.BOOKED)
              .order_by("-booked_at", "-id"))
    found = (WorkOrder.objects.filter(pk__in=ids)
             .select_related("area", "technician__user")
             .annotate(
                 next_due=Subquery(timer.values("due_at")[:1]),
                 next_kind=Subquery(timer.values("kind")[:1]),
                 next_warned=Subquery(timer.values("warned_at")[:1]),
                 # a first match, not ``Exists``: the database then looks it up for these
                 # rows only, not through every breached timer there is (a hashed subplan)
                 broken=Subquery(Timer.objects.filter(order=OuterRef("pk"),
                                                      breached_at__isnull=False)
                                 .values("pk")[:1]),
                 window_start=Subquery(booked.values("start")[:1]),
                 window_end=Subquery(booked.values("end")[:1]),
                 window_precision=Subquery(booked.values("precision")[:1]),
             ))
    by_id = {order.pk: order for order in found}
    return [by_id[pk] for pk in ids if pk in by_id]


def open_orders(filters: QueueFilters) -> list[WorkOrder]:
    """Every order of the queue, in its order, annotated as its rows show them."""
    keys = QueueKeys(filters)
    return rows_of(keys[0:keys.count()])


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
