"""Set-based writes for hot paths (the SLA sweep's breach storms).

Django's ``bulk_update`` builds a CASE expression per field that PostgreSQL evaluates row
by row (quadratic in the batch), and ``bulk_create`` spends most of its time building
model instances and preparing every field of every row. Even a multi-row ``VALUES`` list
costs one placeholder per value, which the driver splits and quotes one by one (arrays
or a JSON document per batch are not much cheaper). On PostgreSQL these helpers stream
the rows with binary ``COPY`` (each value through the driver's C dumper), straight into
the table or into a temporary stage table shaped like it:

* ``insert_rows`` / ``insert_ignoring_conflicts``: ``COPY table FROM STDIN``, inside a
  savepoint; if a row breaks a unique constraint, the copy is undone and the rows go
  through the stage instead: ``INSERT … SELECT … FROM stage ON CONFLICT DO NOTHING``;
* ``update_rows`` / ``update_fields``: ``UPDATE table AS t SET … FROM stage AS v WHERE
  t.id = v.id``.

``insert_rows`` and ``update_rows`` take plain tuples of database-ready values (aware
datetimes, ints, strings, ``None``; JSON columns take Python values), so hot paths build
no model instances at all. Other databases use Django's methods.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

from django.db import DEFAULT_DB_ALIAS, connection, connections, models, router, transaction
from django.db.models.sql import InsertQuery
from psycopg.errors import UniqueViolation


def _stage(cursor: Any, table: str) -> str:
    """A temporary table shaped like ``table`` (no constraints, emptied at commit), created
    once per connection; rows are copied into it and moved on with one statement."""
    quote = connection.ops.quote_name
    stage = quote(f"stage_{table}")
    cursor.execute(f"CREATE TEMPORARY TABLE IF NOT EXISTS {stage} ON COMMIT DELETE ROWS "
                   f"AS SELECT * FROM {quote(table)} WITH NO DATA")
    return stage


def _copy(cursor: Any, stage: str, fields: Sequence[Any],
          rows: Sequence[Sequence[Any]]) -> None:
    """``COPY … FROM STDIN (FORMAT BINARY)``: each value goes through the driver's C
    dumper for its column's type (JSON values as Python objects)."""
    quote = connection.ops.quote_name
    columns = ", ".join(quote(f.column) for f in fields)
    types = _TYPES.get((stage, columns))
    if types is None:
        cursor.execute(f"SELECT {columns} FROM {stage} LIMIT 0")
        types = _TYPES[(stage, columns)] = [d.type_code for d in cursor.description]
    encoders = {i: f.encoder for i, f in enumerate(fields)
                if isinstance(f, models.JSONField) and f.encoder is not None}
    with cursor.copy(f"COPY {stage} ({columns}) FROM STDIN (FORMAT BINARY)") as copy:
        copy.set_types(types)
        for row in rows:
            if encoders:  # rare: make those values plain JSON first
                values = list(row)
                for i, encoder in encoders.items():
                    values[i] = json.loads(json.dumps(values[i], cls=encoder))
                row = values
            copy.write_row(row)


#: The type oids of the staged columns (stable for a table's life), per (stage, columns).
_TYPES: dict[tuple[str, str], list[int]] = {}


def insert_rows(model: type[models.Model], names: Sequence[str],
                rows: Sequence[Sequence[Any]]) -> None:
    """Insert ``rows`` (tuples of values for the fields ``names``, by attname, e.g.
    ``timer_id``); rows that would break a unique constraint are skipped. Fields not
    named are NULL, so name every column that has a default."""
    if not rows:
        return
    meta = model._meta
    fields: list[Any] = [meta.get_field(name) for name in names]
    if connection.vendor != "postgresql":
        model._default_manager.bulk_create(
            [model(**dict(zip(names, row, strict=True))) for row in rows],
            ignore_conflicts=True)
        return
    quote = connection.ops.quote_name
    table = str(meta.db_table)
    columns = ", ".join(quote(f.column) for f in fields)
    with transaction.atomic(savepoint=False), connection.cursor() as cursor:
        # Usually no row exists yet: copy straight into the table. A clash undoes only
        # this copy (a savepoint); then the rows go through the stage, skipping those.
        try:
            with transaction.atomic():
                _copy(cursor, quote(table), fields, rows)
            return
        except UniqueViolation:
            pass
        stage = _stage(cursor, table)
        _copy(cursor, stage, fields, rows)
        cursor.execute(f"INSERT INTO {quote(table)} ({columns}) SELECT {columns} "
                       f"FROM {stage} ON CONFLICT DO NOTHING")
        cursor.execute(f"DELETE FROM {stage}")  # for the next call in this transaction


