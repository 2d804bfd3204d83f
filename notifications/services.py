"""Write notifications (the outbox) in the caller's transaction; their delivery is queued
for after commit and done once by ``delivery``."""

from __future__ import annotations

import datetime as dt
import logging
from typing import Any

from django.db import IntegrityError, transaction

from fieldops import bus, clock
from fieldops.bulk import insert_rows

from . import push
from .events import AlertsWritten
from .models import Channel, Notification, Status
from .tasks import deliver_notification, deliver_webhook, flush_outbox

logger = logging.getLogger(__name__)

def notify(*, channel: str, kind: str, body: str, recipient: Any = None, address: str = "",
           subject: str = "", order: Any = None, params: dict[str, str] | None = None,
           dedupe_key: str | None = None,
           not_before: dt.datetime | None = None) -> Notification | None:
    """Queue one notification. Call inside the transaction of the event that causes it;
    delivery is queued for after commit. With ``dedupe_key``, a second call for the same
    key returns None and writes nothing (so a re-run sweep never notifies twice). With
    ``not_before`` (e.g. the end of the quiet hours, R29) it waits in the outbox until then
    and the periodic flush sends it. ``params``: the values ``body`` was written from, by
    name, for gateways that fill an approved template instead (backends.templates)."""
    if channel == Channel.EMAIL and not address and recipient is not None:
        address = recipient.email
    if channel == Channel.SMS and not address:
        raise ValueError("An SMS needs a phone number")
    try:
        with transaction.atomic():  # a savepoint: a duplicate key must not spoil the caller
            note = Notification.objects.create(
                channel=channel, kind=kind, body=body, recipient=recipient, address=address,
                subject=subject, order=order, dedupe_key=dedupe_key, params=params,
                next_attempt_at=not_before or clock.now())
    except IntegrityError:
        if dedupe_key and Notification.objects.filter(dedupe_key=dedupe_key).exists():
            return None
        raise
    if channel == Channel.IN_APP:
        # Shown where the recipient works; nothing to send.
        Notification.objects.filter(pk=note.pk).update(status=Status.SENT, sent_at=clock.now())
        alerts_written(ids=(note.pk,))
        return note
    note_id = note.pk
    task = deliver_webhook if channel == Channel.WEBHOOK else deliver_notification
    transaction.on_commit(lambda: _enqueue(task, note_id))
    return note


#: A row for ``notify_rows``, in this order (``notify_many`` takes them by name).
NOTE_COLUMNS = ("channel", "recipient_id", "address", "kind", "subject", "body", "order_id",
                "dedupe_key")
_NOTE_DEFAULTS = {"recipient_id": None, "address": "", "subject": "", "order_id": None,
                  "dedupe_key": None}


def notify_many(rows: list[dict[str, Any]]) -> int:
    """Queue many notifications at once: ``notify_rows`` for rows given by name. A row
    gives ``channel``, ``kind``, ``body`` and any of ``recipient_id``, ``address``,
    ``subject``, ``order_id``, ``dedupe_key``."""
    for row in rows:
        unknown = row.keys() - set(NOTE_COLUMNS)
        if unknown:
            raise TypeError(f"not a notification column: {', '.join(sorted(unknown))}")
    return notify_rows([tuple(row[name] if name in row else _NOTE_DEFAULTS[name]
                              for name in NOTE_COLUMNS) for row in rows])


def notify_rows(rows: list[tuple[Any, ...]]) -> int:
    """Queue many notifications at once (the SLA sweep's breach storms): rows are tuples
    in ``NOTE_COLUMNS`` order, written with one COPY of plain values (no model instances)
    in the caller's transaction; rows whose ``dedupe_key`` already exists are skipped, and
    one flush is queued after commit. Returns how many rows were given (duplicates
    included)."""
    if not rows:
        return 0
    now = clock.now()
    in_app, sent, pending = Channel.IN_APP.value, Status.SENT.value, Status.PENDING.value
    values = [(*row, 0, "", None, now, now, sent, now) if row[0] == in_app
              else (*row, 0, "", None, now, now, pending, None) for row in rows]
    insert_rows(Notification, [*NOTE_COLUMNS, "attempts", "last_error", "read_at",
                               "created_at", "next_attempt_at", "status", "sent_at"], values)
    if any(row[0] != in_app for row in rows):
        notify_rows_flush()
    alerts_written(dedupe_keys=tuple(row[7] for row in rows if row[0] == in_app and row[7]))
    return len(values)


def alerts_written(*, ids: tuple[int, ...] = (), dedupe_keys: tuple[str, ...] = (),
                   written_at: dt.datetime | None = None) -> None:
    """Tell the floors above (Web Push) of new in-app alerts, while push is on; a caller
    that writes in-app rows with its own statement (the SLA sweep) names their
    ``created_at``."""
    if (ids or dedupe_keys or written_at) and push.enabled():
        with transaction.atomic():
            bus.publish(AlertsWritten(ids=ids, dedupe_keys=dedupe_keys,
                                      written_at=written_at))


def notify_rows_flush() -> None:
    """Queue one flush of the outbox after commit: for a caller that wrote pending rows
    (an email) with its own statement (the SLA sweep's set-based batch)."""
    transaction.on_commit(lambda: _enqueue(flush_outbox))


def notification_table() -> str:
    """The outbox's table, for a caller that writes its rows with its own statement; such
    rows must be what ``notify_rows`` writes (sent in-app rows, pending others, and one
    ``notify_rows_flush`` for them)."""
    return str(Notification._meta.db_table)


def _enqueue(task: Any, *args: Any) -> None:
    """Hand the row to Celery; if the broker is down the row stays pending for the flush."""
    try:
        task.delay(*args)
    except Exception:
        logger.warning("broker unavailable; notification %s waits in the outbox", args)
