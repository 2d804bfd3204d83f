"""Writes of the dashboards: the per-order facts (``OrderFact``), kept up to date."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from django.db import transaction
from django.db.models import Q

from fieldops import clock

from . import facts
from .models import OrderFact


def _history(order: Any) -> facts.History:
    from appointments.models import Appointment
    from sla.timers import Timer
    from workorders.models import WorkOrderEvent

    events = list(WorkOrderEvent.objects.filter(order_id=order.pk).order_by("at", "id")
                  .values_list("action", "at"))
    timers = list(Timer.objects.filter(order_id=order.pk)
                  .values_list("kind", "status", "breached_at"))
    arrivals = [(at, late) for at, late in Appointment.objects.filter(
        order_id=order.pk, arrived_at__isnull=False).values_list("arrived_at", "late")
        if at is not None]
    return facts.History(created_at=order.created_at, events=events, timers=timers,
                         arrivals=arrivals)


def order_fact_values(order: Any, history: facts.History) -> dict[str, Any]:
    """Every field of the order's ``OrderFact`` except ``next_visit_at``."""
    technician = order.technician
    return {
        **facts.compute(history),
        "area_id": order.area_id,
        "team_id": technician.team_id if technician is not None else None,
        "technician_id": order.technician_id,
        "kind": order.kind,
        "customer_class": order.customer_class,
        "account_id": order.account_id,
        "state": order.state,
        "closed_at": order.closed_at,
        "missed_by_us": order.our_missed_appointments,
        "updated_at": clock.now(),
    }


def order_fact_refresh(*, order: Any) -> OrderFact:
    """Recompute the order's facts from its history (R39). Called by
    ``workorders.services.record_event`` inside the transaction of every change, after the
    event row and the SLA timers are written, so the figures move with the order.

    First-time fix: when the order's first visit happens, it is the repeat visit of every
    earlier order on the same account completed before it (their ``next_visit_at``)."""
    values = order_fact_values(order, _history(order))
    fact, _created = OrderFact.objects.update_or_create(order_id=order.pk, defaults=values)
    if order.account_id is not None:
        if values["completed_at"] is not None and fact.next_visit_at is None:
            later = (OrderFact.objects.filter(account_id=order.account_id,
                                              on_site_at__gt=values["completed_at"])
                     .exclude(order_id=order.pk).order_by("on_site_at")
                     .values_list("on_site_at", flat=True).first())
            if later is not None:
                fact.next_visit_at = later
                fact.save(update_fields=["next_visit_at"])
        visit = values["on_site_at"]
        if visit is not None:
            (OrderFact.objects.filter(account_id=order.account_id, completed_at__lt=visit)
             .exclude(order_id=order.pk)
             .filter(Q(next_visit_at__isnull=True) | Q(next_visit_at__gt=visit))
             .update(next_visit_at=visit))
    return fact


def order_facts_rebuild(*, order_ids: Iterable[int] | None = None, chunk: int = 2000,
                        progress: Callable[[int], None] | None = None) -> int:
    """Recompute the facts of the given orders (all when None) from their history, in
    chunks, one transaction each; then the repeat visits across orders. Returns the count.
    Safe to run twice."""
    from workorders.models import WorkOrder

    query = WorkOrder.objects.select_related("technician").order_by("pk")
    if order_ids is not None:
        query = query.filter(pk__in=list(order_ids))
    done = 0
    last = 0
    while True:
        batch = list(query.filter(pk__gt=last)[:chunk])
        if not batch:
            break
        with transaction.atomic():
            for order in batch:
                values = order_fact_values(order, _history(order))
                OrderFact.objects.update_or_create(order_id=order.pk, defaults=values)
        done += len(batch)
        last = batch[-1].pk
        if progress is not None:
            progress(done)
    link_repeat_visits()
    return done


def link_repeat_visits() -> None:
    """Set every fact's ``next_visit_at`` in one statement: the first visit of another
    order on the same account after this order was completed."""
    from django.db import connection

    table = OrderFact._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(f"""
            UPDATE {table} AS f SET next_visit_at = (
                SELECT MIN(o.on_site_at) FROM {table} AS o
                WHERE o.account_id = f.account_id AND o.order_id <> f.order_id
                  AND o.on_site_at > f.completed_at)
            WHERE f.completed_at IS NOT NULL AND f.account_id IS NOT NULL""")

