"""Browsers subscribe to Web Push here (``/push/``): the subscription as JSON, from a
logged-in page (session and CSRF token), and the service worker that shows the pushes."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from . import push

WORKER = Path(__file__).parent / "static" / "notifications" / "push-sw.js"


def _problem(status: int, detail: str) -> JsonResponse:
    return JsonResponse({"detail": detail}, status=status)


def _body(request: HttpRequest) -> Any:
    try:
        return json.loads(request.body or b"null")
    except (ValueError, UnicodeDecodeError):
        raise ValidationError(_("Send the browser's push subscription as a JSON object.")) \
            from None


@require_POST
def subscribe(request: HttpRequest) -> HttpResponse:
    if not request.user.is_authenticated:
        return _problem(403, _("Log in first, then turn on notifications."))
    if not push.enabled():
        return _problem(404, _("Browser notifications are not set up on this server."))
    try:
        push.subscribe(request.user, _body(request),
                       user_agent=request.headers.get("User-Agent", ""))
    except ValidationError as error:
        return _problem(400, " ".join(error.messages))
    return JsonResponse({"detail": _("This browser will be notified.")}, status=201)


@require_POST
def unsubscribe(request: HttpRequest) -> HttpResponse:
    if not request.user.is_authenticated:
        return _problem(403, _("Log in first, then turn on notifications."))
    try:
        data = _body(request)
    except ValidationError as error:
        return _problem(400, " ".join(error.messages))
    endpoint = data.get("endpoint") if isinstance(data, dict) else None
    if not isinstance(endpoint, str) or not endpoint:
        return _problem(400, _("Say which subscription to end (its endpoint)."))
    push.unsubscribe(request.user, endpoint)
    return HttpResponse(status=204)


@require_GET
def worker(request: HttpRequest) -> HttpResponse:
    """The service worker, from the site's root so it may serve every page (scope ``/``)."""
    response = HttpResponse(WORKER.read_text(), content_type="text/javascript")
    response["Service-Worker-Allowed"] = "/"
    response["Cache-Control"] = "no-cache"
    return response


def public_key() -> str:
    return settings.WEBPUSH_VAPID_PUBLIC_KEY if push.enabled() else ""
