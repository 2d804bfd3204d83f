"""Signing and sending webhook deliveries (called by the notification outbox).

Each delivery is a POST of the JSON body with these headers:

- ``X-Fieldops-Event``: the event type (``order.state_changed``...);
- ``X-Fieldops-Delivery``: the delivery id, the same on every retry (de-duplicate on it);
- ``X-Fieldops-Signature: t=<unix seconds>,v1=<hex>``, where ``hex`` is
  HMAC-SHA256(secret, "<t>." + body). The timestamp is taken at each attempt, so a
  receiver refuses anything older than a few minutes (replay) and compares in constant time.

The outbox (``notifications.services.deliver``) claims the row, calls ``send_webhook``
and retries with backoff when it raises; nothing here loops or sleeps.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import urllib.error
import urllib.request
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

from django.utils.translation import gettext as _

from fieldops import clock

from . import conf
from .models import WebhookDelivery

SIGNATURE_HEADER = "X-Fieldops-Signature"
EVENT_HEADER = "X-Fieldops-Event"
DELIVERY_HEADER = "X-Fieldops-Delivery"
USER_AGENT = "fieldops-webhooks/1"


class WebhookError(Exception):
    """The receiver did not take the delivery (it is retried with backoff)."""


def sign(secret: str, body: bytes, timestamp: int) -> str:
    """The signature header value for ``body`` sent at ``timestamp``."""
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return f"t={timestamp},v1={mac.hexdigest()}"


def verify(secret: str, body: bytes, header: str, *, now: float | None = None,
           tolerance: int | None = None) -> bool:
    """What a receiver does: the signature matches and is recent (replay protection)."""
    tolerance = conf.get("WEBHOOK_TOLERANCE_SECONDS") if tolerance is None else tolerance
    now = clock.now().timestamp() if now is None else now
    parts = dict(p.strip().partition("=")[::2] for p in header.split(","))
    try:
        timestamp = int(parts.get("t", ""))
    except ValueError:
        return False
    if abs(now - timestamp) > tolerance:
        return False
    expected = sign(secret, body, timestamp).split("v1=", 1)[1]
    return hmac.compare_digest(expected, parts.get("v1", ""))


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _is_internal_address(host: str) -> bool:
    """A literal IP that is private, loopback, link-local or reserved (names are not
    resolved here; the receiving network's egress rules are the second line)."""
    if host == "localhost":
        return True
    try:
        address = ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return False
    return (address.is_private or address.is_loopback or address.is_link_local
            or address.is_reserved or address.is_multicast or address.is_unspecified)


def check_url(url: str) -> str | None:
    """Why ``url`` can't be a webhook endpoint, or None if it can."""
    parts = urlsplit(url)
    if parts.username or parts.password:
        return _("Put no credentials in the URL; verify the signature instead.")
    if not parts.hostname:
        return _("Give a full URL with a host name.")
    allow_loopback = conf.get("WEBHOOK_ALLOW_HTTP_LOOPBACK") and is_loopback(parts.hostname)
    if _is_internal_address(parts.hostname) and not allow_loopback:
        # Deliveries leave from inside our network: never point them back into it.
        return _("Webhook endpoints must be public addresses, not private or local ones.")
    if parts.scheme == "https":
        return None
    if (parts.scheme == "http" and conf.get("WEBHOOK_ALLOW_HTTP_LOOPBACK")
            and is_loopback(parts.hostname)):
        return None
    return _("Webhook endpoints must use HTTPS.")


def _urllib_post(url: str, body: bytes, headers: dict[str, str], timeout: float) -> int:
    request = urllib.request.Request(url, data=body, headers=headers, method="POST")
    opener = urllib.request.build_opener(_NoRedirect)
    try:
        with opener.open(request, timeout=timeout) as response:
            return int(response.status)
    except urllib.error.HTTPError as exc:
        return int(exc.code)
    except (urllib.error.URLError, OSError) as exc:
        raise WebhookError(f"{url}: {exc}") from exc


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    """A redirect is an answer, not an invitation: it counts as a failed attempt."""

    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


#: ``transport(url, body, headers, timeout) -> HTTP status``; tests replace it.
transport: Callable[[str, bytes, dict[str, str], float], int] = _urllib_post


def send_webhook(note: Any) -> None:
    """Send one outbox notification of the webhook channel; raise unless the receiver
    answered 2xx (the outbox then retries with backoff, then gives up)."""

    delivery = (WebhookDelivery.objects.select_related("endpoint__client")
                .filter(notification=note).first())
    if delivery is None:
        raise WebhookError(f"notification {note.pk} has no webhook delivery")
    endpoint = delivery.endpoint
    if not endpoint.is_active or not endpoint.client.is_active:
        raise WebhookError("endpoint disabled")
    body = note.body.encode()
    headers = {
        "Content-Type": "application/json; charset=utf-8",
        "User-Agent": USER_AGENT,
        EVENT_HEADER: delivery.event_type,
        DELIVERY_HEADER: str(note.pk),
        SIGNATURE_HEADER: sign(endpoint.secret, body, int(clock.now().timestamp())),
    }
    status = transport(endpoint.url, body, headers, conf.get("WEBHOOK_TIMEOUT_SECONDS"))
    if not 200 <= status < 300:
        raise WebhookError(f"{endpoint.url} answered HTTP {status}")
