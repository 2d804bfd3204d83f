"""Survey tasks: thin, idempotent, safe to run twice."""

from celery import shared_task

from . import services


@shared_task(acks_late=True, ignore_result=True)
def open_due_callbacks() -> int:
    """Beat runs this (R30): surveys unanswered at their callback time become callback
    tasks for the call-centre; a survey never gets two."""
    return services.callbacks_open_due()
