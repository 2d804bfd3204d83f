"""Rows of hand-written statements, typed as the ORM types them.

A few hot read paths (the API's token lookup and order list) run SQL written out once per
process instead of compiling a queryset per request. The database hands such rows back raw:
PostgreSQL's driver already gives aware datetimes and dates, SQLite (the embedded default)
gives text or naive UTC datetimes. ``converters`` collects, once per field list, the same
conversion functions the ORM's compiler applies (the backend's, then the field's own
``from_db_value``); ``typed`` applies them to a row."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

Converter = Callable[[Any, Any, Any], Any]


def converters(connection: Any, fields: Sequence[Any]) -> list[tuple[Any, list[Converter]]]:
    """Per field: (its column expression, the converters the ORM would run on it)."""
    result = []
    for field in fields:
        column = field.get_col(field.model._meta.db_table)
        functions = [*connection.ops.get_db_converters(column),
                     *field.get_db_converters(connection)]
        result.append((column, functions))
    return result


def typed(row: Sequence[Any], plan: list[tuple[Any, list[Converter]]],
          connection: Any) -> list[Any]:
    """The row's values converted as the ORM converts them (``plan`` from ``converters``)."""
    values = list(row)
    for index, (column, functions) in enumerate(plan):
        value = values[index]
        for function in functions:
            value = function(value, column, connection)
        values[index] = value
    return values


def plan_for(connection: Any, key: str,
             fields: Callable[[], Sequence[Any]]) -> list[tuple[Any, list[Converter]]]:
    """``converters`` for one statement, kept on the connection (a connection belongs to
    one thread, and its backend's converters to it)."""
    cache = connection.__dict__.setdefault("_fieldops_rawsql_plans", {})
    if key not in cache:
        cache[key] = converters(connection, fields())
    return cache[key]
