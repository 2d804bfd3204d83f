"""Signing and sending webhook deliveries (called by the notification outbox).

Each delivery is a POST of the JSON body, signed by the Standard Webhooks scheme
(https://www.standardwebhooks.com/, signed with its reference library ``standardwebhooks``),
so receivers verify it with that project's published libraries in any language:

- ``webhook-id``: the delivery id, the same on every retry (de-duplicate on it);
- ``webhook-timestamp``: unix seconds, taken at each attempt (refuse old ones: replay);
- ``webhook-signature: v1,<base64>``: HMAC-SHA256 over ``"<id>.<timestamp>.<body>"`` with
  the key the endpoint's secret ``whsec_<base64 key>`` names (``signing_key``).

and, unchanged for receivers written before, ``X-Fieldops-Event`` (the event type),
``X-Fieldops-Delivery`` (the delivery id) and ``X-Fieldops-Signature: t=<unix
seconds>,v1=<hex>`` (HMAC-SHA256 with the secret's text over ``"<t>." + body``; ``verify``).

The outbox (``notifications.services.deliver``) claims the row, calls ``send_webhook``
and retries with backoff when it raises; nothing here loops or sleeps.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import hashlib
import hmac
import http.client
import ipaddress
import secrets
import socket
from collections.abc import Callable
from typing import Any
from urllib.parse import SplitResult, urlsplit

from django.utils.translation import gettext as _
from standardwebhooks import Webhook

from fieldops import clock

from . import conf
from .models import WebhookDelivery

SIGNATURE_HEADER = "X-Fieldops-Signature"
EVENT_HEADER = "X-Fieldops-Event"
DELIVERY_HEADER = "X-Fieldops-Delivery"
USER_AGENT = "fieldops-webhooks/1"
SECRET_PREFIX = "whsec_"


class WebhookError(Exception):
    """The receiver did not take the delivery (it is retried with backoff)."""


def new_secret() -> str:
    """A signing secret as Standard Webhooks libraries take it: ``whsec_`` and the base64 of
    32 random bytes."""
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(32)).decode()


def signing_key(secret: str) -> bytes:
    """The HMAC key of the ``webhook-signature`` header: the bytes ``whsec_<base64>`` names.
    A secret issued before the scheme (``whsec_`` and URL-safe text, not base64 of a key)
    signs with its text's bytes, as its ``X-Fieldops-Signature`` always did; its receiver
    gives Standard Webhooks libraries ``whsec_`` + base64 of that text (docs/api.md)."""
    encoded = secret.removeprefix(SECRET_PREFIX)
    try:
        key = base64.b64decode(encoded, validate=True)
    except (binascii.Error, ValueError):
        return secret.encode()
    return key if key and len(encoded) % 4 == 0 else secret.encode()


def standard_headers(secret: str, delivery_id: str, body: bytes,
                     timestamp: int) -> dict[str, str]:
    """The Standard Webhooks headers of one attempt."""
    at = dt.datetime.fromtimestamp(timestamp, dt.UTC)
    return {
        "webhook-id": delivery_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": Webhook(signing_key(secret)).sign(delivery_id, at, body),
    }


def sign(secret: str, body: bytes, timestamp: int) -> str:
    """The ``X-Fieldops-Signature`` header value for ``body`` sent at ``timestamp``."""
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


def _getaddrinfo(host: str, port: int) -> list[str]:
    return [str(info[4][0]) for info in socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)]


#: ``resolve(host, port) -> addresses``, the system resolver; tests replace it.
resolve: Callable[[str, int], list[str]] = _getaddrinfo


def _ip(address: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address:
    ip = ipaddress.ip_address(address.split("%", 1)[0])  # drop an IPv6 zone (fe80::1%eth0)
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    return ip


def _is_internal(address: str) -> bool:
    """Private, loopback, link-local, shared (CGNAT), reserved, documentation, multicast or
    unspecified: anything but a public unicast address."""
    ip = _ip(address)
    return not ip.is_global or ip.is_multicast


class EndpointRefused(Exception):
    """Why a URL can't be (or no longer is) a webhook endpoint."""


def _port(parts: SplitResult) -> int:
    try:
        port = parts.port
    except ValueError:
        raise EndpointRefused(_("The URL's port is not a number from 1 to 65535.")) from None
    return port or (443 if parts.scheme == "https" else 80)


