"""Set-based writes for hot paths (the SLA sweep's breach storms).

Django's ``bulk_update`` builds a CASE expression per field that PostgreSQL evaluates row
by row (quadratic in the batch), and ``bulk_create`` spends most of its time compiling.
On PostgreSQL these write a batch in one plain statement: ``UPDATE … FROM (VALUES …)`` and
``INSERT … VALUES … ON CONFLICT DO NOTHING``. Other databases use Django's methods.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.db import connection, models

CHUNK = 1000


def _chunks(items: Sequence[Any], size: int = CHUNK) -> list[Sequence[Any]]:
    return [items[i:i + size] for i in range(0, len(items), size)]


def insert_ignoring_conflicts(model: type[models.Model], objs: Sequence[models.Model]) -> None:
    """Insert ``objs``; rows that would break a unique constraint are skipped."""
    if not objs:
        return
    if connection.vendor != "postgresql":
        model._default_manager.bulk_create(objs, ignore_conflicts=True)
        return
    fields: list[Any] = [f for f in model._meta.concrete_fields if not f.primary_key]
    quote = connection.ops.quote_name
    columns = ", ".join(quote(f.column) for f in fields)
    row = "(" + ", ".join(["%s"] * len(fields)) + ")"
    with connection.cursor() as cursor:
        for chunk in _chunks(objs):
            params = [f.get_db_prep_save(getattr(obj, f.attname), connection)
                      for obj in chunk for f in fields]
            cursor.execute(f"INSERT INTO {quote(str(model._meta.db_table))} ({columns}) VALUES "
                           f"{', '.join([row] * len(chunk))} ON CONFLICT DO NOTHING", params)


def update_fields(model: type[models.Model], objs: Sequence[models.Model],
                  names: Sequence[str]) -> None:
    """Write ``names`` of each object back to its row (by primary key)."""
    if not objs:
        return
    if connection.vendor != "postgresql":
        model._default_manager.bulk_update(objs, list(names))
        return
    meta = model._meta
    fields: list[Any] = [meta.get_field(name) for name in names]
    pk: Any = meta.pk
    assert pk is not None
    quote = connection.ops.quote_name
    casts = [pk.db_type(connection)] + [f.db_type(connection) for f in fields]
    row = "(" + ", ".join(f"%s::{cast}" for cast in casts) + ")"
    alias = ", ".join(["id", *(quote(f.column) for f in fields)])
    assignments = ", ".join(f"{quote(f.column)} = v.{quote(f.column)}" for f in fields)
    with connection.cursor() as cursor:
        for chunk in _chunks(objs):
            params: list[Any] = []
            for obj in chunk:
                params.append(obj.pk)
                params.extend(f.get_db_prep_save(getattr(obj, f.attname), connection)
                              for f in fields)
            cursor.execute(
                f"UPDATE {quote(str(meta.db_table))} AS t SET {assignments} FROM (VALUES "
                f"{', '.join([row] * len(chunk))}) AS v({alias}) "
                f"WHERE t.{quote(pk.column)} = v.id", params)
