"""Writes of the dashboards: the per-order facts (``OrderFact``), kept up to date."""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Count, F, OuterRef, Q, Subquery

from appointments import rules as booking_rules
from appointments.models import Appointment
from fieldops import clock
from fieldops.bulk import write_later
from sla.timers import Timer
from workorders.models import WorkOrder, WorkOrderEvent

from . import facts
from .models import (
    BUCKET_SQL,
    COUNTERS,
    MEASURES,
    AreaDailyRollup,
    DailyRollup,
    DurationHistogram,
    OrderFact,
    StaleFact,
    duration_bucket,
)

#: The columns of an order its facts are computed from (``order_fact_values``).
ORDER_COLUMNS = ("pk", "created_at", "area_id", "technician_id", "technician__team_id",
                 "kind", "customer_class", "account_id", "state", "closed_at",
                 "our_missed_appointments")

logger = logging.getLogger(__name__)


def _histories(order_ids: Sequence[int]) -> dict[int, tuple[dict[str, Any], facts.History]]:
    """The orders' rows and histories, four queries for any number of orders."""

    rows = {row["pk"]: row for row in
            WorkOrder.objects.filter(pk__in=order_ids).values(*ORDER_COLUMNS)}
    events: dict[int, list[tuple[str, dt.datetime]]] = {pk: [] for pk in rows}
    for order_id, action, at in (WorkOrderEvent.objects.filter(order_id__in=rows)
                                 .order_by("order_id", "at", "id")
                                 .values_list("order_id", "action", "at")):
        events[order_id].append((action, at))
    timers: dict[int, list[tuple[str, str, dt.datetime | None]]] = {pk: [] for pk in rows}
    exempt: dict[int, int] = dict.fromkeys(rows, 0)
    for order_id, kind, status, breached_at, exempted in (
            Timer.objects.filter(order_id__in=rows).order_by("order_id", "started_at", "id")
            .values_list("order_id", "kind", "status", "breached_at", "exempt_mark")):
        if breached_at is not None and exempted is not None:
            exempt[order_id] += 1  # R50: left out of the figures, counted apart
        else:
            timers[order_id].append((kind, status, breached_at))
    arrivals: dict[int, list[tuple[dt.datetime, bool | None]]] = {pk: [] for pk in rows}
    # R14, R11: lateness is read from the booking and the arrival time with the deadline
    # the arrival timer uses (``appointments.rules``), not from the flag stored at check-in.
    for order_id, arrived, start, end, precision in (
            Appointment.objects.filter(order_id__in=rows, arrived_at__isnull=False)
            .order_by("order_id", "booked_at", "id")
            .values_list("order_id", "arrived_at", "start", "end", "precision")):
        if arrived is not None:
            arrivals[order_id].append((arrived, booking_rules.arrival(
                start=start, end=end, precision=precision, at=arrived).late))
    return {pk: (row, facts.History(created_at=row["created_at"], events=events[pk],
                                    timers=timers[pk], arrivals=arrivals[pk],
                                    exempt_breaches=exempt[pk]))
            for pk, row in rows.items()}


def order_fact_values(order: dict[str, Any], history: facts.History) -> dict[str, Any]:
    """Every field of the order's ``OrderFact`` except ``next_visit_at``, from the order's
    ``ORDER_COLUMNS`` and its history."""
    return {
        **facts.compute(history),
        "area_id": order["area_id"],
        "team_id": order["technician__team_id"],
        "technician_id": order["technician_id"],
        "kind": order["kind"],
        "customer_class": order["customer_class"],
        "account_id": order["account_id"],
        "state": order["state"],
        "closed_at": order["closed_at"],
        "missed_by_us": order["our_missed_appointments"],
        "updated_at": clock.now(),
    }


def first_fix_days() -> int:

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
        "exempt_breaches": values["exempt_breaches"],
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

    table = (DailyRollup if grain == "technician" else AreaDailyRollup)._meta.db_table
    keys = ROLLUP_KEYS[grain]
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {table} ({', '.join((*keys, *COUNTERS))}) "
            f"VALUES ({', '.join(['%s'] * (len(keys) + len(COUNTERS)))}) "
            f"ON CONFLICT ({', '.join(keys)}) DO UPDATE SET "
            + ", ".join(f"{c} = {table}.{c} + excluded.{c}" for c in COUNTERS),
            [*key, *(delta[c] for c in COUNTERS)])


