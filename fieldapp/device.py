"""The technician's phone gets a name of its own (R52): a random device id in a long-lived
cookie, set by the technician pages on their first answer to a browser without one. It is
``fieldops.origin.DEVICE_COOKIE`` (path ``/``, so the customer's survey page on the same
phone sees it too) and is only ever kept as a keyed hash: the signal "survey answered
from the technician's own device" compares those hashes (``quality``)."""

from __future__ import annotations

import secrets
from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse

from fieldops.origin import DEVICE_COOKIE, device_id

#: The technician pages and their replay endpoint (fieldops/urls.py).
PREFIXES = ("/tech/", "/api/v1/field/")
MAX_AGE = 400 * 24 * 3600  # the longest a browser keeps a cookie


class DeviceCookieMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if not request.path.startswith(PREFIXES) or device_id(request):
            return self.get_response(request)
        new = secrets.token_urlsafe(18)
        request.COOKIES[DEVICE_COOKIE] = new  # this request's steps already carry it
        response = self.get_response(request)
        response.set_cookie(DEVICE_COOKIE, new, max_age=MAX_AGE, path="/", httponly=True,
                            samesite="Lax", secure=settings.SESSION_COOKIE_SECURE)
        return response
