"""What the product says to people about an order: SMS to the customer (written in the site's
language, through the notification outbox) and in-app notices to staff."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.utils import timezone, translation

from notifications.backends.templates import SMS_KINDS
from notifications.models import Channel
from notifications.services import notify

from .models import WorkOrder


def local_text(moment: dt.datetime, fmt: str = "%m-%d %H:%M") -> str:
    return timezone.localtime(moment).strftime(fmt)


def sms_customer(order: WorkOrder, *, kind: str, body: Callable[[], str],
                  params: dict[str, Any], dedupe_key: str,
                  not_before: dt.datetime | None = None) -> bool:
    """Queue an SMS to the order's contact phone, written in the site's language (the
    customer's, not the technician's browser's). False when the key was used already.
    ``params``: the values the text is written from; the kind's values (``SMS_KINDS``) are
    kept on the row for the gateways that send approved templates only.
    ``not_before``: held in the outbox until then (R29's quiet hours)."""
    names = SMS_KINDS.get(kind)
    if names is None:
        raise ValueError(f"{kind!r} is not in notifications.backends.templates.SMS_KINDS")
    missing = [name for name in names if name not in params]
    if missing:
        raise ValueError(f"the SMS {kind!r} needs the values {', '.join(missing)}")
    with translation.override(settings.LANGUAGE_CODE):
        text = body()
    return notify(channel=Channel.SMS, kind=kind, body=text, address=order.contact_phone,
                  order=order, params={name: str(params[name]) for name in names},
                  dedupe_key=dedupe_key, not_before=not_before) is not None


def tell_users(users: Iterable[Any], order: WorkOrder, *, kind: str, body: str,
                dedupe: str) -> None:
    """In-app notices to staff (shown where they work)."""
    for user in users:
        notify(channel=Channel.IN_APP, kind=kind, body=body, recipient=user, order=order,
               dedupe_key=f"{dedupe}:{user.pk}")


def group_users(name: str) -> list[Any]:
    return list(get_user_model().objects.filter(groups__name=name, is_active=True))


def technician_text(order: WorkOrder) -> dict[str, str]:
    technician = order.technician
    return {"name": technician.display_name if technician else "",
            "phone": technician.phone if technician else "", "number": order.number}

