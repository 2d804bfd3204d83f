"""The technician pages offline (issue 16), the phone's half: which pages the phone keeps
for a day without signal, and the step pages it may open "ahead" of the order's state.

When Today loads online, the page lists the URLs to keep (``urls_to_keep``: Today, every
order of today's and tomorrow's day with its version and the step pages of its visit,
``VISIT_SEQUENCE``; an order's pages are fetched again when its version changed) and the
service worker (``templates/tech/sw.js``) fetches each with the header
``X-Offline-Copy: 1``. A step page asked for that way is rendered even when the step is
not offered in the order's state now (it is a copy to fill in offline; the queue sends it
later, with the version the page showed, and the server decides: R41 still holds, the
order must be the technician's own); a POST is never affected. The copy leaves the
session's messages for the page the technician sees.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import Any
from urllib.parse import quote

from django.conf import settings
from django.http import HttpRequest
from django.templatetags.static import static
from django.urls import reverse
from django.utils import timezone

from workorders.models import WorkOrder

OFFLINE_COPY_HEADER = "X-Offline-Copy"


def replay_url() -> str:
    """Where the phone sends its queued steps, one request each: ``fieldapp.sync``'s
    endpoint in front of ``workorders.offline.replay``."""
    return reverse("field:steps")


#: The steps of a visit a technician can do offline, in the visit's order: the contact
#: attempt (R7), the kit (R20), on my way (R13), check-in (R17), the on-site checklist's
#: pages (R22, R27, R43-R49), sign-off (R26), the completion report (R27) and the
#: nobody-home note (R18). Charges and payment (R47) need the network (the payment QR).
VISIT_SEQUENCE: tuple[str, ...] = (
    "contact", "kit", "depart", "check-in", "safety", "consent", "report", "tests",
    "equipment", "materials", "tryout", "cleanup", "sign-off", "complete", "nobody-home")

#: Steps done with one tap on the order page (no page of their own).
ONE_TAP = frozenset({"depart"})

#: Fields of a queued step that carry customer data (R40): the contact and nobody-home
#: notes (addresses, what was said), who answered or signed and the signature, photos at
#: the door or of the installation. When the session ends (expired on the server), the
#: phone drops the kept pages and the queued steps with any of these; the rest stay, to be
#: sent after the next login (``tech/queue.js`` ``forgetCustomerData``).
CUSTOMER_FIELDS: tuple[str, ...] = ("note", "customer_name", "signer_name", "signature",
                                    "comment", "question", "photo", "image", "caption")

#: The query parameter of the login page sent to when the session ended: it says so.
SESSION_ENDED = "ended"


def session_ended(request: HttpRequest) -> bool:
    """The phone still presents a session cookie the server no longer knows (it expired,
    or was ended by an administrator): not a first visit."""
    return (settings.SESSION_COOKIE_NAME in request.COOKIES
            and not request.user.is_authenticated)


def login_url(request: HttpRequest) -> str:
    """The login page for a request without a session, saying so when it ended."""
    url = f"{reverse('tech:login')}?next={quote(request.path)}"
    return f"{url}&{SESSION_ENDED}=1" if session_ended(request) else url


#: Static files the offline pages need besides the app shell (precached by the worker).
OFFLINE_ASSETS = ["tech/offline.js", "tech/queue.js", "vendor/idb-keyval/umd.js",
                  "tech/inventory.js", "tech/inventory.css"]


def is_offline_copy(request: HttpRequest) -> bool:
    """The service worker asks for a copy of the page to keep for offline use."""
    return request.method == "GET" and request.headers.get(OFFLINE_COPY_HEADER) == "1"


def kept_days(orders: Iterable[WorkOrder], today: dt.date) -> list[WorkOrder]:
    """The orders of today's and tomorrow's day (and those without a timed visit yet, whose
    contact call may be made anywhere); ``visit_start`` is ``today_orders``' annotation."""
    last = today + dt.timedelta(days=1)
    kept = []
    for order in orders:
        start = getattr(order, "visit_start", None)
        if start is None or timezone.localtime(start).date() <= last:
            kept.append(order)
    return kept


def step_urls(order: WorkOrder) -> list[str]:
    """The step pages of ``order``'s visit kept offline (one-tap steps have no page)."""
    return [reverse("tech:step", args=[order.pk, name]) for name in VISIT_SEQUENCE
            if name not in ONE_TAP]


def urls_to_keep(orders: Iterable[WorkOrder]) -> dict[str, Any]:
    """Today and the assets ("pages"); per order its version, its page and its visit's step
    pages ("orders": the phone fetches an order's pages again when its version changed)."""
    return {
        "pages": [reverse("tech:today"), *(static(path) for path in OFFLINE_ASSETS)],
        "orders": [{"order": order.pk, "version": order.version,
                    "urls": [reverse("tech:order", args=[order.pk]), *step_urls(order)]}
                   for order in orders],
    }