def update_rows(model: type[models.Model], names: Sequence[str],
                rows: Sequence[Sequence[Any]]) -> None:
    """Write the fields ``names`` of each row: ``rows`` are tuples ``(pk, value, …)``."""
    if not rows:
        return
    meta = model._meta
    fields: list[Any] = [meta.get_field(name) for name in names]
    if connection.vendor != "postgresql":
        objs = []
        for row in rows:
            obj = model(pk=row[0])
            for field, value in zip(fields, row[1:], strict=True):
                setattr(obj, field.attname, value)
            objs.append(obj)
        model._default_manager.bulk_update(objs, [f.name for f in fields])
        return
    pk: Any = meta.pk
    assert pk is not None
    quote = connection.ops.quote_name
    table = str(meta.db_table)
    assignments = ", ".join(f"{quote(f.column)} = v.{quote(f.column)}" for f in fields)
    with transaction.atomic(savepoint=False), connection.cursor() as cursor:
        stage = _stage(cursor, table)
        _copy(cursor, stage, [pk, *fields], rows)
        cursor.execute(f"UPDATE {quote(table)} AS t SET {assignments} FROM {stage} AS v "
                       f"WHERE t.{quote(pk.column)} = v.{quote(pk.column)}")
        cursor.execute(f"DELETE FROM {stage}")


def insert_ignoring_conflicts(model: type[models.Model], objs: Sequence[models.Model]) -> None:
    """Insert ``objs``; rows that would break a unique constraint are skipped."""
    if not objs:
        return
    if connection.vendor != "postgresql":
        model._default_manager.bulk_create(objs, ignore_conflicts=True)
        return
    fields: list[Any] = [f for f in model._meta.concrete_fields if not f.primary_key]
    insert_rows(model, [f.attname for f in fields],
                [tuple(_prepared(f, getattr(obj, f.attname)) for f in fields)
                 for obj in objs])


def update_fields(model: type[models.Model], objs: Sequence[models.Model],
                  names: Sequence[str]) -> None:
    """Write ``names`` of each object back to its row (by primary key)."""
    if not objs:
        return
    if connection.vendor != "postgresql":
        model._default_manager.bulk_update(objs, list(names))
        return
    fields: list[Any] = [model._meta.get_field(name) for name in names]
    update_rows(model, names, [(obj.pk, *(_prepared(f, getattr(obj, f.attname))
                                           for f in fields)) for obj in objs])


def _prepared(field: Any, value: Any) -> Any:
    """A model attribute as the value ``insert_rows`` / ``update_rows`` expect."""
    if isinstance(field, models.JSONField):
        return value  # part of the JSON payload as it is
    return field.get_db_prep_save(value, connection)


#: Writes put off by ``write_later`` inside ``writes_gathered``: (sql, params); else None.
_later: ContextVar[list[tuple[str, tuple[Any, ...]]] | None] = ContextVar(
    "fieldops_bulk_later", default=None)


@contextmanager
def writes_gathered() -> Iterator[None]:
    """Inside the block, ``write_later`` keeps its statements instead of running them, and
    the next ``insert_together`` runs them in its own statement (data-modifying ``WITH``s):
    no round trip of their own. What is still kept when the block ends runs then, in one
    statement. For a transaction that ends with an ``insert_together`` (the API's
    idempotent writes) and reads none of the kept rows meanwhile; an error leaves the block
    without running them (the transaction is rolled back anyway)."""
    if connection.vendor != "postgresql":
        yield
        return
    kept: list[tuple[str, tuple[Any, ...]]] = []
    token = _later.set(kept)
    try:
        yield
    finally:
        _later.reset(token)
    if kept:
        _run_together(kept, None)


def write_later(sql: str, params: Sequence[Any] = ()) -> None:
    """Run ``sql`` (an INSERT, UPDATE or DELETE without RETURNING, whose result nobody
    reads) now, or inside ``writes_gathered`` with the next ``insert_together``. Kept
    writes run as parts of one statement: at most one of them may write a given row (an
    upsert of the same key twice in one statement is an error)."""
    kept = _later.get()
    if kept is None:
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
        return
    kept.append((sql, tuple(params)))


def _run_together(kept: list[tuple[str, tuple[Any, ...]]],
                  last: tuple[str, tuple[Any, ...]] | None) -> Any:
    """The kept statements as ``WITH``s of ``last`` (or of a bare ``SELECT``); ``last``'s
    first row."""
    heads = ", ".join(f"later_{n} AS ({sql})" for n, (sql, _) in enumerate(kept))
    params = tuple(p for _, values in kept for p in values)
    tail_sql, tail_params = last if last is not None else ("SELECT 1", ())
    with connection.cursor() as cursor:
        cursor.execute(f"WITH {heads}, {tail_sql.removeprefix('WITH ')}"
                       if tail_sql.startswith("WITH ") else f"WITH {heads} {tail_sql}",
                       (*params, *tail_params))
        return cursor.fetchone()