def public_addresses(url: str) -> list[str]:
    """The addresses ``url``'s host resolves to now, or ``EndpointRefused`` saying why
    it can't receive deliveries. The host is resolved, so a name or a number that points
    back into our network (``https://2130706433/`` is 127.0.0.1, as are ``127.1`` and
    ``0x7f.1``) is refused like the address itself. Checked at registration and again
    before each delivery, which connects to the very address checked."""
    parts = urlsplit(url)
    if parts.username or parts.password:
        raise EndpointRefused(_("Put no credentials in the URL; verify the signature instead."))
    host = parts.hostname
    if not host:
        raise EndpointRefused(_("Give a full URL with a host name."))
    port = _port(parts)
    try:
        addresses = resolve(host, port)
    except (OSError, UnicodeError, ValueError):
        raise EndpointRefused(
            _("The host %(host)s does not resolve to an address; give the endpoint's public "
              "host name.") % {"host": host}) from None
    if not addresses:
        raise EndpointRefused(_("The host %(host)s does not resolve to an address; give the "
                                "endpoint's public host name.") % {"host": host})
    loopback_allowed = (conf.get("WEBHOOK_ALLOW_HTTP_LOOPBACK")
                        and all(_ip(a).is_loopback for a in addresses))
    internal = [a for a in addresses if _is_internal(a)]
    if internal and not loopback_allowed:
        # Deliveries leave from inside our network: never point them back into it.
        raise EndpointRefused(
            _("Webhook endpoints must be public addresses; %(host)s is %(address)s, a private "
              "or local one.") % {"host": host, "address": internal[0]})
    if parts.scheme != "https" and not (parts.scheme == "http" and loopback_allowed):
        raise EndpointRefused(_("Webhook endpoints must use HTTPS."))
    return addresses


def check_url(url: str) -> str | None:
    """Why ``url`` can't be a webhook endpoint, or None if it can."""
    try:
        public_addresses(url)
    except EndpointRefused as exc:
        return str(exc)
    return None


def _http_post(url: str, body: bytes, headers: dict[str, str], timeout: float) -> int:
    """POST to the address just checked (a name that resolves elsewhere between the check
    and the connection is not followed), with the URL's host name for TLS and Host. No
    redirect is followed: a redirect is an answer, and it counts as a failed attempt."""
    parts = urlsplit(url)
    try:
        address = public_addresses(url)[0]
    except EndpointRefused as exc:
        raise WebhookError(f"{url}: {exc}") from None
    port = _port(parts)
    connection_class = (http.client.HTTPSConnection if parts.scheme == "https"
                        else http.client.HTTPConnection)
    connection = connection_class(parts.hostname or "", port, timeout=timeout)

    def connect_checked(_where: tuple[str, int], *args: Any, **kwargs: Any) -> socket.socket:
        return socket.create_connection((address, port), *args, **kwargs)

    # http.client opens its socket through this attribute; TLS still checks the host name.
    connection._create_connection = connect_checked  # type: ignore[attr-defined]
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    try:
        connection.request("POST", path, body=body, headers=headers)
        return int(connection.getresponse().status)
    except (OSError, http.client.HTTPException) as exc:
        raise WebhookError(f"{url}: {exc}") from exc
    finally:
        connection.close()


#: ``transport(url, body, headers, timeout) -> HTTP status``; tests replace it.
transport: Callable[[str, bytes, dict[str, str], float], int] = _http_post


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
    refused = check_url(endpoint.url)
    if refused is not None:
        # Resolved again: a name that pointed outside at registration may not any more.
        raise WebhookError(f"{endpoint.url}: {refused}")
    body = note.body.encode()
    timestamp = int(clock.now().timestamp())
    headers = {
        "Content-Type": "application/json; charset=utf-8",
        "User-Agent": USER_AGENT,
        **standard_headers(endpoint.secret, str(note.pk), body, timestamp),
        EVENT_HEADER: delivery.event_type,
        DELIVERY_HEADER: str(note.pk),
        SIGNATURE_HEADER: sign(endpoint.secret, body, timestamp),
    }
    status = transport(endpoint.url, body, headers, conf.get("WEBHOOK_TIMEOUT_SECONDS"))
    if not 200 <= status < 300:
        raise WebhookError(f"{endpoint.url} answered HTTP {status}")
