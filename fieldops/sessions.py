"""Sessions end when idle, and sooner for staff than for technicians.

Staff (the admin desk, dashboards) sign in on shared office computers and read customer
data (R40): their sessions end after ``SESSION_STAFF_IDLE_MINUTES`` without a request and
``SESSION_STAFF_MAX_HOURS`` after sign-in. Technicians work a whole day on their own phone,
one hand free: ``SESSION_IDLE_MINUTES`` and ``SESSION_MAX_HOURS``. API tokens carry no
session and are not affected.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.contrib.auth import BACKEND_SESSION_KEY, logout
from django.http import HttpRequest, HttpResponse

from fieldops import clock

SEEN = "_fieldops_seen"
STARTED = "_fieldops_started"
#: Write the last-seen time at most this often (not one session write per request).
SEEN_RESOLUTION_SECONDS = 60
#: Django's ModelBackend, now fieldops.permcache's (sessions name the backend that signed
#: them in).
RENAMED_BACKEND = ("django.contrib.auth.backends.ModelBackend",
                   "fieldops.permcache.CachedModelBackend")


def limits_for(user: Any) -> tuple[int, int]:
    """(idle, absolute) lifetime in seconds of this user's session."""
    if user.is_staff or user.is_superuser:
        return (settings.SESSION_STAFF_IDLE_MINUTES * 60,
                settings.SESSION_STAFF_MAX_HOURS * 3600)
    return settings.SESSION_IDLE_MINUTES * 60, settings.SESSION_MAX_HOURS * 3600


def session_started(sender: Any, request: HttpRequest, user: Any, **kwargs: Any) -> None:
    """A sign-in starts the clocks afresh (``user_logged_in``; connected in apps.py)."""
    now = int(clock.now().timestamp())
    request.session[STARTED] = request.session[SEEN] = now
    idle, absolute = limits_for(user)
    request.session.set_expiry(min(idle, absolute))


class IdleTimeoutMiddleware:
    """Signs out a session idle or older than its user's limits; after
    ``AuthenticationMiddleware``. The next page then asks to sign in as usual."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        session = getattr(request, "session", None)
        if session is not None and session.get(BACKEND_SESSION_KEY) == RENAMED_BACKEND[0]:
            # Signed in before the backend was renamed: still signed in (before the lazy
            # user is read, which would otherwise drop an unknown backend's session).
            session[BACKEND_SESSION_KEY] = RENAMED_BACKEND[1]
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated:
            self._check(request, user)
        return self.get_response(request)

    @staticmethod
    def _check(request: HttpRequest, user: Any) -> None:
        idle, absolute = limits_for(user)
        now = int(clock.now().timestamp())
        session = request.session
        started = session.setdefault(STARTED, now)
        seen = session.get(SEEN, now)
        if now - seen > idle or now - started > absolute:
            logout(request)
            return
        if SEEN not in session or now - seen >= SEEN_RESOLUTION_SECONDS:
            session[SEEN] = now
            # The cookie and the stored session expire with the idle limit too.
            session.set_expiry(min(idle, absolute - (now - started)))