def insert_together(first: Sequence[models.Model], last: models.Model) -> None:
    """``bulk_create(first)`` then ``last.save()`` (a new row), in one statement on
    PostgreSQL: ``first``'s INSERT runs as a data-modifying ``WITH`` of ``last``'s, so both
    are written, or neither, with one round trip; so do the writes ``write_later`` kept
    (``writes_gathered``). ``last`` gets its primary key; the rows of ``first`` do not
    (nothing reads them back); no signals are sent (as ``bulk_create``). Elsewhere, or
    with nothing to write with it, plain writes."""
    model = type(last)
    using = router.db_for_write(model)
    db = connections[using]
    kept = _later.get() if using == DEFAULT_DB_ALIAS else None
    if not (first or kept) or db.vendor != "postgresql" or last.pk is not None:
        if first:
            type(first[0])._default_manager.using(using).bulk_create(first)
        last.save(using=using, force_insert=True)
        return
    tail_sql, tail_params = _insert_sql([last], using, returning=True)
    if first:
        head_sql, head_params = _insert_sql(first, using, returning=False)
        tail_sql = f"WITH first_rows AS ({head_sql}) {tail_sql}"
        tail_params = (*head_params, *tail_params)
    if kept:
        (pk,) = _run_together(kept, (tail_sql, tail_params))
        kept.clear()
    else:
        with db.cursor() as cursor:
            cursor.execute(tail_sql, tail_params)
            (pk,) = cursor.fetchone()
    last.pk = pk
    last._state.adding, last._state.db = False, using


def _insert_sql(objs: Sequence[models.Model], using: str,
                *, returning: bool) -> tuple[str, tuple[Any, ...]]:
    """The INSERT of ``objs`` (of one model, new rows) as Django's ``bulk_create`` writes
    it (defaults and ``pre_save`` applied, related ids taken from related objects)."""
    model = type(objs[0])
    opts = model._meta
    for obj in objs:
        obj._prepare_related_fields_for_save(  # type: ignore[attr-defined]
            operation_name="bulk_create")
    fields = [f for f in opts.concrete_fields
              if not f.generated and not isinstance(f, models.AutoField)]
    query = InsertQuery(model)
    query.insert_values(fields, list(objs), raw=False)
    compiler = query.get_compiler(using=using)
    compiler.returning_fields = [opts.pk] if returning else None
    [(sql, params)] = compiler.as_sql()
    return sql, tuple(params)


def row_insert_sql(obj: models.Model, using: str, *,
                   expressions: dict[str, str] | None = None,
                   cast: bool = False) -> tuple[str, str, str, tuple[Any, ...]]:
    """The INSERT of one new row ``obj`` as ``save()`` writes it (defaults and ``pre_save``
    applied to ``obj``; its primary key column too when it is set), for a statement that
    writes several rows at once (data-modifying ``WITH``s on PostgreSQL). The columns named
    in ``expressions`` (attname -> SQL expression, e.g. ``(SELECT id FROM new_order)``)
    take their value from SQL instead of ``obj``. With ``cast``, every value is cast to its
    column's type (for ``INSERT … SELECT``, where a bare literal would be read as text).

    Returns the quoted table, the column list, the values' SQL and their parameters, for
    ``INSERT INTO {table} ({columns}) VALUES ({values})``; no RETURNING (the caller says
    what it needs back). No signals are sent."""
    expressions = expressions or {}
    model = type(obj)
    opts = model._meta
    db = connections[using]
    quote = db.ops.quote_name
    fields = [f for f in opts.concrete_fields if not f.generated and not (
        isinstance(f, models.AutoField) and obj.pk is None)]
    query = InsertQuery(model)
    query.insert_values(fields, [obj], raw=False)
    compiler = query.get_compiler(using=using)
    placeholders: list[str] = []
    params: list[Any] = []
    for field in fields:
        if field.attname in expressions:
            placeholders.append(expressions[field.attname])
            continue
        value = compiler.prepare_value(field, compiler.pre_save_val(field, obj))
        sql, field_params = compiler.field_as_sql(field, field.get_placeholder if hasattr(
            field, "get_placeholder") else None, value)
        db_type = field.cast_db_type(db) if cast else None
        placeholders.append(f"CAST({sql} AS {db_type})" if db_type else sql)
        params.extend(field_params)
    columns = ", ".join(quote(str(f.column)) for f in fields)
    return quote(str(opts.db_table)), columns, ", ".join(placeholders), tuple(params)
