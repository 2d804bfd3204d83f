"""Per-client rate limits: a fixed one-minute window counted in the cache (Redis in
production, atomic INCR), answered with 429 and ``Retry-After``.

Every request counts, so with Redis the count is one round trip (INCR and EXPIRE NX in a
pipeline) through one client object per process; Django's cache API would make two round
trips and build a new Redis client object for each."""

from __future__ import annotations

import weakref
from typing import Any

from django.core.cache import caches
from django.core.cache.backends.redis import RedisCache
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
        count = count_request(f"{NAMESPACE}:{scope}:{window}")
        if count <= limit:
            return True
        self._wait = (window + 1) * WINDOW_SECONDS - now
        return False

    def wait(self) -> float | None:
        return max(1.0, self._wait)


#: The Redis client of each cache connection, made once (it is thread-safe and its
#: connection pool reconnects after a fork).
_REDIS: weakref.WeakKeyDictionary[Any, Any] = weakref.WeakKeyDictionary()


def count_request(key: str) -> int:
    """Add one to the window's counter and return it; atomic across processes with Redis.
    The counter is the cache's own key (``cache.incr(key)`` counts in the same one)."""
    cache = caches["default"]
    if isinstance(cache, RedisCache):
        backend = cache._cache
        client = _REDIS.get(backend)
        if client is None:
            client = _REDIS[backend] = backend.get_client(write=True)
        name = cache.make_and_validate_key(key)
        pipe = client.pipeline(transaction=False)
        pipe.incr(name)
        pipe.expire(name, WINDOW_SECONDS * 2, nx=True)
        count, _expiry = pipe.execute()
        return int(count)
    # add() is a no-op when the key exists; incr() is atomic where the backend is.
    cache.add(key, 0, timeout=WINDOW_SECONDS * 2)
    try:
        return int(cache.incr(key))
    except ValueError:  # expired between add and incr
        cache.add(key, 1, timeout=WINDOW_SECONDS * 2)
        return 1
