"""Writes of the dashboards: the per-order facts (``OrderFact``), kept up to date."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable
from typing import Any

from django.db import transaction
from django.db.models import Count, F, OuterRef, Q, Subquery

from fieldops import clock

from . import facts
from .models import (
    BUCKET_SQL,
    COUNTERS,
    MEASURES,
    AreaDailyRollup,
    DailyRollup,
    DurationHistogram,
    OrderFact,
    duration_bucket,
)


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


def first_fix_days() -> int:
    from django.conf import settings

    return int(settings.DASHBOARD_FIRST_FIX_DAYS)


def is_first_fix(values: dict[str, Any]) -> bool:
    """Completed in one visit, without rework, and no later order visited the account
    within ``DASHBOARD_FIRST_FIX_DAYS`` days of the completion (so far)."""
    completed, later = values["completed_at"], values.get("next_visit_at")
    return bool(completed is not None and values["visits"] <= 1
                and values["rework_rounds"] == 0
                and (later is None or later > completed + dt.timedelta(days=first_fix_days())))


def counters(values: dict[str, Any] | None) -> dict[str, int]:
    """What one order adds to its ``DailyRollup`` row (nothing for None)."""
    if values is None:
        return dict.fromkeys(COUNTERS, 0)
    return {
        "orders": 1,
        "contact_met": int(values["contact_outcome"] == "met"),
        "contact_breached": int(values["contact_outcome"] == "breached"),
        "visit_met": int(values["visit_outcome"] == "met"),
        "visit_breached": int(values["visit_outcome"] == "breached"),
        "arrivals": values["arrivals"],
        "late_arrivals": values["late_arrivals"],
        "missed": values["missed_by_us"],
        "completed": int(values["completed_at"] is not None),
        "first_fix": int(bool(values["first_fix"])),
        "remote": int(bool(values["remote"])),
        "survey_answers": values["survey_answers"],
        "satisfied_answers": values["satisfied_answers"],
        "surveyed": int(values["survey_answers"] > 0),
        "reworked": int(values["rework_rounds"] > 0),
        "rework_rounds": values["rework_rounds"],
        "abnormal": int(bool(values["abnormal"])),
        "breaches": values["breaches"],
    }


def _key(values: dict[str, Any]) -> tuple[Any, ...]:
    return (values["day"], values["area_id"], values["team_id"] or 0,
            values["technician_id"] or 0, values["kind"], values["customer_class"])


#: The two rollups and their keys: per technician, and per area.
ROLLUP_KEYS = {
    "technician": ("day", "area_id", "team_id", "technician_id", "kind", "customer_class"),
    "area": ("day", "area_id", "kind", "customer_class"),
}


def _area_key(key: tuple[Any, ...]) -> tuple[Any, ...]:
    day, area, _team, _technician, kind, klass = key
    return (day, area, kind, klass)


def _upsert(grain: str, key: tuple[Any, ...], delta: dict[str, int]) -> None:
    """Add ``delta`` to the row of ``key`` in one rollup (created when missing)."""
    if not any(delta.values()):
        return
    from django.db import connection

    table = (DailyRollup if grain == "technician" else AreaDailyRollup)._meta.db_table
    keys = ROLLUP_KEYS[grain]
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {table} ({', '.join((*keys, *COUNTERS))}) "
            f"VALUES ({', '.join(['%s'] * (len(keys) + len(COUNTERS)))}) "
            f"ON CONFLICT ({', '.join(keys)}) DO UPDATE SET "
            + ", ".join(f"{c} = {table}.{c} + excluded.{c}" for c in COUNTERS),
            [*key, *(delta[c] for c in COUNTERS)])


def _add(key: tuple[Any, ...], delta: dict[str, int]) -> None:
    """Add ``delta`` to the technician rollup's row of ``key`` and to its area row."""
    _upsert("area", _area_key(key), delta)
    _upsert("technician", key, delta)


def _bump_minutes(day: Any, measure: str, minutes: int, delta: int) -> None:
    from django.db import connection

    table = DurationHistogram._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {table} (day, measure, minutes, orders) VALUES (%s, %s, %s, %s) "
            f"ON CONFLICT (day, measure, minutes) DO UPDATE SET "
            f"orders = {table}.orders + excluded.orders", [day, measure, minutes, delta])


def _minutes(values: dict[str, Any] | None, column: str) -> tuple[Any, int] | None:
    if values is None or values[column] is None:
        return None
    return values["day"], duration_bucket(values[column])


