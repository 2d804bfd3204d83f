"""Template orders: one order walked through the real services, its rows copied many times.

``snapshot(order)`` reads every row the product wrote for an order: the order and every
table that points at it, found through the models' foreign keys (events, bookings and
their links, assignments, calls, SLA timers and their ladder events, the report and
signature, surveys, callbacks, rework rounds, follow-ups, dashboard facts), and the
tables pointing at those. ``copy_rows(snap, copies)`` writes the snapshot again for each
copy with new ids (drawn from the tables' sequences), its times moved by the copy's
shift, and its own people and places: a copy names the customer, account, area,
technician... it stands for, and every reference to the template's goes to the copy's.

Nothing here knows the lifecycle or the SLA rules: a rule changed in the services
reaches the copies the next time the template is walked.
"""

from __future__ import annotations

import datetime as dt
import re
import secrets
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from django.db import connection, models
from django.utils import timezone

from fieldops import bulk
from workorders.models import WorkOrder

#: Outbox rows stay with the template: copies stand for orders whose messages went out
#: long ago, and a copied webhook or SMS must never be delivered. Assessment entries (R53)
#: stay too: each names its source (a timer, an appointment) by id, once per source.
_SKIPPED_APPS = frozenset({"notifications", "api", "assessment"})


def template_models() -> list[type[models.Model]]:
    """``WorkOrder`` and the models that point at it, or at one of those, parents first."""
    found: list[type[models.Model]] = [WorkOrder]
    i = 0
    while i < len(found):
        for rel in found[i]._meta.related_objects:
            model = rel.related_model
            if (rel.many_to_many or model in found
                    or model._meta.app_label in _SKIPPED_APPS):
                continue
            found.append(model)
        i += 1
    # parents first: a model comes after every copied model it points at
    ordered: list[type[models.Model]] = []
    pending = list(found)
    while pending:
        for model in pending:
            parents = {f.related_model for f in model._meta.concrete_fields
                       if f.is_relation and f.related_model in found
                       and f.related_model is not model}
            if parents <= set(ordered):
                ordered.append(model)
                pending.remove(model)
                break
        else:
            raise RuntimeError(f"circular references among {pending}")
    return ordered


@dataclass
class Snapshot:
    """Rows by model (dicts by attname), and when the template order was created.
    ``writes``: rows written so far in the snapshot's transaction, by table, when the
    database counts them (``table_writes``)."""

    created_at: dt.datetime
    rows: dict[type[models.Model], list[dict[str, Any]]] = field(default_factory=dict)
    writes: dict[str, int] | None = None

    def of(self, model: type[models.Model]) -> list[dict[str, Any]]:
        return self.rows.get(model, [])


def table_writes() -> dict[str, int] | None:
    """Rows inserted, updated or deleted so far in this transaction, by table: PostgreSQL
    counts them per backend in ``pg_stat_xact_user_tables`` (a rolled-back savepoint's
    writes stay counted, so a count only grows). ``None`` on a database that does not."""
    if connection.vendor != "postgresql":
        return None
    with connection.cursor() as cursor:
        cursor.execute("SELECT relname, n_tup_ins + n_tup_upd + n_tup_del"
                       " FROM pg_stat_xact_user_tables")
        return dict(cursor.fetchall())


def snapshot(order: WorkOrder, *, models_: Sequence[type[models.Model]] | None = None,
             since: Snapshot | None = None) -> Snapshot:
    """Every row of ``order`` and of the rows that point at it, as stored now.

    With ``since`` (an earlier snapshot of the same order, in the same transaction), a
    table this transaction has not written since then is not read again: its rows are
    ``since``'s. That holds because a row that comes to point at a snapshotted row is
    itself written (inserted or updated), and a deleted parent deletes or updates its
    children. Walking a template takes a snapshot after every step, and a step writes
    a handful of the thirty-odd tables."""
    writes = table_writes()
    unchanged: set[str] = set()
    if since is not None and since.writes is not None and writes is not None:
        unchanged = {table for table, n in since.writes.items() if writes.get(table) == n}
    snap = Snapshot(created_at=order.created_at, writes=writes)
    taken: dict[type[models.Model], set[Any]] = {WorkOrder: {order.pk}}
    for model in models_ or template_models():
        if since is not None and model._meta.db_table in unchanged and model in since.rows:
            rows = since.rows[model]
        else:
            rows = _rows_of(model, order, taken)
        snap.rows[model] = rows
        taken[model] = {r[model._meta.pk.attname] for r in rows}
    return snap


