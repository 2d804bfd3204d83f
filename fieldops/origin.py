"""Where a request came from, kept privacy-consciously (R52): the client's network (its
address cut to the /24 of IPv4 or the /48 of IPv6), its browser (the User-Agent) and the
device cookie the technician pages set (``DEVICE_COOKIE``), each as a keyed hash
(HMAC-SHA256 with a key derived from ``SECRET_KEY``). The raw address, User-Agent and
cookie never leave the request; two hashes are equal exactly when the values were, which
is all the comparison needs (a survey answered from the technician's own device or
network). The client's address is ``fieldops.logins.client_address``: ``REMOTE_ADDR``, or
behind ``TRUSTED_PROXY_COUNT`` proxies the address the outermost one saw.

``RequestOriginMiddleware`` makes the current request's origin readable from the services'
event handlers (``current()``) without passing the request down the floors; outside a
request (Celery, the demo, management commands) there is none.
"""

from __future__ import annotations

import contextlib
import contextvars
import dataclasses
import ipaddress
import re
from collections.abc import Callable, Iterator

from django.http import HttpRequest, HttpResponse
from django.utils.crypto import salted_hmac

from .logins import client_address

#: The cookie that names a technician's phone (set by the technician pages, fieldapp).
DEVICE_COOKIE = "fieldops_device"
DEVICE_ID = re.compile(r"[A-Za-z0-9_-]{16,64}")
#: The network prefix kept of an address: a household's or an office's, not the host.
IPV4_PREFIX = 24
IPV6_PREFIX = 48

_SALT = "fieldops.origin"
_request: contextvars.ContextVar[HttpRequest | None] = contextvars.ContextVar(
    "fieldops_request", default=None)


@dataclasses.dataclass(frozen=True)
class Origin:
    """Keyed hashes (32 hex digits), empty where the request did not carry the value."""

    network: str
    device: str
    browser: str


def keyed_hash(kind: str, value: str) -> str:
    return salted_hmac(_SALT, f"{kind}:{value}", algorithm="sha256").hexdigest()[:32]


def network_prefix(address: str | None) -> str:
    """``203.0.113.0/24``, ``2001:db8:1::/48`` (an IPv4-mapped IPv6 address is IPv4); empty
    for anything that is not an address."""
    try:
        ip = ipaddress.ip_address((address or "").strip())
    except ValueError:
        return ""
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    bits = IPV4_PREFIX if ip.version == 4 else IPV6_PREFIX
    return str(ipaddress.ip_network(f"{ip}/{bits}", strict=False))


def device_id(request: HttpRequest) -> str:
    value = request.COOKIES.get(DEVICE_COOKIE, "")
    return value if DEVICE_ID.fullmatch(value) else ""


def of_request(request: HttpRequest) -> Origin:
    prefix = network_prefix(client_address(request))
    device = device_id(request)
    agent = request.headers.get("User-Agent", "")[:512]
    return Origin(network=keyed_hash("net", prefix) if prefix else "",
                  device=keyed_hash("device", device) if device else "",
                  browser=keyed_hash("agent", agent) if agent else "")


def current() -> Origin | None:
    """The origin of the request being served, or None outside a request."""
    request = _request.get()
    if request is None:
        return None
    origin = getattr(request, "_fieldops_origin", None)
    if origin is None:
        origin = of_request(request)
        request._fieldops_origin = origin  # type: ignore[attr-defined]
    return origin


@contextlib.contextmanager
def serving(request: HttpRequest) -> Iterator[None]:
    """While this request is served, ``current()`` is its origin."""
    token = _request.set(request)
    try:
        yield
    finally:
        _request.reset(token)


class RequestOriginMiddleware:
    """Makes ``current()`` answer for the request being served (computed on first use)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        with serving(request):
            return self.get_response(request)
