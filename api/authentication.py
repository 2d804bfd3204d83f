"""Bearer tokens of API clients (``Authorization: Bearer fo_<prefix>_<secret>``)."""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import hmac
import logging
import time
from typing import Any, NoReturn

from django.contrib.auth import get_user_model
from django.contrib.auth.backends import ModelBackend
from django.db import connections, router
from django.db.models import Q
from django.utils.translation import gettext_lazy as _
from rest_framework import authentication, exceptions
from rest_framework.request import Request

from fieldops import clock, refdata
from fieldops.logins import client_address
from fieldops.rawsql import plan_for, typed

from . import conf, throttling
from .models import ApiClient, ApiToken

TOKEN_PREFIX = "fo_"
logger = logging.getLogger("fieldops.security")


def digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def split_token(token: str) -> str | None:
    """The lookup prefix of a well-formed token, else None."""
    if not token.startswith(TOKEN_PREFIX):
        return None
    prefix, sep, secret = token[len(TOKEN_PREFIX):].partition("_")
    if not sep or not prefix or not secret or len(prefix) > 16:
        return None
    return prefix


@functools.cache
def _token_sql() -> str:
    """The token, its client and the client's user in one query (every request runs it),
    with the reference stamp (``fieldops.refdata``).
    Written out once per process from the models' metadata: the ORM would compile the same
    statement on every request, which costs more than running it."""
    models = (ApiToken, ApiClient, get_user_model())
    columns = ", ".join(f'"{m._meta.db_table}"."{f.column}"' for m in models
                        for f in m._meta.concrete_fields)
    token, client, user = (f'"{m._meta.db_table}"' for m in models)
    if connections[router.db_for_read(ApiToken)].vendor == "postgresql":
        columns += f", {refdata.STAMP_SQL}"  # the reference stamp of this request
    return (f'SELECT {columns} FROM {token} '
            f'JOIN {client} ON {client}."id" = {token}."client_id" '
            f'JOIN {user} ON {user}."id" = {client}."user_id" '
            f'WHERE {token}."prefix" = %s')


def token_by_prefix(prefix: str) -> ApiToken | None:
    """``ApiToken.objects.select_related("client__user").filter(prefix=prefix).first()``
    (the prefix is unique), without compiling the query on every request."""
    db = router.db_for_read(ApiToken)
    with connections[db].cursor() as cursor:
        cursor.execute(_token_sql(), [prefix])
        row = cursor.fetchone()
    if row is None:
        return None
    models = (ApiToken, ApiClient, get_user_model())
    connection = connections[db]
    stamp = None
    if connection.vendor == "postgresql":
        stamp, row = row[-1], row[:-1]
    values = typed(row, plan_for(connection, "api.token", lambda: [
        f for m in models for f in m._meta.concrete_fields]), connection)
    instances: list[Any] = []
    for model in models:
        fields = model._meta.concrete_fields
        width = len(fields)
        instances.append(model.from_db(db, [f.attname for f in fields], values[:width]))
        values = values[width:]
    token, client, user = instances
    client.user = user
    token.client = client
    token.reference_stamp = stamp
    return token


#: user id -> (expires at, permission set); per process, short-lived.
_PERMISSIONS: dict[int, tuple[float, set[str]]] = {}


def _cached_permissions(user: Any) -> None:
    """Give the user its permission set from a per-process cache (PERMISSION_CACHE_SECONDS),
    sparing ModelBackend's two queries on every request. A role change reaches a client
    within that time; revoking a token or disabling a client is immediate (checked above)."""
    ttl = conf.get("PERMISSION_CACHE_SECONDS")
    if ttl <= 0:
        return
    now = time.monotonic()
    hit = _PERMISSIONS.get(user.pk)
    if hit is None or hit[0] < now:

        hit = (now + ttl, ModelBackend().get_all_permissions(user))
        _PERMISSIONS[user.pk] = hit
    user._perm_cache = hit[1]  # what ModelBackend.has_perm reads


