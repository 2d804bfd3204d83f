"""``/health/``: what a load balancer or an operator asks. 200 with ``"ok"`` when the
database and Redis answer; 200 with ``"degraded: redis"`` when Redis does not (requests
are still served: rate limits count per process, Celery jobs wait in the outbox); 503
with ``"down: database"`` when PostgreSQL does not (nothing can be served)."""

from __future__ import annotations

from typing import Any

import redis
from django.conf import settings
from django.core.cache import caches
from django.core.cache.backends.redis import RedisCache
from django.db import DatabaseError, connection
from django.http import HttpRequest, JsonResponse
from django.views.decorators.cache import never_cache

from fieldops.models import QueuedTask

#: One client per Redis URL, each with short timeouts (a dead Redis answers in a second).
_CLIENTS: dict[str, Any] = {}


def redis_urls() -> list[str]:
    """The Redis servers this site uses: the cache's and the Celery broker's."""
    urls: list[str] = []
    if isinstance(caches["default"], RedisCache):
        location = settings.CACHES["default"]["LOCATION"]
        urls += location.replace(";", ",").split(",") if isinstance(location, str) else location
    broker = str(getattr(settings, "CELERY_BROKER_URL", ""))
    if broker.startswith(("redis://", "rediss://")) and broker not in urls:
        urls.append(broker)
    return urls


def redis_answers(url: str) -> bool:
    client = _CLIENTS.get(url)
    if client is None:
        client = _CLIENTS[url] = redis.Redis.from_url(
            url, socket_connect_timeout=1, socket_timeout=1)
    try:
        return bool(client.ping())
    except redis.RedisError:
        return False


@never_cache
def health(request: HttpRequest) -> JsonResponse:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        waiting = QueuedTask.objects.count()
    except DatabaseError:
        return JsonResponse({"status": "down: database", "database": "down"}, status=503)
    redis_ok = all(redis_answers(url) for url in redis_urls())
    return JsonResponse({
        "status": "ok" if redis_ok else "degraded: redis",
        "database": "ok",
        "redis": "ok" if redis_ok else "down",
        "queued_tasks": waiting,  # jobs waiting in the outbox for the broker
    })