def _bump_minutes(day: Any, measure: str, minutes: int, delta: int) -> None:

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


#: Per rollup row (grain, key): the counters to add.
RollupDeltas = dict[tuple[str, tuple[Any, ...]], dict[str, int]]
#: Per histogram row (day, measure, minutes): the orders to add.
HistogramDeltas = dict[tuple[Any, str, int], int]


def _count(rollups: RollupDeltas, key: tuple[Any, ...], values: dict[str, int],
           sign: int) -> None:
    for grain, row_key in (("technician", key), ("area", _area_key(key))):
        row = rollups.setdefault((grain, row_key), dict.fromkeys(COUNTERS, 0))
        for counter in COUNTERS:
            row[counter] += sign * values[counter]


def _move(old: dict[str, Any] | None, new: dict[str, Any], rollups: RollupDeltas,
          histogram: HistogramDeltas) -> None:
    """What replacing the order's facts ``old`` (None: it had none) by ``new`` does to the
    rollups and the histogram: its counters leave its old rows and join its new ones."""
    if old is not None:
        _count(rollups, _key(old), counters(old), -1)
    _count(rollups, _key(new), counters(new), 1)
    for measure, column in MEASURES:
        was, now = _minutes(old, column), _minutes(new, column)
        if was != now:
            if was is not None:
                histogram[(was[0], measure, was[1])] = \
                    histogram.get((was[0], measure, was[1]), 0) - 1
            if now is not None:
                histogram[(now[0], measure, now[1])] = \
                    histogram.get((now[0], measure, now[1]), 0) + 1


def _write(rows: dict[int, dict[str, Any]], rollups: RollupDeltas,
           histogram: HistogramDeltas) -> None:
    """Write the facts ``rows`` (one statement) and add the summed deltas, one statement per
    rollup or histogram row that changes. Shared rows are always changed in key order, so
    two transactions moving orders between the same rows wait for each other instead of
    deadlocking."""
    if rows:
        OrderFact.objects.bulk_create(
            [OrderFact(order_id=order_id, **values) for order_id, values in rows.items()],
            update_conflicts=True, unique_fields=["order"], update_fields=_fact_fields())
    for (day, measure, minutes), orders in sorted(histogram.items()):
        if orders:
            _bump_minutes(day, measure, minutes, orders)
    for (grain, key), counts in sorted(rollups.items(),
                                       key=lambda item: (item[0][0], repr(item[0][1]))):
        _upsert(grain, key, counts)


_FACT_FIELDS: list[str] = []


def _fact_fields() -> list[str]:
    """Every column of ``OrderFact`` but its key."""
    if not _FACT_FIELDS:
        _FACT_FIELDS.extend(f.attname for f in OrderFact._meta.concrete_fields
                            if f.attname != "order_id")
    return _FACT_FIELDS


def _currents(order_ids: Iterable[int]) -> dict[int, dict[str, Any]]:
    return {row.pop("order_id"): row for row in
            OrderFact.objects.filter(order_id__in=list(order_ids))
            .values("order_id", *_fact_fields())}


