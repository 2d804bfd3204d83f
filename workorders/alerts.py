"""Who an in-app alert is meant for, what it is called, and its Web Push fan-out.

An alert (``notifications.Notification``, channel ``in_app``) is addressed to a person
(``recipient``) or to a role (``address="role:dispatcher"``, ``"role:supervisor"``,
``"role:call_centre"``). A role's alerts are meant for the people in it; for dispatchers,
those of the orders in the areas they run (``Area.dispatchers``), or every area when they
run none (a one-desk office). The console's inbox (``console.inbox``) and the push fan-out
both ask ``meant_for``, so the two never disagree.

Push: while ``notifications.push`` is on, the outbox publishes ``AlertsWritten``; the
handler here queues ``push_alerts`` after commit (through the task outbox, so a broker
outage loses nothing), which writes one ``push`` row per alert and person with a
subscribed browser (dedupe key ``push:<alert>:<user>``: at most once, however often it
runs). A new assignment is pushed to the technician's phone (R4).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.db.models import Exists, OuterRef, Q
from django.urls import reverse
from django.utils import translation
from django.utils.translation import gettext_lazy as _

from fieldops import bus, outbox, roles
from notifications import push
from notifications.events import AlertsWritten
from notifications.models import Channel, Notification, PushSubscription
from notifications.services import notify
from technicians.models import Area

from .events import OrderAction, OrderEvent

#: The roles whose alerts reach an inbox (technicians get theirs by name).
INBOX_ROLES = (roles.DISPATCHER, roles.SUPERVISOR, roles.CALL_CENTRE)

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
    "assigned": _("New order for you"),
}


def kind_label(kind: str) -> str:
    return str(KIND_LABELS.get(kind, _("Alert")))


def meant_for(user: Any) -> Q:
    """The condition on ``Notification`` rows meant for ``user`` (one query: the user's
    roles and areas are subqueries inside it)."""
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
    return meant & Q(channel=Channel.IN_APP)


def audience(alert: Notification) -> list[Any]:
    """The active users an alert is meant for."""
    users = get_user_model().objects.filter(is_active=True)
    if alert.recipient_id is not None:
        return list(users.filter(pk=alert.recipient_id))
    role = alert.address.removeprefix("role:")
    if role not in INBOX_ROLES:
        return []
    people = users.filter(Q(groups__name=role) | Q(is_superuser=True, is_staff=True))
    if role == roles.DISPATCHER and alert.order is not None:
        runs_this = Area.objects.filter(pk=alert.order.area_id, dispatchers=OuterRef("pk"))
        runs_any = Area.objects.filter(dispatchers=OuterRef("pk"))
        people = people.filter(Q(Exists(runs_this)) | ~Q(Exists(runs_any))
                               | Q(is_superuser=True))
    return list(people.distinct())


def push_alerts(ids: list[int], dedupe_keys: list[str], written_at: str | None = None) -> int:
    """One ``push`` row per alert and person with a subscribed browser; returns how many
    were written (none again for the same alert and person). The alerts: by id, by dedupe
    key, or every in-app row created at ``written_at`` (ISO time)."""
    which = Q(pk__in=ids) | Q(dedupe_key__in=dedupe_keys)
    if written_at:
        which |= Q(created_at=dt.datetime.fromisoformat(written_at))
    alerts = (Notification.objects.filter(which, channel=Channel.IN_APP)
              .select_related("order"))
    written = 0
    for alert in alerts:
        people = {user.pk: user for user in audience(alert)}
        subscribed = set(PushSubscription.objects.filter(user__in=list(people))
                         .values_list("user_id", flat=True))
        for user_id in sorted(subscribed):
            user = people[user_id]
            if not user.is_staff:  # a technician: his order's page
                url = reverse("tech:order", args=[alert.order_id]) if alert.order_id else "/"
            elif alert.order_id:
                url = reverse("admin:workorders_workorder_change", args=[alert.order_id])
            else:
                url = reverse("console-alerts")
            note = notify(channel=Channel.PUSH, kind=alert.kind, recipient=user,
                          subject=kind_label(alert.kind), body=alert.body, order=alert.order,
                          params={"url": url}, dedupe_key=f"push:{alert.pk}:{user_id}")
            written += note is not None
    return written


def push_after_commit(event: AlertsWritten) -> None:
    # .tasks imports this module (the task calls push_alerts).
    from .tasks import push_alerts_task

    outbox.send_after_commit(push_alerts_task, list(event.ids), list(event.dedupe_keys),
                             event.written_at.isoformat() if event.written_at else None)


def tell_assigned_technician(event: OrderEvent) -> None:
    """R4: a dispatched or reassigned order is pushed to its (new) technician's phone, if
    push is on and the phone subscribed (nothing is written otherwise)."""
    if event.action not in (OrderAction.DISPATCH, OrderAction.REASSIGN,
                            OrderAction.REASSIGN_REWORK) or not push.enabled():
        return
    technician = event.order.technician
    if technician is None or not PushSubscription.objects.filter(
            user_id=technician.user_id).exists():
        return
    with translation.override(settings.LANGUAGE_CODE):
        subject = kind_label("assigned")
        body = _("Order %(number)s is yours: %(address)s.") % {
            "number": event.order.number, "address": event.order.address}
    notify(channel=Channel.PUSH, kind="assigned", recipient=technician.user, subject=subject,
           body=str(body), order=event.order,
           params={"url": reverse("tech:order", args=[event.order.pk])},
           dedupe_key=f"push:assigned:{event.row.pk}")


def register() -> None:
    bus.subscribe(AlertsWritten, push_after_commit)
    bus.subscribe(OrderEvent, tell_assigned_technician)