def _rows_of(model: type[models.Model], order: WorkOrder,
             taken: dict[type[models.Model], set[Any]]) -> list[dict[str, Any]]:
    names = [f.attname for f in model._meta.concrete_fields]
    if model is WorkOrder:
        query = models.Q(pk=order.pk)
    else:
        query = models.Q(pk__in=[])
        for f in model._meta.concrete_fields:
            if f.is_relation and f.related_model in taken and f.related_model is not model:
                query |= models.Q(**{f"{f.attname}__in": taken[f.related_model]})
    return list(model._default_manager.filter(query).order_by("pk").values(*names))


@dataclass
class Copy:
    """One copy: how far its times move, and whose order it is. ``same`` maps a model
    to {template's id: copy's id} for references outside the copied rows (customer,
    account, area, technician, user, team); ``texts`` replaces whole text values (a
    technician's name in the event log); ``numbers`` replaces whole numbers, in float
    columns and in JSON (the coordinates of the copy's address, where its order is located
    and its technician checks in); ``order`` sets fields of the order row."""

    shift: dt.timedelta
    same: dict[type[models.Model], dict[Any, Any]] = field(default_factory=dict)
    texts: dict[str, str] = field(default_factory=dict)
    numbers: dict[float, float] = field(default_factory=dict)
    order: dict[str, Any] = field(default_factory=dict)


class _Plan:
    """How to rewrite one model's rows, worked out once per model."""

    def __init__(self, model: type[models.Model], copied: set[type[models.Model]]) -> None:
        meta = model._meta
        self.model = model
        self.names = [f.attname for f in meta.concrete_fields]
        self.pk = meta.pk.attname
        #: a one-to-one primary key (a dashboard fact is keyed by its order)
        self.pk_parent = (meta.pk.related_model
                          if meta.pk.is_relation and meta.pk.related_model in copied else None)
        self.refs = [(f.attname, f.related_model) for f in meta.concrete_fields
                     if f.is_relation and f.related_model in copied]
        self.others = [(f.attname, f.related_model) for f in meta.concrete_fields
                       if f.is_relation and f.related_model not in copied]
        self.times = [f.attname for f in meta.concrete_fields
                      if isinstance(f, models.DateTimeField)]
        self.dates = [f.attname for f in meta.concrete_fields
                      if isinstance(f, models.DateField)
                      and not isinstance(f, models.DateTimeField)]
        self.tokens = [(f.attname, f.max_length or 32) for f in meta.concrete_fields
                       if f.unique and not f.primary_key and not f.is_relation
                       and isinstance(f, models.CharField)]
        self.json = [f.attname for f in meta.concrete_fields
                     if isinstance(f, models.JSONField)]
        self.floats = [f.attname for f in meta.concrete_fields
                       if isinstance(f, models.FloatField)]
        self.texts = [f.attname for f in meta.concrete_fields
                      if isinstance(f, models.CharField | models.TextField)
                      and not f.choices]


_ISO_DAY = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_ISO_TIME = re.compile(r"^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}")


def _moved(value: Any, shift: dt.timedelta, days: dt.timedelta,
           ids: dict[str, dict[Any, Any]], texts: dict[str, str] | None = None,
           numbers: dict[float, float] | None = None) -> Any:
    """A JSON value (an event's payload, a ladder step's data) of a copy: ISO times
    moved like the columns, ``{"survey": 12}``-style references to a copied or
    replaced row pointing at the copy's, whole text values in ``texts`` replaced
    (names, the intake channel) and floats in ``numbers`` (coordinates)."""
    if isinstance(value, dict):
        out = {}
        for k, v in value.items():
            if isinstance(v, int) and not isinstance(v, bool) and k in ids:
                out[k] = ids[k].get(v, v)
            else:
                out[k] = _moved(v, shift, days, ids, texts, numbers)
        return out
    if isinstance(value, list):
        return [_moved(v, shift, days, ids, texts, numbers) for v in value]
    if isinstance(value, float) and numbers and value in numbers:
        return numbers[value]
    if isinstance(value, str):
        if texts and value in texts:
            return texts[value]
        if _ISO_DAY.match(value):
            return (dt.date.fromisoformat(value) + days).isoformat()
        if _ISO_TIME.match(value):
            try:
                return (dt.datetime.fromisoformat(value) + shift).isoformat()
            except ValueError:
                return value
    return value


