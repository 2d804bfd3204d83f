from celery import shared_task

from . import alerts


@shared_task(name="workorders.push_alerts")
def push_alerts_task(ids: list[int], dedupe_keys: list[str],
                     written_at: str | None = None) -> int:
    """Web Push rows for new in-app alerts (``alerts.push_alerts``); safe to run twice."""
    return alerts.push_alerts(ids, dedupe_keys, written_at)
