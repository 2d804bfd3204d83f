"""The alerts inbox: the in-app alerts meant for one staff member, newest first.

An alert is an in-app notification (``notifications.Notification``, written by the engine
or service that raised it, in the same transaction, R38). It reaches a person in one of two
ways: addressed to them (``recipient``: the technician of the order, the supervisors of a
team) or to a role (``address="role:dispatcher"``, ``"role:supervisor"``,
``"role:call_centre"``). A role's alerts
reach the people in that role; a dispatcher sees those of the orders in the areas they run
(``Area.dispatchers``, as the dashboards scope them), or every area when they run none
(a small office with one desk). Each person acknowledges an alert for themselves
(``notifications.Acknowledgement``: who and when); an unacknowledged alert is unread.
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth.models import Group
from django.db import IntegrityError, transaction
from django.db.models import Exists, OuterRef, Q, QuerySet, Subquery
from django.utils.translation import gettext_lazy as _

from fieldops import clock, roles
from notifications.models import Acknowledgement, Channel, Notification
from technicians.models import Area

#: What each kind of alert is, in words (the alert's own text says which order and when).
KIND_LABELS: dict[str, Any] = {
    "sla.warned": _("Promise at risk"),
    "sla.breached": _("Promise broken"),
    "sla.escalated": _("Escalated"),
    "cant_finish": _("Visit could not be finished"),
    "nobody_home": _("Nobody home"),
    "abnormal": _("Abnormal order"),
    "appointment_missed": _("Second missed appointment"),
    "rework_repeat": _("Rework again"),
    "rework_unassigned": _("Rework without a technician"),
    "callback_due": _("Callback due"),
    "change_request": _("Customer asked for a change"),
    "parked_resumed": _("Waiting order resumed"),
}


#: The roles whose alerts reach an inbox (technicians get theirs by name, on their pages).
INBOX_ROLES = (roles.DISPATCHER, roles.SUPERVISOR, roles.CALL_CENTRE)


def kind_label(kind: str) -> str:
    return str(KIND_LABELS.get(kind, _("Alert")))


def alerts_for(user: Any) -> QuerySet[Notification]:
    """Every in-app alert meant for ``user``, newest first, each with ``acknowledged``
    and ``acknowledged_at`` (by this user). One query: the user's roles and areas are
    conditions inside it, so the header's count costs one statement on every page."""
    meant = Q(recipient=user)
    for role in INBOX_ROLES:
        to_role = Q(recipient__isnull=True, address=f"role:{role}")
        if not user.is_superuser:
            to_role &= Q(Exists(Group.objects.filter(user=user, name=role)))
            if role == roles.DISPATCHER:
                runs = Area.objects.filter(dispatchers=user)
                to_role &= (Q(Exists(runs.filter(pk=OuterRef("order__area"))))
                            | ~Q(Exists(runs)))
        meant |= to_role
    mine = Acknowledgement.objects.filter(notification=OuterRef("pk"), user=user)
    return (Notification.objects.filter(meant, channel=Channel.IN_APP)
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
