"""Reference data cached per process, kept correct across processes by one stamp.

Reference data (areas, business calendars, SLA policies and their rules, webhook
endpoints and their clients) is read on every intake and changes a few times a year, by
hand. Each process keeps what it read, keyed on the *reference stamp*: a random value in
one row (``fieldops_referencestamp``) that a PostgreSQL trigger on each reference table
replaces on every statement that writes the table (insert, update, delete, truncate;
the admin, ``QuerySet.update``, a migration or psql alike). The stamp is written in the
writer's transaction, so:

* other processes see the new stamp exactly when they can see the change;
* the writer's own transaction sees its own new stamp (and its own change);
* a rolled-back change leaves the old stamp, and a stamp never comes back (random), so
  nothing cached under one can be mistaken for another state.

A cache entry is stored under the stamp read *with or before* its content (never older
than its key). A request reads the stamp once, with the API token
(``note``, through ``api.authentication``), and each cache looks itself up under that
stamp: the cached reference data costs no round trip at all. Outside a noted request (a
Celery task, the console, a test calling services directly) ``current()`` is None and
callers read the database as before. A request sees reference data as of its start; a
reference write made through a model inside the request itself forgets the noted stamp
(``forget``), so the rest of that request reads the database.

Tables join with ``trigger_sql(table)`` in their app's migration (PostgreSQL only;
elsewhere there is no stamp and nothing is cached).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any, TypeVar

from django.core.signals import request_finished, request_started
from django.db import connections
from django.db.models.signals import post_delete, post_save

T = TypeVar("T")

TABLE = "fieldops_referencestamp"
FUNCTION = "fieldops_reference_changed"
#: The stamp as a scalar subquery (for a statement that reads it alongside its rows).
STAMP_SQL = f"(SELECT stamp FROM {TABLE} WHERE id = 1)"

CREATE_SQL = f"""
CREATE TABLE IF NOT EXISTS {TABLE} (
    id smallint PRIMARY KEY CHECK (id = 1),
    stamp uuid NOT NULL
);
INSERT INTO {TABLE} (id, stamp) VALUES (1, gen_random_uuid()) ON CONFLICT (id) DO NOTHING;
CREATE OR REPLACE FUNCTION {FUNCTION}() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO {TABLE} (id, stamp) VALUES (1, gen_random_uuid())
    ON CONFLICT (id) DO UPDATE SET stamp = EXCLUDED.stamp;
    RETURN NULL;
END
$$;
"""
DROP_SQL = f"DROP FUNCTION IF EXISTS {FUNCTION}() CASCADE; DROP TABLE IF EXISTS {TABLE};"


def trigger_sql(table: str) -> tuple[str, str]:
    """(create, drop) statements of the trigger that renews the stamp on writes to
    ``table``: once per statement, whatever it changed."""
    name = f"{table}_reference_stamp"
    create = (f'CREATE TRIGGER "{name}" AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE '
              f'ON "{table}" FOR EACH STATEMENT EXECUTE FUNCTION {FUNCTION}()')
    return create, f'DROP TRIGGER IF EXISTS "{name}" ON "{table}"'


def migration_operations(*tables: str) -> list[Any]:
    """Migration operations adding the triggers of ``tables`` (PostgreSQL only)."""
    from django.db import migrations  # only migrations call this; keeps the import light

    def forward(apps: Any, schema_editor: Any) -> None:
        if schema_editor.connection.vendor == "postgresql":
            for table in tables:
                schema_editor.execute(trigger_sql(table)[0])

    def backward(apps: Any, schema_editor: Any) -> None:
        if schema_editor.connection.vendor == "postgresql":
            for table in tables:
                schema_editor.execute(trigger_sql(table)[1])

    return [migrations.RunPython(forward, backward, elidable=False)]


# --- The stamp of this request ----------------------------------------------------------

_noted = threading.local()


def note(stamp: Any) -> None:
    """The stamp as read at the start of this request (with the token)."""
    _noted.stamp = stamp


def forget(**kwargs: Any) -> None:
    _noted.stamp = None


def current() -> Any:
    """The stamp noted for this request, or None (read the database)."""
    return getattr(_noted, "stamp", None)


def read(using: str = "default") -> Any:
    """The stamp as the database has it now for this connection's transaction, or None
    where there is none (not PostgreSQL, or not migrated)."""
    connection = connections[using]
    if connection.vendor != "postgresql":
        return None
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {STAMP_SQL}")
        row = cursor.fetchone()
    return row[0] if row else None


class Cache:
    """Values computed from reference data, per process, for the current stamp only.

    ``get(key, load)``: under a noted stamp, the value cached for it (``load()`` once per
    key and stamp, stored under the stamp read just before it); without one, ``load()``.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._stamp: Any = None
        self._values: dict[Any, Any] = {}

    def get(self, key: Any, load: Callable[[], T]) -> T:
        stamp = current()
        if stamp is None:
            return load()
        with self._lock:
            if self._stamp == stamp and key in self._values:
                return self._values[key]
        fresh = read()  # before the content: the content is never older than its key
        value = load()
        if fresh is not None:
            with self._lock:
                if self._stamp != fresh:
                    self._stamp, self._values = fresh, {}
                self._values[key] = value
        return value

    def clear(self) -> None:
        with self._lock:
            self._stamp, self._values = None, {}


#: Models whose saves and deletes in this process forget the noted stamp (their apps
#: register them with ``watch``).
_WATCHED: set[type] = set()


def watch(*models: type) -> None:
    _WATCHED.update(models)


def _model_written(sender: Any, **kwargs: Any) -> None:
    if sender in _WATCHED:
        forget()


request_started.connect(forget, dispatch_uid="fieldops-refdata-started")
request_finished.connect(forget, dispatch_uid="fieldops-refdata-finished")
post_save.connect(_model_written, dispatch_uid="fieldops-refdata-saved")
post_delete.connect(_model_written, dispatch_uid="fieldops-refdata-deleted")
