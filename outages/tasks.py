"""Thin outage tasks: an id in, a service call; safe to run twice."""

from celery import shared_task

from . import services


@shared_task(acks_late=True, ignore_result=True, autoretry_for=(Exception,),
             retry_backoff=True, max_retries=5)
def attach_new_order(order_id: int) -> bool:
    """R54: a repair taken during an outage joins it (after its intake committed)."""
    return services.attach_new_order(order_id)


@shared_task(acks_late=True, ignore_result=True)
def sweep_outages() -> int:
    """Beat runs this every OUTAGE_SWEEP_SECONDS: the repair promise's warning and breach,
    and customers who did not answer after the repair (R54)."""
    return services.sweep()
