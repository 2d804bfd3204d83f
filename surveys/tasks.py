"""Survey tasks: thin, idempotent, safe to run twice."""

from celery import shared_task

from workorders.models import WorkOrder

from . import services


@shared_task(acks_late=True, ignore_result=True, autoretry_for=(Exception,),
             retry_backoff=True, retry_backoff_max=600, max_retries=8)
def start_survey(order_id: int) -> None:
    """R29: move a completed order to survey-pending and send the survey (its SMS held
    until the quiet hours end: ``services.survey_open``). Queued after the completion
    commits (``handlers``). Safe to run twice."""
    order = WorkOrder.objects.filter(pk=order_id).first()
    if order is not None:
        services.work_order_start_survey(order=order)


@shared_task(acks_late=True, ignore_result=True)
def open_due_callbacks() -> int:
    """Beat runs this (R30): surveys unanswered at their callback time become callback
    tasks for the call-centre; a survey never gets two."""
    return services.callbacks_open_due()
