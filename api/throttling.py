"""Per-client rate limits: a fixed one-minute window counted in the cache (Redis in
production, atomic INCR), answered with 429 and ``Retry-After``.

When Redis does not answer, requests are still served: each process counts in its own
memory against the same limits (so a client may get up to the limit once per process),
a WARNING says so at most once a minute, and Redis is tried again after a few seconds.

Every request counts, so with Redis the count is one round trip (INCR and EXPIRE NX in a
pipeline) through one client object per process; Django's cache API would make two round
trips and build a new Redis client object for each."""

from __future__ import annotations

import logging
import threading
import weakref
from typing import Any

from django.core.cache import caches
from django.core.cache.backends.redis import RedisCache
from redis.exceptions import RedisError
from rest_framework.request import Request
from rest_framework.throttling import BaseThrottle

from fieldops import clock, redisdown

from . import conf

WINDOW_SECONDS = 60
#: Cache key prefix of the counters (tests use their own).
NAMESPACE = "api:rate"

logger = logging.getLogger(__name__)


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
    The counter is the cache's own key (``cache.incr(key)`` counts in the same one). With
    Redis down, the count is this process's own (``_local``)."""
    cache = caches["default"]
    if isinstance(cache, RedisCache):
        if _local.redis_down():
            return _local.incr(key)
        try:
            count = _redis_incr(cache, key)
        except RedisError as error:
            _local.failed(error)
            return _local.incr(key)
        if _local.degraded:
            _local.recovered()
        return count
    # add() is a no-op when the key exists; incr() is atomic where the backend is.
    cache.add(key, 0, timeout=WINDOW_SECONDS * 2)
    try:
        return int(cache.incr(key))
    except ValueError:  # expired between add and incr
        cache.add(key, 1, timeout=WINDOW_SECONDS * 2)
        return 1


def _redis_incr(cache: RedisCache, key: str) -> int:
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


class LocalCounts:
    """The fallback: counters in this process's memory, while Redis is down (``outage``)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._counts: dict[str, tuple[int, float]] = {}
        self.outage = redisdown.Outage(
            logger, "Redis unavailable (%s): rate limits are counted per process until it "
                    "answers again", "Redis answers again: rate limits are shared again")

    def redis_down(self) -> bool:
        return self.outage.down()

    @property
    def degraded(self) -> bool:
        return self.outage.degraded

    def failed(self, error: Exception) -> None:
        self.outage.failed(error)

    def recovered(self) -> None:
        self.outage.recovered()

    def incr(self, key: str) -> int:
        now = clock.now().timestamp()
        with self._lock:
            if len(self._counts) > 10_000:  # drop expired windows
                self._counts = {k: v for k, v in self._counts.items() if v[1] > now}
            count, expires = self._counts.get(key, (0, now + WINDOW_SECONDS * 2))
            if expires <= now:
                count, expires = 0, now + WINDOW_SECONDS * 2
            self._counts[key] = (count + 1, expires)
            return count + 1

    def clear(self) -> None:
        with self._lock:
            self._counts.clear()
        self.outage.clear()


_local = LocalCounts()
