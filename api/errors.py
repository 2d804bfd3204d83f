"""One error format for the whole API: problem+json (RFC 9457).

Every refusal is a JSON object ``{type, title, status, detail, code, instance, errors}``
served as ``application/problem+json``. ``errors`` lists field problems with a dotted
path (``customer.phone``, ``items.0``). Domain errors keep their own extras:
``IllegalTransition`` adds ``state`` and ``allowed_actions``; ``ConcurrentModification``
``current_version``; ``RuleViolation`` names its ``rule`` and the field.
"""

from __future__ import annotations

import logging
from typing import Any

from django.core.exceptions import PermissionDenied, RequestDataTooBig, SuspiciousOperation
from django.http import Http404, HttpRequest, JsonResponse
from django.utils.cache import add_never_cache_headers
from django.utils.translation import gettext_lazy as _
from django.views.decorators.csrf import csrf_exempt
from rest_framework import exceptions
from rest_framework.response import Response

from workorders.errors import DomainError, RuleViolation

logger = logging.getLogger("django.request")
PROBLEM_CONTENT_TYPE = "application/problem+json"
TYPE_BASE = "urn:fieldops:problem:"

#: Short titles per code; ``detail`` carries the specific, actionable message.
TITLES: dict[str, Any] = {
    "validation_error": _("The request has invalid fields."),
    "parse_error": _("The request body could not be read."),
    "payload_too_large": _("The request body is too large."),
    "unsupported_media_type": _("Unsupported content type."),
    "not_authenticated": _("Authentication required."),
    "authentication_failed": _("Authentication failed."),
    "permission_denied": _("Not allowed."),
    "not_permitted": _("Not allowed."),
    "not_found": _("Not found."),
    "method_not_allowed": _("Method not allowed."),
    "not_acceptable": _("Not acceptable."),
    "throttled": _("Too many requests."),
    "illegal_transition": _("The action is not possible in the order's current state."),
    "concurrent_modification": _("The order was changed by someone else."),
    "precondition_failed": _("The order changed since you read it."),
    "precondition_required": _("If-Match is required."),
    "rule_violation": _("The request breaks a rule of the service."),
    "idempotency_key_reused": _("The Idempotency-Key was used for a different request."),
    "idempotency_key_missing": _("An Idempotency-Key header is required."),
    "duplicate_reference": _("The call-centre reference is already used."),
    "no_technician_available": _("No technician is available."),
    "already_answered": _("Already answered."),
    "inspection_decided": _("The inspection was decided already."),
    "bad_request": _("Bad request."),
    "internal_error": _("Internal error."),
    "error": _("Error."),
}


class ApiProblem(exceptions.APIException):
    """An API-level refusal with a code and extra members (not a domain rule)."""

    def __init__(self, status: int, code: str, detail: Any, **extra: Any) -> None:
        super().__init__(detail=detail, code=code)
        self.status_code = status
        self.code = code
        self.extra = extra


def problem(*, status: int, code: str, detail: Any, instance: str = "",
            errors: list[dict[str, Any]] | None = None, **extra: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "type": TYPE_BASE + code,
        "title": str(TITLES.get(code, TITLES["error"])),
        "status": status,
        "detail": str(detail),
        "code": code,
    }
    if instance:
        body["instance"] = instance
    body["errors"] = errors or []
    body.update(extra)
    return body


def flatten(detail: Any, path: str = "") -> list[dict[str, Any]]:
    """DRF's nested error detail as a flat list of ``{field, code, message}``."""
    if isinstance(detail, dict):
        out = []
        for key, value in detail.items():
            key = str(key)
            sub = "" if key in ("non_field_errors", "__all__") else key
            out += flatten(value, f"{path}.{sub}" if path and sub else (sub or path))
        return out
    if isinstance(detail, list):
        if all(not isinstance(d, dict | list) for d in detail):
            return [{"field": path or None, "code": getattr(d, "code", "invalid"),
                     "message": str(d)} for d in detail]
        out = []
        for i, value in enumerate(detail):
            out += flatten(value, f"{path}.{i}" if path else str(i))
        return out
    return [{"field": path or None, "code": getattr(detail, "code", "invalid"),
             "message": str(detail)}]


