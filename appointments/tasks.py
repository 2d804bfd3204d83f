"""Thin tasks: a service call, safe to run twice."""

from celery import shared_task

from .services import appointments_sweep_missed


@shared_task(acks_late=True, ignore_result=True)
def sweep_missed_appointments() -> int:
    """R16: beat runs this; bookings nobody kept are recorded as missed by us."""
    return appointments_sweep_missed()