def order_facts_refresh(order_ids: Iterable[int]) -> int:
    """Recompute the facts of these orders from their histories (R39) and move their
    counters in the rollups and the histogram, in one batch: a handful of reads for all
    of them, one write of the facts that changed, one write per rollup row they move.
    Returns how many orders' facts changed.

    First-time fix: when an order's first visit happens, it is the repeat visit of every
    earlier order on the same account completed before it (their ``next_visit_at``)."""
    loaded = _histories(sorted(set(order_ids)))
    olds = _currents(loaded)
    rows: dict[int, dict[str, Any]] = {}
    rollups: RollupDeltas = {}
    histogram: HistogramDeltas = {}
    first_visits: list[tuple[int, int, dt.datetime]] = []
    for order_id, (order, history) in loaded.items():
        old = olds.get(order_id)
        new = order_fact_values(order, history)
        account = order["account_id"]
        new["next_visit_at"] = old["next_visit_at"] if old else None
        if account is not None and new["completed_at"] is not None \
                and new["next_visit_at"] is None:
            new["next_visit_at"] = (
                OrderFact.objects.filter(account_id=account,
                                         on_site_at__gt=new["completed_at"])
                .exclude(order_id=order_id).order_by("on_site_at")
                .values_list("on_site_at", flat=True).first())
        new["first_fix"] = is_first_fix(new)
        if old is None or any(old.get(name) != value for name, value in new.items()
                              if name != "updated_at"):
            # Most events that change nothing the figures count (a follow-up, a note)
            # write nothing here.
            rows[order_id] = new
            _move(old, new, rollups, histogram)
        visit = new["on_site_at"]
        if account is not None and visit is not None \
                and (old is None or old["on_site_at"] is None):
            first_visits.append((order_id, account, visit))
    _write(rows, rollups, histogram)
    for order_id, account, visit in first_visits:
        earlier = _currents(
            OrderFact.objects.filter(account_id=account, completed_at__lt=visit)
            .exclude(order_id=order_id)
            .filter(Q(next_visit_at__isnull=True) | Q(next_visit_at__gt=visit))
            .values_list("order_id", flat=True))
        repeat_rows: dict[int, dict[str, Any]] = {}
        rollups, histogram = {}, {}
        for earlier_id, before in earlier.items():
            after = {**before, "next_visit_at": visit}
            after["first_fix"] = is_first_fix(after)
            repeat_rows[earlier_id] = after
            _move(before, after, rollups, histogram)
        _write(repeat_rows, rollups, histogram)
    return len(rows)


def order_fact_mark_stale(order_id: int) -> None:
    """Mark the order's facts as behind its history; ``order_facts_refresh_stale`` brings
    them up to date. Called by ``dashboards.handlers`` in the transaction of every order
    event (R39).

    A mark that is already there is updated in place rather than skipped, so this
    transaction holds its row until it commits: a refresh running meanwhile skips the
    order (its history is not committed yet) instead of taking the mark away."""

    table = StaleFact._meta.db_table
    # Nobody reads the mark back in its transaction: an API intake writes it with its last
    # statement (``fieldops.bulk.writes_gathered``).
    write_later(
        f"INSERT INTO {table} (order_id, marked_at) VALUES (%s, %s) "
        f"ON CONFLICT (order_id) DO UPDATE SET marked_at = {table}.marked_at",
        [order_id, connection.ops.adapt_datetimefield_value(clock.now())])


#: The PostgreSQL advisory lock that lets one refresh of the stale facts run at a time.
REFRESH_LOCK = 0x66647366  # "fdsf"


def _refresh_lock() -> bool:

    if connection.vendor != "postgresql":
        return True  # SQLite runs one writer at a time anyway
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_try_advisory_xact_lock(%s)", [REFRESH_LOCK])
        return bool(cursor.fetchone()[0])


def order_facts_refresh_stale(*, chunk: int = 500, limit: int = 20_000) -> int:
    """Refresh the facts of the marked orders, oldest mark first, ``chunk`` orders per
    transaction and at most ``limit`` in all; returns how many orders were refreshed.

    One refresh runs at a time (a second one finds the advisory lock taken and returns 0).
    Marks held by an event that has not committed yet are skipped: the event's history
    is not visible, and it is refreshed on the next run. An order whose facts cannot be
    computed does not hold up the others: it is logged and marked again, behind the rest.
    Safe to run twice."""
    done = taken = 0
    while taken < limit and StaleFact.objects.exists():
        with transaction.atomic():
            if not _refresh_lock():
                break
            marks = list(StaleFact.objects.select_for_update(skip_locked=True)
                         .order_by("marked_at", "order_id")
                         .values_list("order_id", flat=True)[:chunk])
            if not marks:
                break
            order_ids = _lock_orders(marks)
            StaleFact.objects.filter(order_id__in=order_ids).delete()
            try:
                with transaction.atomic():
                    order_facts_refresh(order_ids)
                refreshed = len(order_ids)
            except Exception:
                refreshed = _refresh_one_at_a_time(order_ids)
        taken += len(marks)
        done += refreshed
        if len(marks) < chunk:
            break
    return done


