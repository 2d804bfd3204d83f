"""Requests refused before any view sees them."""

from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse
from django.utils.translation import gettext as _

#: The call-centre API checks its own parameters (a NUL is refused naming the parameter,
#: in its problem+json format: docs/api.md).
API_PREFIX = "/api/"


class RefuseNulMiddleware:
    """A NUL byte in the URL's path or query (``?q=%00`` in an admin search or filter) is
    a 400 that says so. PostgreSQL can't hold a NUL in a text value, so a search for one
    failed inside the database, as a 500."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if not request.path.startswith(API_PREFIX) and (
                "\x00" in request.path or any(
                    "\x00" in key or any("\x00" in value for value in values)
                    for key, values in request.GET.lists())):
            return HttpResponse(
                _("The address contains a NUL character (character code 0); remove it from "
                  "the search or filter and try again."),
                status=400, content_type="text/plain; charset=utf-8")
        return self.get_response(request)
