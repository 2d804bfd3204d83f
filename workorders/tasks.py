"""Work-order tasks: thin, take an id, call a service, safe to run twice."""

from celery import shared_task

from .models import WorkOrder
from .services import work_order_start_survey


@shared_task(acks_late=True, ignore_result=True, autoretry_for=(Exception,),
             retry_backoff=True, retry_backoff_max=600, max_retries=8)
def start_survey(order_id: int) -> None:
    """R29: move a completed order to survey-pending and send the survey (its SMS held
    until the quiet hours end: ``surveys.services.survey_open``). Safe to run twice."""
    order = WorkOrder.objects.filter(pk=order_id).first()
    if order is not None:
        work_order_start_survey(order=order)