#: (address, minute) pairs this process saw over the bad-key limit; spares a Redis read on
#: every good request.
_BLOCKED: dict[tuple[str, int], float] = {}


class BadKeyLimit:
    """API keys get their own limit, apart from the password lockouts: an address that sent
    ``API_KEY_FAILURES_PER_MINUTE`` bad keys in a minute gets 429 until the minute ends:
    every further bad key (counted like the rate limits, in Redis or per process while it
    is down), and any key at all in a process that has seen the address over the limit."""

    def __init__(self, request: Request) -> None:
        self.address = client_address(request._request) or "unknown"
        now = clock.now().timestamp()
        self.window = int(now // throttling.WINDOW_SECONDS)
        self.wait = (self.window + 1) * throttling.WINDOW_SECONDS - now
        self.key = f"{throttling.NAMESPACE}:badkey:{self.address}:{self.window}"
        self.limit = conf.get("KEY_FAILURES_PER_MINUTE")

    def check(self) -> None:
        if (self.address, self.window) in _BLOCKED:
            self._throttled()

    def refuse(self, message: Any) -> NoReturn:
        count = throttling.count_request(self.key)
        if count >= self.limit:
            if len(_BLOCKED) > 1000:
                _BLOCKED.clear()
            _BLOCKED[(self.address, self.window)] = self.wait
            if count == self.limit:
                logger.warning("API keys locked out: address=%s sent %d bad keys this "
                               "minute", self.address, count)
            else:
                self._throttled()
        raise exceptions.AuthenticationFailed(message)

    def _throttled(self) -> NoReturn:
        raise exceptions.Throttled(wait=self.wait, detail=str(_(
            "Too many bad API keys from your address; wait for the next minute.")))


class TokenAuthentication(authentication.BaseAuthentication):
    """Finds the token by its prefix, compares the SHA-256 of the whole token in constant
    time, refuses revoked tokens and inactive clients, and notes when it was last used.
    Bad keys count against the address (``BadKeyLimit``)."""

    keywords = ("bearer", "token")

    def authenticate(self, request: Request) -> tuple[Any, ApiToken] | None:
        header = request.META.get("HTTP_AUTHORIZATION", "")
        if not header:
            return None
        keyword, _sep, token = header.strip().partition(" ")
        if keyword.lower() not in self.keywords:
            return None
        token = token.strip()
        limit = BadKeyLimit(request)
        limit.check()
        prefix = split_token(token)
        if prefix is None:
            limit.refuse(_("Malformed API token."))
        row = token_by_prefix(prefix)
        if row is None or not hmac.compare_digest(row.digest, digest(token)):
            limit.refuse(_("Unknown API token."))
        if row.revoked_at is not None:
            limit.refuse(_("This API token was revoked."))
        client = row.client
        if not client.is_active or not client.user.is_active:
            limit.refuse(_("This API client is disabled."))
        self._touch(row)
        # Reference data (areas, policies, webhook endpoints) as of this stamp for the
        # rest of the request, from this process's caches (fieldops.refdata).
        refdata.note(getattr(row, "reference_stamp", None))
        user = client.user
        user.api_client = client  # the same object; spares a query later
        _cached_permissions(user)
        return user, row

    def authenticate_header(self, request: Request) -> str:
        return 'Bearer realm="api"'

    @staticmethod
    def _touch(row: ApiToken) -> None:
        """Write ``last_used_at`` at most once per TOKEN_TOUCH_SECONDS (a conditional
        UPDATE, so busy clients don't write on every request)."""
        now = clock.now()
        stale = now - dt.timedelta(seconds=conf.get("TOKEN_TOUCH_SECONDS"))
        if row.last_used_at is None or row.last_used_at < stale:
            ApiToken.objects.filter(pk=row.pk).filter(
                Q(last_used_at__isnull=True) | Q(last_used_at__lt=stale)
            ).update(last_used_at=now)
            row.last_used_at = now
