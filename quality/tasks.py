"""Thin quality tasks: safe to run twice (one sampling run per day)."""

from celery import shared_task

from . import sampling


@shared_task(acks_late=True, ignore_result=True)
def sample_due_days() -> int:
    """Beat runs this (R52): each finished day's sample and signals, once per day."""
    return sampling.run_due()
