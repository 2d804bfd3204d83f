"""Sessions end when idle, and sooner for staff than for technicians.

Defect covered (issue 18, item 6): staff sessions lasted 14 days with no idle timeout.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
import time_machine
from django.conf import settings
from django.test import Client

from fieldops import clock

ADMIN = "/admin/?apps=1"  # a dispatcher's /admin/ redirects to the queue


def _signed_in(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


def _in_after(client: Client, url: str, minutes: float) -> bool:
    with time_machine.travel(clock.now() + dt.timedelta(minutes=minutes), tick=False):
        response = client.get(url)
    return response.status_code == 200


def test_staff_sessions_are_shorter_than_technicians() -> None:
    assert settings.SESSION_STAFF_IDLE_MINUTES < settings.SESSION_IDLE_MINUTES
    assert settings.SESSION_STAFF_MAX_HOURS < settings.SESSION_MAX_HOURS
    assert settings.SESSION_STAFF_MAX_HOURS * 3600 < 14 * 24 * 3600


def test_an_idle_staff_session_ends(dispatcher: Any) -> None:
    client = _signed_in(dispatcher)
    idle = settings.SESSION_STAFF_IDLE_MINUTES
    assert client.get(ADMIN).status_code == 200
    assert _in_after(client, ADMIN, idle - 1)  # active: the idle clock starts again
    assert _in_after(client, ADMIN, 2 * idle - 2)
    assert not _in_after(client, ADMIN, 3 * idle)  # idle too long: sign in again
    assert "_auth_user_id" not in client.session


def test_a_busy_staff_session_still_ends_at_its_maximum_age(dispatcher: Any) -> None:
    client = _signed_in(dispatcher)
    step = settings.SESSION_STAFF_IDLE_MINUTES - 1
    minutes = 0
    while minutes + step < settings.SESSION_STAFF_MAX_HOURS * 60:
        minutes += step
        assert _in_after(client, ADMIN, minutes), minutes
    assert not _in_after(client, ADMIN, settings.SESSION_STAFF_MAX_HOURS * 60 + 1)


def test_a_technician_stays_signed_in_through_a_long_pause(alice: Any) -> None:
    client = _signed_in(alice.user)
    pause = settings.SESSION_STAFF_IDLE_MINUTES * 3
    assert _in_after(client, "/tech/", pause)
    assert not _in_after(client, "/tech/", pause + settings.SESSION_IDLE_MINUTES + 1)


@pytest.mark.django_db
def test_a_fresh_sign_in_starts_the_clocks_again(dispatcher: Any) -> None:
    client = _signed_in(dispatcher)
    later = clock.now() + dt.timedelta(hours=settings.SESSION_STAFF_MAX_HOURS + 1)
    with time_machine.travel(later, tick=False):
        assert client.get(ADMIN).status_code != 200
        client.force_login(dispatcher)
        assert client.get(ADMIN).status_code == 200
