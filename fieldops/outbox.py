"""Celery jobs survive a broker outage: ``send_after_commit`` writes the job as a row in
the caller's transaction and hands it to the broker after commit; the row is deleted once
the broker took it. If Redis is down the row stays, and ``flush`` (beat, every
``OUTBOX_FLUSH_SECONDS``) sends it when the broker is back. Jobs are safe to run twice,
so a job sent by both never does harm."""

from __future__ import annotations

import datetime as dt
import logging
from typing import Any

from celery import current_app
from django.db import transaction
from django.db.models import F
from kombu.exceptions import KombuError
from redis.exceptions import RedisError

from fieldops import clock
from fieldops.models import QueuedTask

logger = logging.getLogger(__name__)

#: Errors that mean "the broker did not take it" (anything else is the job's own failure,
#: seen only when jobs run in-process in tests).
BROKER_ERRORS = (KombuError, RedisError, OSError)
#: A row younger than this is still being sent by the process that wrote it.
GRACE = dt.timedelta(seconds=30)


def send_after_commit(task: Any, *args: Any) -> QueuedTask:
    """Queue ``task(*args)`` (JSON arguments) once the caller's transaction commits."""
    row = QueuedTask.objects.create(name=task.name, args=list(args), created_at=clock.now())
    transaction.on_commit(lambda: _send(row))
    return row


def _send(row: QueuedTask) -> bool:
    try:
        current_app.tasks[row.name].apply_async(args=tuple(row.args))
    except BROKER_ERRORS as error:
        QueuedTask.objects.filter(pk=row.pk).update(attempts=F("attempts") + 1,
                                                   last_error=str(error)[:2000])
        logger.warning("broker unavailable; %s waits in the outbox (%s)", row, error)
        return False
    QueuedTask.objects.filter(pk=row.pk).delete()
    return True


def flush(*, limit: int = 500) -> int:
    """Send up to ``limit`` jobs the broker refused (the rest on the next tick); returns
    how many went out."""
    sent = 0
    with transaction.atomic():
        rows = list(QueuedTask.objects.select_for_update(skip_locked=True)
                    .filter(created_at__lte=clock.now() - GRACE).order_by("pk")[:limit])
        for row in rows:
            if row.name not in current_app.tasks:
                # A job renamed or removed since it was queued: kept for a person to read,
                # never allowed to stop the others.
                logger.error("outbox: no task named %s; %s left in the outbox", row.name, row)
                continue
            if not _send(row):
                break  # the broker is still down: try on the next tick
            sent += 1
    return sent
