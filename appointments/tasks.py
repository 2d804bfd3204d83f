"""Thin tasks: a service call, safe to run twice."""

from celery import shared_task

from .services import appointments_sweep_missed, parked_orders_resume_due


@shared_task(acks_late=True, ignore_result=True)
def sweep_missed_appointments() -> int:
    """R16: beat runs this; bookings nobody kept are recorded as missed by us."""
    return appointments_sweep_missed()


@shared_task(acks_late=True, ignore_result=True)
def resume_parked_orders() -> int:
    """Beat runs this (R12): orders whose customer's wait has ended go back to scheduling."""
    return parked_orders_resume_due()
