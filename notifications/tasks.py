"""Thin tasks: an id in, a service call; safe to run twice."""

from celery import shared_task

from . import delivery, receipts


@shared_task(acks_late=True, ignore_result=True)
def deliver_notification(note_id: int) -> str:
    return delivery.deliver(note_id)


@shared_task(acks_late=True, ignore_result=True)
def flush_outbox() -> int:
    """Beat runs this: anything pending and due (missed, retried, broker was down) goes out."""
    return delivery.flush_due()


@shared_task(acks_late=True, ignore_result=True)
def pull_sms_receipts() -> int:
    """Beat runs this when SMS_RECEIPT_PULL_SECONDS is set: the gateway's delivery receipts
    onto the outbox rows (recording one twice changes nothing)."""
    return receipts.pull_due()
