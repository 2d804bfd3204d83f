"""Web Push (RFC 8030, 8291, 8292): browsers subscribe, and the outbox delivers ``push`` rows
to every browser the recipient subscribed, encrypted for each and signed with the server's
VAPID key (``pywebpush``).

Settings: ``WEBPUSH_VAPID_PRIVATE_KEY`` and ``WEBPUSH_VAPID_PUBLIC_KEY`` (base64url, as
``python3 dev.py manage webpush_keys`` prints them; no key: push is off and nothing is
written for it), ``WEBPUSH_SUBJECT`` (a ``mailto:`` or ``https:`` contact for the push
services), ``WEBPUSH_ALLOWED_HOSTS`` (the push services a subscription may name: the server
sends there, so an arbitrary URL is refused), ``WEBPUSH_TTL`` (seconds a push service keeps
an undelivered message). A subscription whose push service answers 404 or 410 is removed.
"""

from __future__ import annotations

import base64
import binascii
import json
import logging
from typing import Any
from urllib.parse import urlsplit

import requests
from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from fieldops import clock

from .backends import PermanentSmsError, register_channel
from .models import Channel, Notification, PushSubscription

logger = logging.getLogger(__name__)


def enabled() -> bool:
    return bool(settings.WEBPUSH_VAPID_PRIVATE_KEY and settings.WEBPUSH_VAPID_PUBLIC_KEY)


def _key_bytes(value: Any, name: str, length: int) -> str:
    if not isinstance(value, str) or not value:
        raise ValidationError(_("The subscription has no %(name)s key.") % {"name": name})
    try:
        raw = base64.b64decode(value + "=" * (-len(value) % 4), altchars=b"-_", validate=True)
    except (binascii.Error, ValueError):
        raise ValidationError(_("The %(name)s key is not base64url.") % {"name": name}) from None
    if len(raw) != length:
        raise ValidationError(_("The %(name)s key must be %(n)d bytes.")
                              % {"name": name, "n": length})
    return value


def _host_allowed(host: str) -> bool:
    host = host.lower().rstrip(".")
    return any(host == allowed or host.endswith("." + allowed)
               for allowed in settings.WEBPUSH_ALLOWED_HOSTS)


def check_subscription(data: Any) -> tuple[str, str, str]:
    """The browser's ``PushSubscription.toJSON()``: its endpoint and keys, or a
    ValidationError saying what is wrong."""
    if not isinstance(data, dict):
        raise ValidationError(_("Send the browser's push subscription as a JSON object."))
    endpoint = data.get("endpoint")
    if not isinstance(endpoint, str) or len(endpoint) > 1000:
        raise ValidationError(_("The subscription has no endpoint."))
    parts = urlsplit(endpoint)
    secure = parts.scheme == "https" or (parts.scheme == "http" and settings.WEBPUSH_ALLOW_HTTP)
    if not secure or not parts.hostname:
        raise ValidationError(_("The endpoint must be an https:// address of a push service."))
    if not _host_allowed(parts.hostname):
        raise ValidationError(_("%(host)s is not a push service this server sends to.")
                              % {"host": parts.hostname})
    keys: dict[str, Any] = data["keys"] if isinstance(data.get("keys"), dict) else {}
    p256dh = _key_bytes(keys.get("p256dh"), "p256dh", 65)
    auth = _key_bytes(keys.get("auth"), "auth", 16)
    return endpoint, p256dh, auth


def subscribe(user: Any, data: Any, *, user_agent: str = "") -> PushSubscription:
    """Keep the browser's subscription for ``user`` (one row per endpoint: the same browser
    after another login belongs to the new user)."""
    endpoint, p256dh, auth = check_subscription(data)
    with transaction.atomic():
        row, _created = PushSubscription.objects.update_or_create(
            endpoint=endpoint, defaults={"user": user, "p256dh": p256dh, "auth": auth,
                                         "user_agent": user_agent[:200]},
            create_defaults={"user": user, "p256dh": p256dh, "auth": auth,
                             "user_agent": user_agent[:200], "created_at": clock.now()})
    return row


def unsubscribe(user: Any, endpoint: str) -> int:
    return PushSubscription.objects.filter(user=user, endpoint=endpoint).delete()[0]


def _session() -> requests.Session:
    session = requests.Session()
    session.trust_env = settings.WEBPUSH_USE_ENV_PROXY
    return session


def send(note: Notification) -> None:
    """The outbox's sender for ``push`` rows: one encrypted message to each browser of the
    recipient. Retried (an exception) when no browser took it and one may later; failed
    for good when the recipient has no browser left."""
    from pywebpush import WebPushException, webpush  # (and aiohttp) only where push is sent

    subscriptions = list(PushSubscription.objects.filter(user_id=note.recipient_id or 0))
    payload = json.dumps({"title": note.subject, "body": note.body,
                          "url": (note.params or {}).get("url", ""), "tag": note.kind},
                         ensure_ascii=False)
    delivered, errors = [], []
    session = _session()
    for sub in subscriptions:
        try:
            webpush({"endpoint": sub.endpoint, "keys": {"p256dh": sub.p256dh, "auth": sub.auth}},
                    payload, vapid_private_key=settings.WEBPUSH_VAPID_PRIVATE_KEY,
                    vapid_claims={"sub": settings.WEBPUSH_SUBJECT}, ttl=settings.WEBPUSH_TTL,
                    timeout=10, requests_session=session)
        except WebPushException as error:
            status = error.response.status_code if error.response is not None else None
            if status in (404, 410):
                sub.delete()  # the browser unsubscribed or the subscription expired
                logger.info("push subscription %s is gone (%s): removed", sub.pk, status)
                continue
            errors.append(f"{urlsplit(sub.endpoint).hostname}: {status or error}")
        except requests.RequestException as error:
            errors.append(f"{urlsplit(sub.endpoint).hostname}: {error}")
        else:
            delivered.append(sub.pk)
    if delivered:
        PushSubscription.objects.filter(pk__in=delivered).update(last_sent_at=clock.now())
        return
    if errors:
        raise RuntimeError("; ".join(errors))
    raise PermanentSmsError("no browser of the recipient is subscribed any more")


register_channel(Channel.PUSH, send)