def _response(body: dict[str, Any], headers: dict[str, str] | None = None) -> Response:
    response = Response(body, status=body["status"], headers=headers)
    response.content_type = PROBLEM_CONTENT_TYPE
    return response


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    """DRF's EXCEPTION_HANDLER: every known refusal becomes problem+json."""
    request = context.get("request")
    instance = request.path if request is not None else ""
    if isinstance(exc, DomainError):
        details = dict(exc.details)
        errors = []
        if isinstance(exc, RuleViolation) and exc.field:
            errors = [{"field": exc.field, "code": exc.rule or exc.code, "message": exc.message}]
        return _response(problem(status=exc.status, code=exc.code, detail=exc.message,
                                 instance=instance, errors=errors, **details))
    if isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, PermissionDenied):
        exc = exceptions.PermissionDenied()
    elif isinstance(exc, RequestDataTooBig):
        exc = ApiProblem(413, "payload_too_large", TITLES["payload_too_large"])
    elif isinstance(exc, SuspiciousOperation):
        exc = ApiProblem(400, "bad_request", str(exc) or TITLES["bad_request"])
    if not isinstance(exc, exceptions.APIException):
        # A bug. Logged with its traceback like Django's own 500s, answered in the API's
        # format; the request's transaction (if any) was rolled back by the service.
        logger.error("Internal Server Error: %s", instance, exc_info=exc,
                     extra={"status_code": 500, "request": getattr(request, "_request", None)})
        return _response(problem(
            status=500, code="internal_error", instance=instance,
            detail=_("Something went wrong on our side; nothing was changed. Try again, and "
                     "tell us if it keeps happening.")))
    headers: dict[str, str] = {}
    wait = getattr(exc, "wait", None) if isinstance(exc, exceptions.Throttled) else None
    if wait is not None:
        headers["Retry-After"] = str(max(1, int(wait + 0.999)))
    if isinstance(exc, exceptions.NotAuthenticated | exceptions.AuthenticationFailed):
        headers["WWW-Authenticate"] = 'Bearer realm="api"'
        exc.status_code = 401
    if isinstance(exc, ApiProblem):
        return _response(problem(status=exc.status_code, code=exc.code, detail=exc.detail,
                                 instance=instance, **exc.extra), headers)
    if isinstance(exc, exceptions.ValidationError):
        errors = flatten(exc.detail)
        return _response(problem(
            status=400, code="validation_error", instance=instance, errors=errors,
            detail=_("Fix the fields listed in errors and send the request again.")), headers)
    code = _code_of(exc)
    detail = exc.detail if not isinstance(exc.detail, dict | list) else TITLES.get(code, "")
    return _response(problem(status=exc.status_code, code=code, detail=detail,
                             instance=instance), headers)


def _code_of(exc: exceptions.APIException) -> str:
    codes = exc.get_codes()
    code = codes if isinstance(codes, str) else exc.default_code
    return {"parse_error": "parse_error", "unsupported_media_type": "unsupported_media_type",
            "not_authenticated": "not_authenticated"}.get(code, code)


@csrf_exempt  # nothing to protect; a POST must get the 404, not the CSRF page
def not_found_view(request: HttpRequest, *args: Any, **kwargs: Any) -> JsonResponse:
    """Unknown URLs under /api/v1/ answer problem+json too, not Django's HTML page."""
    body = problem(status=404, code="not_found", instance=request.path,
                   detail=_("No such endpoint; see /api/v1/schema/ for the ones that exist."))
    response = JsonResponse(body, status=404, content_type=PROBLEM_CONTENT_TYPE,
                            json_dumps_params={"ensure_ascii": False})
    add_never_cache_headers(response)
    return response