def _save(order_id: int, old: dict[str, Any] | None, new: dict[str, Any]) -> None:
    """Write the order's facts, move its counters from its old rollup rows to its new ones
    (the same rows, most of the time: one statement per rollup) and its durations in the
    histogram.
    Shared rows are always changed in key order, so two transactions moving orders
    between the same rows wait for each other instead of deadlocking."""
    OrderFact.objects.update_or_create(order_id=order_id, defaults=new)
    bumps: list[tuple[Any, str, int, int]] = []
    for measure, column in MEASURES:
        was, now = _minutes(old, column), _minutes(new, column)
        if was != now:
            if was is not None:
                bumps.append((was[0], measure, was[1], -1))
            if now is not None:
                bumps.append((now[0], measure, now[1], 1))
    for day, measure, minutes, step in sorted(bumps):
        _bump_minutes(day, measure, minutes, step)
    before, after = counters(old), counters(new)
    if old is not None and _key(old) == _key(new):
        _add(_key(new), {c: after[c] - before[c] for c in COUNTERS})
        return
    if old is not None and _area_key(_key(old)) == _area_key(_key(new)):
        # Another technician in the same area: the area row changes by the difference.
        _upsert("area", _area_key(_key(new)), {c: after[c] - before[c] for c in COUNTERS})
        for key, delta in sorted([(_key(new), after),
                                  (_key(old), {c: -before[c] for c in COUNTERS})],
                                 key=lambda move: repr(move[0])):
            _upsert("technician", key, delta)
        return
    moves = [(_key(new), after)]
    if old is not None:
        moves.append((_key(old), {c: -before[c] for c in COUNTERS}))
    for key, delta in sorted(moves, key=lambda move: repr(move[0])):
        _add(key, delta)


_FACT_FIELDS: list[str] = []


def _current(order_id: int) -> dict[str, Any] | None:
    if not _FACT_FIELDS:
        _FACT_FIELDS.extend(f.attname for f in OrderFact._meta.concrete_fields
                            if f.attname != "order_id")
    return OrderFact.objects.filter(order_id=order_id).values(*_FACT_FIELDS).first()


def order_fact_refresh(*, order: Any) -> None:
    """Recompute the order's facts from its history (R39) and move its counters in the
    daily rollup. Called by ``workorders.services.record_event`` inside the transaction of
    every change, after the event row and the SLA timers are written, so the figures move
    with the order.

    First-time fix: when the order's first visit happens, it is the repeat visit of every
    earlier order on the same account completed before it (their ``next_visit_at``)."""
    old = _current(order.pk)
    new = order_fact_values(order, _history(order))
    new["next_visit_at"] = old["next_visit_at"] if old else None
    if order.account_id is not None and new["completed_at"] is not None \
            and new["next_visit_at"] is None:
        new["next_visit_at"] = (
            OrderFact.objects.filter(account_id=order.account_id,
                                     on_site_at__gt=new["completed_at"])
            .exclude(order_id=order.pk).order_by("on_site_at")
            .values_list("on_site_at", flat=True).first())
    new["first_fix"] = is_first_fix(new)
    if old is None or any(old.get(name) != value for name, value in new.items()
                          if name != "updated_at"):
        # Most events that change nothing the figures count (a follow-up, a note) write
        # nothing here.
        _save(order.pk, old, new)
    visit = new["on_site_at"]
    if order.account_id is not None and visit is not None \
            and (old is None or old["on_site_at"] is None):
        earlier = (OrderFact.objects.filter(account_id=order.account_id, completed_at__lt=visit)
                   .exclude(order_id=order.pk)
                   .filter(Q(next_visit_at__isnull=True) | Q(next_visit_at__gt=visit))
                   .values_list("order_id", flat=True))
        for order_id in list(earlier):
            before = _current(order_id)
            assert before is not None
            after = {**before, "next_visit_at": visit}
            after["first_fix"] = is_first_fix(after)
            _save(order_id, before, after)


