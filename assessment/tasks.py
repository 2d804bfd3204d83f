"""Thin ledger tasks: safe to run twice (the entries' unique key)."""

import datetime as dt

from celery import shared_task

from fieldops import clock

from . import services


@shared_task(acks_late=True, ignore_result=True)
def close_last_month() -> int:
    """Beat runs this daily: the positive entries of the month that ended (R53 policy)."""
    last_month = clock.today_local().replace(day=1) - dt.timedelta(days=1)
    return services.on_time_months(last_month)
