"""Each user's permissions, read once and shared by every process through the cache.

Django's ``ModelBackend`` reads a user's permissions (two joins: the user's own and their
groups') once per request, so every request that checks a permission pays for both: a
technician's phone sending twelve steps paid 24 of them. ``CachedModelBackend`` keeps the
set in the shared cache (Redis) instead, under a key naming the user and a digest of their
password hash (an id reused after a database restore, or by a new account, is another key;
a password change starts afresh).

Kept right by the signals below: a change of a user's groups or own permissions, of a
group's permissions, or of a user, group or permission row moves a generation number that
every cached set carries, so the next request reads the permissions again, in every
process. ``PERMISSIONS_CACHE_SECONDS`` bounds the age of a set regardless (a change made
while Redis was down, or in SQL behind the ORM's back, holds at most that long).

Only with a cache every process shares (Redis): with a per-process cache (the embedded
run without Redis) this is Django's ``ModelBackend`` unchanged. Redis down: permissions are
read from the database as Django does, and the cache is left alone for a while
(``fieldops.redisdown``).
"""

from __future__ import annotations

import hashlib
import logging
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.backends import ModelBackend
from django.contrib.auth.models import Group, Permission
from django.core.cache import caches
from django.core.cache.backends.redis import RedisCache
from django.db import connection, transaction
from django.db.models.expressions import RawSQL
from django.db.models.signals import m2m_changed, post_delete, post_save
from redis.exceptions import RedisError

from fieldops import redisdown, refdata

logger = logging.getLogger(__name__)

GENERATION = "perms:generation"
outage = redisdown.Outage(
    logger, "Redis unavailable (%s): permissions are read from the database",
    "Redis answers again: permissions are shared again")


def _cache() -> Any | None:
    cache = caches["default"]
    if not isinstance(cache, RedisCache) or outage.down():
        return None
    return cache


def key_of(user: Any) -> str:
    salted = hashlib.sha256(str(getattr(user, "password", "")).encode()).hexdigest()[:16]
    return f"perms:user:{user.pk}:{salted}"


class CachedModelBackend(ModelBackend):
    """``ModelBackend`` whose permission sets come from the shared cache when they can,
    and whose session user brings the request's reference stamp (``fieldops.refdata``)
    in the same query, as an API token does: the reference data a signed-in page or a
    phone's step reads (SLA policies, areas, webhook endpoints) then costs no query."""

    def get_user(self, user_id: Any) -> Any:
        users = get_user_model()._default_manager.all()
        if connection.vendor == "postgresql":
            users = users.annotate(reference_stamp=RawSQL(refdata.STAMP_SQL, ()))
        user = users.filter(pk=user_id).first()
        if user is None or not self.user_can_authenticate(user):
            return None
        refdata.note(getattr(user, "reference_stamp", None))
        return user

    def get_all_permissions(self, user_obj: Any, obj: Any = None) -> set[str]:
        if not user_obj.is_active or user_obj.is_anonymous or obj is not None:
            return set()
        if not hasattr(user_obj, "_perm_cache"):
            user_obj._perm_cache = self._shared(user_obj)
        return user_obj._perm_cache

    def _shared(self, user: Any) -> set[str]:
        cache = _cache()
        if cache is None:
            return super().get_all_permissions(user)
        key = key_of(user)
        try:
            found = cache.get_many([GENERATION, key])
        except RedisError as error:
            outage.failed(error)
            return super().get_all_permissions(user)
        outage.recovered()
        generation = found.get(GENERATION, 0)
        kept = found.get(key)
        if kept is not None and kept[0] == generation:
            return set(kept[1])
        perms = super().get_all_permissions(user)
        try:
            cache.set(key, (generation, sorted(perms)),
                      timeout=settings.PERMISSIONS_CACHE_SECONDS)
        except RedisError as error:
            outage.failed(error)
        return perms


def changed() -> None:
    """Every cached permission set is out of date: the generation moves now (this
    transaction's own later reads) and again once the change commits (a set another
    process read and cached before the commit carries the generation in between)."""
    cache = _cache()
    if cache is None:
        return

    def bump() -> None:
        try:
            if not cache.add(GENERATION, 1, timeout=None):
                cache.incr(GENERATION)
        except RedisError as error:
            outage.failed(error)

    bump()
    transaction.on_commit(bump)


def _on_change(**kwargs: Any) -> None:
    if kwargs.get("action", "post_").startswith("post_"):  # m2m: after the change
        changed()


def _user_saved(instance: Any, created: bool, update_fields: Any = None, **kwargs: Any) -> None:
    """A user's superuser or active flag may have changed; a login (``last_login`` only)
    changes nothing."""
    if created or (update_fields is not None and set(update_fields) <= {"last_login"}):
        return
    changed()


def connect() -> None:
    user_model = get_user_model()
    for through in (user_model.groups.through, user_model.user_permissions.through,
                    Group.permissions.through):
        m2m_changed.connect(_on_change, sender=through, dispatch_uid=f"permcache-{through}")
    for model in (Group, Permission, user_model):
        post_delete.connect(_on_change, sender=model, dispatch_uid=f"permcache-del-{model}")
    post_save.connect(_user_saved, sender=user_model, dispatch_uid="permcache-user")
    post_save.connect(_on_change, sender=Permission, dispatch_uid="permcache-perm")
