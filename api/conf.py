"""The API's knobs, each overridable in settings (``API_<NAME>``)."""

from __future__ import annotations

from typing import Any

from django.conf import settings

DEFAULTS: dict[str, Any] = {
    #: Largest request body accepted (bytes); larger ones get 413 before parsing.
    "MAX_BODY_BYTES": 64 * 1024,
    #: How long an Idempotency-Key is remembered (seconds).
    "IDEMPOTENCY_TTL_SECONDS": 24 * 3600,
    #: Requests per minute for staff using the API with a browser session.
    "SESSION_RATE_PER_MINUTE": 300,
    #: A token's "last used" time is written at most this often (seconds).
    "TOKEN_TOUCH_SECONDS": 60,
    #: An API client's permissions are cached per process this long (0: never).
    "PERMISSION_CACHE_SECONDS": 30,
    #: Webhook endpoints must be HTTPS; allow plain HTTP to loopback hosts (tests, demos).
    "WEBHOOK_ALLOW_HTTP_LOOPBACK": False,
    #: Seconds to wait for a webhook receiver before counting the attempt as failed.
    "WEBHOOK_TIMEOUT_SECONDS": 5.0,
    #: Receivers should refuse signatures older than this (seconds); documented tolerance.
    "WEBHOOK_TOLERANCE_SECONDS": 300,
    #: Bad API keys accepted from one address per minute; then 429 until the minute ends.
    "KEY_FAILURES_PER_MINUTE": 20,
    "PAGE_SIZE": 50,
    "MAX_PAGE_SIZE": 200,
}


def get(name: str) -> Any:
    return getattr(settings, f"API_{name}", DEFAULTS[name])
