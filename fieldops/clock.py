"""The one place the product asks what time it is.

Every rule that depends on time (SLA windows, lateness, token expiry) calls
``clock.now()`` instead of ``timezone.now()`` so tests can move time with
``time_machine`` and nothing sleeps.
"""

import datetime as dt

from django.utils import timezone


def now() -> dt.datetime:
    return timezone.now()


def today_local() -> dt.date:
    """Today's date in the configured time zone (Asia/Shanghai by default)."""
    return timezone.localdate(now())
