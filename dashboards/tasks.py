"""Dashboard tasks: thin, idempotent, safe to run twice."""

from celery import shared_task

from . import services


@shared_task(acks_late=True, ignore_result=True)
def catch_up_breaches() -> int:
    """Beat runs this (R38, R39): breaches the SLA sweep recorded since an order's last
    event reach the order's figures within a minute instead of at its next event."""
    return services.order_facts_catch_up_breaches()
