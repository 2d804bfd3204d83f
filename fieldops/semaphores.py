"""A limit on how many processes of one machine do some heavy work at once (issue 18:
decoding photos and signatures, ``workorders.images``, whose memory is the machine's): the
holders are counted in Redis under the machine's host name, so every web process of a
machine (or container) shares one limit, and another machine has its own.

Each holder takes a *lease*: a random token in a Redis sorted set, scored with the time the
lease ends (``now + lease``). Taking one is a single Lua script (atomic across processes):
drop the leases that ended, then add ours if fewer than ``limit`` remain. Giving it back
removes the token. A process killed while holding (kill -9, an OOM kill, a lost machine)
never gives its lease back, so the lease ends by itself ``lease`` seconds after it was
taken and the next taker drops it: a slot is never held forever. ``lease`` must be longer
than the work ever takes (a photo decodes in well under a second; the default is 60 s).
The times are the product's clock (``fieldops.clock``), so a test can move past a lease.

Redis down (or answering with an error): the limit falls back to this process's own
(a semaphore of the same size), with a warning logged at most once a minute, and Redis is
asked again after a few seconds, as the API's rate limit does (``fieldops.redisdown``). A
product without Redis configured (a cache that is not Redis) uses the local limit quietly.
"""

from __future__ import annotations

import logging
import socket
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from django.core.cache import caches
from django.core.cache.backends.redis import RedisCache
from redis.exceptions import RedisError

from . import clock, redisdown

logger = logging.getLogger("fieldops.semaphores")

#: This machine's (or container's) name: the limit is per machine.
HOST = socket.gethostname()
#: How often a waiting taker asks Redis again.
POLL_SECONDS = 0.05

_TAKE = """
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ARGV[1])
if redis.call('ZCARD', KEYS[1]) < tonumber(ARGV[3]) then
  redis.call('ZADD', KEYS[1], ARGV[2], ARGV[4])
  redis.call('PEXPIRE', KEYS[1], ARGV[5])
  return 1
end
return 0
"""


class Busy(Exception):
    """Every slot stayed taken for the whole wait."""


class _Fallback:
    """This process's own limits, and Redis's outage (shared by every semaphore)."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.local: dict[tuple[str, int], threading.BoundedSemaphore] = {}
        self.outage = redisdown.Outage(
            logger, "Redis unavailable (%s): the %s limit is counted per process until it "
                    "answers again", "Redis answers again: the %s limit is shared again")

    def semaphore(self, name: str, limit: int) -> threading.BoundedSemaphore:
        with self.lock:
            gate = self.local.get((name, limit))
            if gate is None:
                gate = self.local[(name, limit)] = threading.BoundedSemaphore(limit)
            return gate

    def redis_down(self) -> bool:
        return self.outage.down()

    def failed(self, name: str, error: Exception) -> None:
        self.outage.failed(error, name)

    def recovered(self, name: str) -> None:
        self.outage.recovered(name)

    def clear(self) -> None:
        with self.lock:
            self.local.clear()
        self.outage.clear()


_fallback = _Fallback()


def _redis() -> tuple[Any, Any] | None:
    """The default cache's Redis client and the cache, or None without Redis."""
    cache = caches["default"]
    if not isinstance(cache, RedisCache):
        return None
    return cache._cache.get_client(write=True), cache


class Semaphore:
    """At most ``limit`` holders of ``name`` at once across processes (``hold``)."""

    def __init__(self, name: str, *, limit: int, lease: float) -> None:
        self.name, self.limit, self.lease = name, max(1, int(limit)), float(lease)

    def _key(self, cache: Any) -> str:
        return cache.make_and_validate_key(f"semaphore:{HOST}:{self.name}")

    def _try_redis(self, token: str) -> bool | None:
        """True: taken in Redis; False: every slot is taken; None: Redis cannot say."""
        found = _redis()
        if found is None or _fallback.redis_down():
            return None
        client, cache = found
        now = clock.now().timestamp()
        try:
            taken = client.eval(_TAKE, 1, self._key(cache), now, now + self.lease,
                                self.limit, token, int(self.lease * 2000))
        except RedisError as error:
            _fallback.failed(self.name, error)
            return None
        _fallback.recovered(self.name)
        return bool(taken)

    def _give_back(self, token: str) -> None:
        found = _redis()
        if found is None:
            return
        client, cache = found
        try:
            client.zrem(self._key(cache), token)
        except RedisError as error:  # the lease ends by itself
            _fallback.failed(self.name, error)

    def holders(self) -> int:
        """The leases not yet ended (Redis), for the health page and the tests."""
        found = _redis()
        if found is None:
            return 0
        client, cache = found
        return int(client.zcount(self._key(cache), f"({clock.now().timestamp()}", "+inf"))

    @contextmanager
    def hold(self, *, wait: float) -> Iterator[str]:
        """Hold a slot while the block runs; wait up to ``wait`` seconds for one, then
        raise ``Busy``. Yields "shared" (a Redis lease) or "local" (Redis down)."""
        token = uuid.uuid4().hex
        deadline = time.monotonic() + max(0.0, wait)
        while True:
            taken = self._try_redis(token)
            if taken is None:
                break
            if taken:
                try:
                    yield "shared"
                finally:
                    self._give_back(token)
                return
            if time.monotonic() >= deadline:
                raise Busy(self.name)
            time.sleep(min(POLL_SECONDS, max(0.0, deadline - time.monotonic())))
        gate = _fallback.semaphore(self.name, self.limit)
        if not gate.acquire(timeout=max(0.0, deadline - time.monotonic())):
            raise Busy(self.name)
        try:
            yield "local"
        finally:
            gate.release()