def _lock_orders(order_ids: list[int]) -> list[int]:
    """The marked orders the refresh may take now, ``FOR KEY SHARE SKIP LOCKED`` in id
    order: what the facts' writes take on an order anyway (they reference it), taken up
    front in the global order and without waiting. ``FOR KEY SHARE`` does not conflict
    with an order event's ``FOR NO KEY UPDATE`` (``workorders.lifecycle.lock_order``), so
    a bulk dispatch and the refresh never wait for each other in a circle; an order
    locked harder (``FOR UPDATE``) is skipped and keeps its mark for the next run."""
    if connection.vendor != "postgresql":
        return order_ids  # SQLite runs one writer at a time anyway
    table = connection.ops.quote_name(WorkOrder._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT id FROM {table} WHERE id = ANY(%s) ORDER BY id "
                       "FOR KEY SHARE SKIP LOCKED", [list(order_ids)])
        return [row[0] for row in cursor.fetchall()]


def _refresh_one_at_a_time(order_ids: list[int]) -> int:
    """The batch failed: refresh its orders one by one, and mark the ones that fail again
    (at the back of the queue) with the error in the log. Returns how many succeeded."""
    failed = []
    for order_id in order_ids:
        try:
            with transaction.atomic():
                order_facts_refresh([order_id])
        except Exception:
            logger.exception("The dashboard facts of order %s could not be refreshed",
                             order_id)
            failed.append(order_id)
    for order_id in failed:
        order_fact_mark_stale(order_id)
    return len(order_ids) - len(failed)


def order_facts_catch_up_breaches(*, within: dt.timedelta = dt.timedelta(days=1),
                                  limit: int = 500) -> int:
    """R38/R39: the SLA sweep records a breach on the timer, which is not an order event,
    so the order's facts would count it only with its next event. Mark the orders whose
    breached timers (due within ``within``) outnumber the breaches their facts count, at
    most ``limit``, for the next refresh. Returns how many; safe to run twice."""

    since = clock.now() - within
    recent = Timer.objects.filter(breached_at__gte=since).values("order_id")
    breached = (Timer.objects.filter(order_id=OuterRef("order_id"), breached_at__isnull=False)
                .order_by().values("order_id").annotate(n=Count("pk")).values("n")[:1])
    behind = list(OrderFact.objects.filter(order_id__in=recent)
                  .annotate(breached=Subquery(breached))
                  .filter(breached__gt=F("breaches") + F("exempt_breaches"))
                  .order_by("order_id").values_list("order_id", flat=True)[:limit])
    with transaction.atomic():
        for order_id in behind:
            order_fact_mark_stale(order_id)
    return len(behind)


def order_facts_rebuild(*, order_ids: Iterable[int] | None = None, chunk: int = 2000,
                        progress: Callable[[int], None] | None = None) -> int:
    """Recompute the facts of the given orders (all when None) from their history, in
    chunks, one transaction each; then the repeat visits across orders. Returns the count.
    Safe to run twice."""

    query = WorkOrder.objects.order_by("pk").values_list("pk", flat=True)
    if order_ids is not None:
        query = query.filter(pk__in=list(order_ids))
    done = 0
    last = 0
    while True:
        batch = list(query.filter(pk__gt=last)[:chunk])
        if not batch:
            break
        with transaction.atomic():
            rows = [OrderFact(order_id=order_id, **order_fact_values(order, history))
                    for order_id, (order, history) in _histories(batch).items()]
            if rows:
                OrderFact.objects.bulk_create(
                    rows, update_conflicts=True, unique_fields=["order"],
                    update_fields=[name for name in _fact_fields()
                                   if name not in ("next_visit_at", "first_fix")])
        done += len(batch)
        last = batch[-1]
        if progress is not None:
            progress(done)
    link_repeat_visits()
    return done


def link_repeat_visits() -> None:
    """Set every fact's ``next_visit_at`` in one statement: the first visit of another
    order on the same account after this order was completed."""

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
        "exempt_breaches": "SUM(exempt_breaches)",
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

