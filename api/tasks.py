"""Thin tasks of the API app: safe to run twice."""

from celery import shared_task

from . import services


@shared_task(acks_late=True, ignore_result=True)
def purge_idempotency_keys() -> int:
    """Beat runs this (hourly is plenty): keys past their time to live are forgotten."""
    return services.idempotency_keys_purge()
