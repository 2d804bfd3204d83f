"""System tasks. Tasks stay thin: they call a service and are safe to run twice."""

import socket

from celery import shared_task

from fieldops import clock, outbox
from fieldops.models import Heartbeat


@shared_task(acks_late=True, ignore_result=True)
def heartbeat() -> None:
    """Beat schedules this; the worker runs it; the row shows both are alive."""
    Heartbeat.objects.update_or_create(
        name="celery", defaults={"beat_at": clock.now(), "hostname": socket.gethostname()}
    )


@shared_task(acks_late=True, ignore_result=True)
def flush_queued_tasks() -> int:
    """Beat runs this: jobs the broker refused while it was down go out now."""
    return outbox.flush()
