"""Password guessing is stopped at every login (the admin's, the technicians' pages):
django-axes counts failures per user name and per client address in the database, and
after ``LOGIN_FAILURE_LIMIT`` of them within ``LOGIN_COOLOFF_MINUTES`` both are locked out
until that many minutes after the last failure. The lockout answers 429 with the time to
try again; an administrator unlocks early by deleting the access attempts (admin, or
``manage.py axes_reset_username``). Every lockout and every unlock is logged here."""

from __future__ import annotations

import datetime as dt
import ipaddress
import logging
import math
from typing import Any

from axes.models import AccessAttempt
from axes.signals import user_locked_out
from django.conf import settings
from django.contrib import admin
from django.db.models import Max, Q
from django.db.models.signals import post_delete
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.utils.translation import gettext as _

from fieldops import clock

logger = logging.getLogger("fieldops.security")


def client_address(request: HttpRequest) -> str | None:
    """The caller's address: ``REMOTE_ADDR``, or with ``TRUSTED_PROXY_COUNT`` proxies in
    front (each appending to ``X-Forwarded-For``), the address the outermost one saw. The
    left of the header is whatever the client wrote, so it is never trusted; neither is a
    hop that is not an address."""
    proxies = getattr(settings, "TRUSTED_PROXY_COUNT", 0)
    if proxies > 0:
        hops = [h.strip() for h in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")
                if h.strip()]
        if len(hops) >= proxies and _is_address(hops[-proxies]):
            return hops[-proxies]
    peer = request.META.get("REMOTE_ADDR") or ""
    return peer if _is_address(peer) else None


def _is_address(text: str) -> bool:
    try:
        ipaddress.ip_address(text)
    except ValueError:
        return False
    return True


def failure_limit(request: HttpRequest | None = None, credentials: Any = None) -> int:
    """AXES_FAILURE_LIMIT (read per request, so a changed setting applies at once)."""
    return int(settings.LOGIN_FAILURE_LIMIT)


def cool_off(request: HttpRequest | None = None) -> dt.timedelta:
    """AXES_COOLOFF_TIME."""
    return dt.timedelta(minutes=settings.LOGIN_COOLOFF_MINUTES)


def locked_until(*, username: str | None, address: str | None) -> dt.datetime:
    """When the lockout of this user name or address ends: the cool-off after the last
    failure counted against either (failures during a lockout don't extend it)."""
    match = Q(pk__in=[])
    if username:
        match |= Q(username=username)
    if address:
        match |= Q(ip_address=address)
    last = AccessAttempt.objects.filter(match).aggregate(last=Max("attempt_time"))["last"]
    return (last or clock.now()) + cool_off()


def lockout_response(request: HttpRequest, original_response: Any = None,
                     credentials: dict[str, Any] | None = None) -> HttpResponse:
    """AXES_LOCKOUT_CALLABLE: the login page's own look, saying when to try again."""
    username = _username(request, credentials)
    until = locked_until(username=username, address=getattr(request, "axes_ip_address", None))
    wait = max(1, math.ceil((until - clock.now()).total_seconds()))
    message = _("Too many failed logins. Try again after %(time)s (in %(minutes)d "
                "minutes), or ask an administrator to unlock the account.") % {
        "time": timezone.localtime(until).strftime("%H:%M"),
        "minutes": math.ceil(wait / 60)}
    context = {"message": message, "until": until, "title": _("Login locked")}
    if getattr(request.resolver_match, "namespace", "") == "tech":
        template = "tech/locked_out.html"
    else:
        template = "admin/locked_out.html"
        context = {**admin.site.each_context(request), **context}
    response = render(request, template, context, status=429)
    response["Retry-After"] = str(wait)
    return response


def _username(request: HttpRequest, credentials: dict[str, Any] | None) -> str | None:
    if credentials and credentials.get("username"):
        return str(credentials["username"])
    return request.POST.get("username") or None


def log_lockout(sender: Any, request: HttpRequest | None = None, username: str | None = None,
                ip_address: str | None = None, **_: Any) -> None:
    """Receiver of axes' ``user_locked_out``: one WARNING per lockout (and per refused
    attempt while locked), with who, from where, on which login and until when."""
    until = locked_until(username=username, address=ip_address)
    logger.warning("login locked out: user=%r address=%s path=%s until=%s",
                   username, ip_address, getattr(request, "path", "?"),
                   until.isoformat(timespec="seconds"))


def log_unlock(sender: Any, instance: Any, **_: Any) -> None:
    """post_delete of an access attempt: an administrator (or the cool-off) lifted it."""
    logger.warning("login attempts cleared: user=%r address=%s failures=%s",
                   instance.username, instance.ip_address, instance.failures_since_start)


def connect() -> None:
    """Called from ``FieldopsConfig.ready()``."""
    user_locked_out.connect(log_lockout, dispatch_uid="fieldops.logins.lockout")
    post_delete.connect(log_unlock, sender=AccessAttempt, dispatch_uid="fieldops.logins.unlock")