def order_facts_catch_up_breaches(*, within: dt.timedelta = dt.timedelta(days=1),
                                  limit: int = 500) -> int:
    """R38/R39: the SLA sweep records a breach on the timer, which is not an order event,
    so the order's facts would count it only with its next event. Refresh the facts of the
    orders whose breached timers (due within ``within``) outnumber the breaches their
    facts count, at most ``limit`` orders, each in its own transaction under the order's
    row lock (as an event would). Returns how many were refreshed; safe to run twice."""
    from sla.timers import Timer
    from workorders.models import WorkOrder

    since = clock.now() - within
    recent = Timer.objects.filter(breached_at__gte=since).values("order_id")
    breached = (Timer.objects.filter(order_id=OuterRef("order_id"), breached_at__isnull=False)
                .order_by().values("order_id").annotate(n=Count("pk")).values("n")[:1])
    behind = list(OrderFact.objects.filter(order_id__in=recent)
                  .annotate(breached=Subquery(breached))
                  .filter(breached__gt=F("breaches"))
                  .order_by("order_id").values_list("order_id", flat=True)[:limit])
    for order_id in behind:
        with transaction.atomic():
            order = (WorkOrder.objects.select_for_update(of=("self",))
                     .select_related("technician").filter(pk=order_id).first())
            if order is not None:
                order_fact_refresh(order=order)
    return len(behind)


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
    distinct = "IS DISTINCT FROM" if connection.vendor == "postgresql" else "IS NOT"
    with connection.cursor() as cursor:
        cursor.execute(f"""
            UPDATE {table} AS f SET next_visit_at = (
                SELECT MIN(o.on_site_at) FROM {table} AS o
                WHERE o.account_id = f.account_id AND o.order_id <> f.order_id
                  AND o.on_site_at > f.completed_at)
            WHERE f.completed_at IS NOT NULL AND f.account_id IS NOT NULL
              AND f.next_visit_at {distinct} (
                SELECT MIN(o.on_site_at) FROM {table} AS o
                WHERE o.account_id = f.account_id AND o.order_id <> f.order_id
                  AND o.on_site_at > f.completed_at)""")
        days = first_fix_days()
        if connection.vendor == "postgresql":
            window = "f.completed_at + %s * interval '1 day'"
        else:
            window = "datetime(f.completed_at, '+' || %s || ' days')"
        fixed = (f"(f.completed_at IS NOT NULL AND f.visits <= 1 AND f.rework_rounds = 0 "
                 f"AND (f.next_visit_at IS NULL OR f.next_visit_at > {window}))")
        # Only the rows that change: a full-table UPDATE would leave a dead copy of each.
        cursor.execute(f"UPDATE {table} AS f SET first_fix = {fixed} "
                       f"WHERE f.first_fix <> {fixed}", [days, days])
    rollups_rebuild()


def rollups_rebuild() -> None:
    """Recompute every ``DailyRollup`` and ``DurationHistogram`` row from the facts."""
    from django.db import connection

    facts, table = OrderFact._meta.db_table, DailyRollup._meta.db_table
    sums = {
        "orders": "COUNT(*)",
        "contact_met": "SUM(CASE WHEN contact_outcome = 'met' THEN 1 ELSE 0 END)",
        "contact_breached": "SUM(CASE WHEN contact_outcome = 'breached' THEN 1 ELSE 0 END)",
        "visit_met": "SUM(CASE WHEN visit_outcome = 'met' THEN 1 ELSE 0 END)",
        "visit_breached": "SUM(CASE WHEN visit_outcome = 'breached' THEN 1 ELSE 0 END)",
        "arrivals": "SUM(arrivals)",
        "late_arrivals": "SUM(late_arrivals)",
        "missed": "SUM(missed_by_us)",
        "completed": "SUM(CASE WHEN completed_at IS NOT NULL THEN 1 ELSE 0 END)",
        "first_fix": "SUM(CASE WHEN first_fix THEN 1 ELSE 0 END)",
        "remote": "SUM(CASE WHEN remote THEN 1 ELSE 0 END)",
        "survey_answers": "SUM(survey_answers)",
        "satisfied_answers": "SUM(satisfied_answers)",
        "surveyed": "SUM(CASE WHEN survey_answers > 0 THEN 1 ELSE 0 END)",
        "reworked": "SUM(CASE WHEN rework_rounds > 0 THEN 1 ELSE 0 END)",
        "rework_rounds": "SUM(rework_rounds)",
        "abnormal": "SUM(CASE WHEN abnormal THEN 1 ELSE 0 END)",
        "breaches": "SUM(breaches)",
    }
    assert tuple(sums) == COUNTERS
    histogram = DurationHistogram._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(f"DELETE FROM {histogram}")
        for measure, column in MEASURES:
            bucket = BUCKET_SQL.format(column=column)
            cursor.execute(
                f"INSERT INTO {histogram} (day, measure, minutes, orders) "
                f"SELECT day, %s, {bucket}, COUNT(*) FROM {facts} "
                f"WHERE {column} IS NOT NULL GROUP BY day, {bucket}", [measure])
        cursor.execute(f"DELETE FROM {table}")
        cursor.execute(
            f"INSERT INTO {table} (day, area_id, team_id, technician_id, kind, "
            f"customer_class, {', '.join(COUNTERS)}) "
            f"SELECT day, area_id, COALESCE(team_id, 0), COALESCE(technician_id, 0), kind, "
            f"customer_class, {', '.join(sums.values())} FROM {facts} "
            f"GROUP BY day, area_id, COALESCE(team_id, 0), COALESCE(technician_id, 0), kind, "
            f"customer_class")
        areas = AreaDailyRollup._meta.db_table
        cursor.execute(f"DELETE FROM {areas}")
        cursor.execute(
            f"INSERT INTO {areas} (day, area_id, kind, customer_class, {', '.join(COUNTERS)}) "
            f"SELECT day, area_id, kind, customer_class, "
            f"{', '.join(f'SUM({c})' for c in COUNTERS)} FROM {table} "
            f"GROUP BY day, area_id, kind, customer_class")

