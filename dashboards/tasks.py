"""Dashboard tasks: thin, idempotent, safe to run twice."""

from celery import shared_task

from . import services


@shared_task(acks_late=True, ignore_result=True)
def catch_up_breaches() -> int:
    """Beat runs this (R38, R39): breaches the SLA sweep recorded since an order's last
    event are marked for the next refresh within a minute instead of at its next event."""
    return services.order_facts_catch_up_breaches()


@shared_task(acks_late=True, ignore_result=True)
def refresh_stale_facts() -> int:
    """Beat runs this every ``DASHBOARD_REFRESH_SECONDS`` (R39): the facts of the orders
    whose events marked them are recomputed in batches."""
    return services.order_facts_refresh_stale()
