"""The alerts inbox: the in-app alerts meant for one staff member, newest first.

Who an alert is meant for is ``workorders.alerts.meant_for`` (the push fan-out asks the
same). Each person acknowledges an alert for themselves (``notifications.Acknowledgement``:
who and when); an alert they have not acknowledged is unread.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Exists, OuterRef, QuerySet, Subquery

from fieldops import clock
from notifications.models import Acknowledgement, Notification
from workorders.alerts import kind_label, meant_for

__all__ = ["acknowledge", "alerts_for", "kind_label", "unread_count"]

def alerts_for(user: Any) -> QuerySet[Notification]:
    """Every in-app alert meant for ``user`` (``workorders.alerts.meant_for``) of the last
    ``ALERTS_INBOX_DAYS``, newest first, each with ``acknowledged`` and ``acknowledged_at``
    (by this user). Older alerts stay on their orders (the notification's admin page)."""
    mine = Acknowledgement.objects.filter(notification=OuterRef("pk"), user=user)
    since = clock.now() - dt.timedelta(days=settings.ALERTS_INBOX_DAYS)
    return (Notification.objects.filter(meant_for(user), created_at__gte=since)
            .annotate(acknowledged=Exists(mine),
                      acknowledged_at=Subquery(mine.values("at")[:1]))
            .select_related("order")
            .order_by("-created_at", "-id"))


def unread_count(user: Any) -> int:
    if not (user.is_authenticated and user.is_staff):
        return 0
    return alerts_for(user).exclude(acknowledgements__user=user).count()


def acknowledge(user: Any, alert_ids: list[int]) -> int:
    """Acknowledge the given alerts for ``user`` (only alerts meant for them; the others
    are left as they are). Returns how many were newly acknowledged; acknowledging twice
    changes nothing (the first time stays recorded)."""
    mine = list(alerts_for(user).filter(pk__in=alert_ids)
                .exclude(acknowledgements__user=user)
                .values_list("pk", flat=True))
    now = clock.now()
    done = 0
    for pk in mine:
        try:
            with transaction.atomic():
                Acknowledgement.objects.create(notification_id=pk, user=user, at=now)
        except IntegrityError:
            continue  # acknowledged meanwhile in another tab
        done += 1
    return done
