"""Per-client rate limits: a fixed one-minute window counted in the cache (Redis in
production, atomic INCR), answered with 429 and ``Retry-After``."""

from __future__ import annotations

from typing import Any

from django.core.cache import cache
from rest_framework.request import Request
from rest_framework.throttling import BaseThrottle

from fieldops import clock

from . import conf

WINDOW_SECONDS = 60
#: Cache key prefix of the counters (tests use their own).
NAMESPACE = "api:rate"


def client_of(user: Any) -> Any:
    return getattr(user, "api_client", None) if user is not None else None


class ClientRateThrottle(BaseThrottle):
    def __init__(self) -> None:
        self._wait = 0.0

    def allow_request(self, request: Request, view: Any) -> bool:
        user = request.user
        if not getattr(user, "is_authenticated", False):
            return True  # refused by authentication anyway
        client = client_of(user)
        if client is not None:
            scope, limit = f"c{client.pk}", client.rate_limit_per_minute
        else:
            scope, limit = f"u{user.pk}", conf.get("SESSION_RATE_PER_MINUTE")
        now = clock.now().timestamp()
        window = int(now // WINDOW_SECONDS)
        key = f"{NAMESPACE}:{scope}:{window}"
        # add() is a no-op when the key exists; incr() is atomic in Redis.
        cache.add(key, 0, timeout=WINDOW_SECONDS * 2)
        try:
            count = cache.incr(key)
        except ValueError:  # expired between add and incr
            cache.add(key, 1, timeout=WINDOW_SECONDS * 2)
            count = 1
        if count <= limit:
            return True
        self._wait = (window + 1) * WINDOW_SECONDS - now
        return False

    def wait(self) -> float | None:
        return max(1.0, self._wait)
