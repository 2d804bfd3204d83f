"""Thin Celery tasks: an id in, a service call."""

from __future__ import annotations

from celery import shared_task

from workorders.models import WorkOrder

from . import services


@shared_task(autoretry_for=(OSError,), retry_backoff=True, max_retries=5, acks_late=True)
def geocode_order(order_id: int) -> bool:
    """Locate one order with a geocoder that needs the network; safe to run twice."""
    order = WorkOrder.objects.select_related("area").filter(pk=order_id).first()
    if order is None:
        return False
    return services.order_locate(order=order) is not None
