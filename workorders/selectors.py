"""Reads: who may see which orders, which technician fits an order, what a user may do."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from django.db.models import Count, F, IntegerField, OuterRef, QuerySet, Subquery
from django.db.models.functions import Coalesce
from django.utils import timezone

from fieldops import clock
from technicians.models import Technician

from .access import order_visibility
from .models import TECHNICIAN_LOAD_STATES, WorkOrder


def orders_visible_to(user: Any, qs: QuerySet[WorkOrder] | None = None) -> QuerySet[WorkOrder]:
    """R41: a technician sees only orders assigned to them; office roles see all."""
    qs = WorkOrder.objects.all() if qs is None else qs
    scope, technician_id = order_visibility(user)
    if scope == "all":
        return qs
    if scope == "own" and technician_id is not None:
        return qs.filter(technician_id=technician_id)
    return qs.none()


def technicians_with_load(qs: QuerySet[Technician] | None = None) -> QuerySet[Technician]:
    """Technicians annotated with ``load`` (open orders they hold) and ``today`` (dispatched
    to them today), the two figures auto-dispatch ranks by (R4)."""
    qs = Technician.objects.all() if qs is None else qs
    start_of_day = timezone.localtime(clock.now()).replace(hour=0, minute=0, second=0,
                                                           microsecond=0)
    # Counted per technician in subqueries (the index on technician and state), not by
    # joining every order each technician ever held and grouping the technicians' rows.
    return qs.annotate(
        load=_count_of(WorkOrder.objects.filter(technician=OuterRef("pk"),
                                                state__in=TECHNICIAN_LOAD_STATES)),
        today=_count_of(WorkOrder.objects.filter(technician=OuterRef("pk"),
                                                 dispatched_at__gte=start_of_day)),
    )


def _count_of(orders: QuerySet[WorkOrder]) -> Coalesce:
    counted = orders.order_by().values("technician").annotate(n=Count("pk")).values("n")
    return Coalesce(Subquery(counted, output_field=IntegerField()), 0)


def dispatch_candidates(order: WorkOrder, *,
                        exclude: Iterable[int] = ()) -> QuerySet[Technician]:
    """R4: on duty, serving the order's area, able to do its kind and service on its access
    type, below daily capacity; least loaded first (then fewest dispatched today, then id)."""
    qs = (
        Technician.objects.filter(is_active=True, user__is_active=True, areas=order.area)
        .filter(skills__code=order.kind)
        .filter(skills__code=order.service)
        .filter(access_types__code=order.access_type)
        .exclude(pk__in=list(exclude))
    )
    # The skill joins above multiply rows; rank over distinct ids.
    ids = qs.values("pk").distinct()
    return (
        technicians_with_load(Technician.objects.filter(pk__in=ids))
        .filter(load__lt=F("daily_capacity"))  # type: ignore[misc]  # annotated above
        .order_by("load", "today", "pk")
    )


TechnicianPicker = Callable[..., Technician | None]
_picker: TechnicianPicker | None = None


def register_technician_picker(picker: TechnicianPicker | None) -> None:
    """Let a higher layer choose for auto-dispatch (R4): ``picker(order, exclude=ids)``
    returns a technician or None. The planning app registers its ranking here, so the
    lifecycle never imports it; None restores the plain picker below."""
    global _picker
    _picker = picker


def registered_technician_picker() -> TechnicianPicker | None:
    return _picker


def pick_technician(order: WorkOrder, *, exclude: Iterable[int] = ()) -> Technician | None:
    """R4 auto-dispatch: the registered picker's choice, else the least loaded candidate."""
    if _picker is not None:
        return _picker(order, exclude=exclude)
    return dispatch_candidates(order, exclude=exclude).select_related("user").first()


def allowed_actions(order: WorkOrder, user: Any) -> list[str]:
    """Transition names this user may fire on this order now (for buttons and the API)."""
    return [t.name for t in order.get_available_user_state_transitions(user)]  # type: ignore[attr-defined]


def previous_technician_ids(order: WorkOrder) -> list[int]:
    return list(order.assignments.values_list("technician_id", flat=True).distinct())
