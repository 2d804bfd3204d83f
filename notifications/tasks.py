"""Thin tasks: an id in, a service call; safe to run twice."""

from celery import shared_task

from . import delivery


@shared_task(acks_late=True, ignore_result=True)
def deliver_notification(note_id: int) -> str:
    return delivery.deliver(note_id)


@shared_task(acks_late=True, ignore_result=True)
def flush_outbox() -> int:
    """Beat runs this: anything pending and due (missed, retried, broker was down) goes out."""
    return delivery.flush_due()
