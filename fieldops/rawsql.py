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

import psycopg
from django.db.backends.postgresql.psycopg_any import register_tzloader

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


def prepared_cursor(connection: Any) -> Any:
    """A cursor (Django's wrapper, so query logging and counting see it) whose statements
    are prepared statements of the connection: parameters bound on the server, each text
    planned on its first run and, once PostgreSQL settles on a generic plan (after five
    runs), not planned again. For a hot read written out once per process (the API's order
    list), where planning cost PostgreSQL more than running. Elsewhere, or behind PgBouncer
    in transaction mode (a prepared statement belongs to one server connection;
    ``DISABLE_SERVER_SIDE_CURSORS``), a plain cursor. ``%s`` placeholders only; psycopg
    keeps at most ``prepared_max`` (100) statements per connection."""
    if (connection.vendor != "postgresql"
            or connection.settings_dict.get("DISABLE_SERVER_SIDE_CURSORS")):
        return connection.cursor()
    connection.close_if_health_check_failed()
    connection.ensure_connection()
    with connection.wrap_database_errors:
        if connection.connection.prepare_threshold is None:
            # Django turns psycopg's preparing off (None); a threshold no statement
            # reaches lets this cursor's ``prepare=True`` through and nothing else (Django's
            # own cursors bind on the client and never prepare).
            connection.connection.prepare_threshold = 2**31 - 1
        raw = PreparedCursor(connection.connection)
        if connection.timezone != _tz_loader(connection).timezone:
            register_tzloader(connection.timezone, raw)
        return connection._prepare_cursor(raw)


def _tz_loader(connection: Any) -> Any:
    return connection.connection.adapters.get_loader(
        psycopg.postgres.types["timestamptz"].oid, psycopg.pq.Format.TEXT)


class PreparedCursor(psycopg.Cursor[Any]):
    """psycopg's server-binding cursor, preparing every statement it runs (Django turns
    psycopg's automatic preparation off: ``prepare_threshold`` None)."""

    def execute(self, query: Any, params: Any = None, *, prepare: bool | None = None,
                binary: bool | None = None) -> Any:
        result = super().execute(query, params, prepare=prepare is not False, binary=binary)
        # What Django's query log shows (``last_executed_query`` reads ``_query.query``,
        # which a server-binding cursor leaves empty): the statement with its values, as
        # the other cursors show it, written only if the log asks.
        self._query = _Shown(self.connection, query, params)  # type: ignore[assignment]
        return result


class _Shown:
    """The statement as Django's client-binding cursors log it, composed when read."""

    __slots__ = ("_connection", "_params", "_sql")

    def __init__(self, connection: Any, sql: Any, params: Any) -> None:
        self._connection, self._sql, self._params = connection, sql, params

    @property
    def query(self) -> bytes:
        shown = psycopg.ClientCursor(self._connection).mogrify(self._sql, self._params)
        return shown.encode()
