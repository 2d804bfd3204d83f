"""Thin complaint tasks: safe to run twice, and two at once never fire a step twice."""

from celery import shared_task

from . import deadlines


@shared_task(acks_late=True, ignore_result=True)
def sweep_deadlines() -> int:
    """Beat runs this every COMPLAINT_SWEEP_SECONDS (R51)."""
    return deadlines.sweep_all()