class IdPool:
    """Primary keys handed out before insert, so copied rows can point at each other in
    one pass. PostgreSQL: drawn from each table's sequence, ``block`` at a time.
    Elsewhere: counted up from max(id) (SQLite takes its write lock at BEGIN)."""

    def __init__(self, block: int = 5000) -> None:
        self.block = block
        self.free: dict[type[models.Model], list[int]] = {}
        self.next_id: dict[type[models.Model], int] = {}

    def take(self, model: type[models.Model], n: int) -> list[int]:
        if n == 0:
            return []
        if connection.vendor != "postgresql":
            if model not in self.next_id:
                top = model._default_manager.aggregate(m=models.Max("pk"))["m"] or 0
                self.next_id[model] = top + 1
            first = self.next_id[model]
            self.next_id[model] += n
            return list(range(first, first + n))
        free = self.free.setdefault(model, [])
        if len(free) < n:
            with connection.cursor() as cursor:
                cursor.execute("SELECT nextval(pg_get_serial_sequence(%s, %s)) "
                               "FROM generate_series(1, %s)",
                               [model._meta.db_table, model._meta.pk.column,
                                max(self.block, n - len(free))])
                free.extend(r[0] for r in cursor.fetchall())
        taken, self.free[model] = free[:n], free[n:]
        return taken


Rows = dict[type[models.Model], list[tuple[Any, ...]]]


def write_rows(rows: Rows) -> None:
    """Insert what ``copy_rows(..., into=rows)`` gathered, parents first."""
    for model in template_models():
        if rows.get(model):
            bulk.insert_rows(model, [f.attname for f in model._meta.concrete_fields],
                             rows[model])


_PLANS: dict[tuple[type[models.Model], frozenset[type[models.Model]]], _Plan] = {}


def _plan(model: type[models.Model], copied: frozenset[type[models.Model]]) -> _Plan:
    key = (model, copied)
    if key not in _PLANS:
        _PLANS[key] = _Plan(model, set(copied))
    return _PLANS[key]


def copy_rows(snap: Snapshot, copies: Iterable[Copy], *, pool: IdPool | None = None,
              into: Rows | None = None) -> list[int]:
    """Write the snapshot once per copy (or, with ``into``, gather the rows there for
    ``write_rows``); returns the new orders' ids, in order."""
    copies = list(copies)
    order_models = [m for m in snap.rows]
    copied = frozenset(order_models)
    plans = {m: _plan(m, copied) for m in order_models}
    pool = pool or IdPool(block=1)
    tz = timezone.get_current_timezone()
    day0 = timezone.localdate(snap.created_at, tz)
    new_orders: list[int] = []
    ids: dict[type[models.Model], list[int]] = {
        m: pool.take(m, len(snap.of(m)) * len(copies)) for m in order_models
        if plans[m].pk_parent is None}
    out: Rows = into if into is not None else {}
    for m in order_models:
        out.setdefault(m, [])
    for n, c in enumerate(copies):
        days = timezone.localdate(snap.created_at + c.shift, tz) - day0
        mapped: dict[type[models.Model], dict[Any, Any]] = {}
        by_name = {m._meta.model_name: ids_ for m, ids_ in c.same.items()}
        for model in order_models:
            rows = snap.of(model)
            parent = plans[model].pk_parent
            if parent is not None:
                mapped[model] = {row[plans[model].pk]: mapped[parent][row[plans[model].pk]]
                                 for row in rows}
            else:
                fresh = ids[model][n * len(rows):(n + 1) * len(rows)]
                mapped[model] = {row[plans[model].pk]: new_id
                                 for row, new_id in zip(rows, fresh, strict=True)}
            by_name[model._meta.model_name] = mapped[model]
        for model in order_models:
            plan = plans[model]
            mine = mapped[model]
            for row in snap.of(model):
                new_id = mine[row[plan.pk]]
                new = dict(row)
                new[plan.pk] = new_id
                for name, target in plan.refs:
                    if name != plan.pk and new[name] is not None:
                        new[name] = mapped[target][new[name]]
                for name, target in plan.others:
                    same = c.same.get(target)
                    if same and new[name] in same:
                        new[name] = same[new[name]]
                for name in plan.times:
                    if new[name] is not None:
                        new[name] += c.shift
                for name in plan.dates:
                    if new[name] is not None:
                        new[name] += days
                for name in plan.json:
                    if new[name] is not None:
                        new[name] = _moved(new[name], c.shift, days, by_name, c.texts,
                                           c.numbers)
                if c.numbers:
                    for name in plan.floats:
                        if new[name] in c.numbers:
                            new[name] = c.numbers[new[name]]
                for name, length in plan.tokens:
                    if new[name] is not None:
                        new[name] = secrets.token_hex(length // 2)[:length]
                if c.texts:
                    for name in plan.texts:
                        if new[name] in c.texts:
                            new[name] = c.texts[new[name]]
                if model is WorkOrder:
                    new.update(c.order)
                    new_orders.append(new_id)
                out[model].append(tuple(new[name] for name in plan.names))
    if into is None:
        write_rows(out)
    return new_orders
