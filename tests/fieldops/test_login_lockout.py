"""Password guessing is stopped at the real login pages (issue 18 #1): after the policy's
failures the user name and the address are locked out, the page says when to try again,
an administrator can unlock, and every lockout is logged."""

from __future__ import annotations

import datetime as dt
import logging
from typing import Any

import pytest
import time_machine
from django.contrib.auth.models import User
from django.test import Client

TECH_LOGIN = "/tech/login/"
ADMIN_LOGIN = "/admin/login/"
START = dt.datetime(2026, 11, 23, 9, 0, 0, tzinfo=dt.UTC)  # 17:00 in Shanghai


def guess(client: Client, url: str, username: str, password: str = "wrong",
          address: str = "10.0.0.1") -> Any:
    return client.post(url, {"username": username, "password": password},
                       REMOTE_ADDR=address, HTTP_ACCEPT_LANGUAGE="en")


@pytest.fixture(autouse=True)
def _policy(settings: Any) -> None:
    settings.LOGIN_FAILURE_LIMIT = 3
    settings.LOGIN_COOLOFF_MINUTES = 15


def test_it_locks_a_technician_out_after_the_failures_and_says_when_to_retry(alice):
    """The defect: /tech/login/ took unlimited password guesses."""
    browser = Client()
    with time_machine.travel(START, tick=False):
        assert [guess(browser, TECH_LOGIN, "alice").status_code for _ in range(2)] == [200, 200]
        locked = guess(browser, TECH_LOGIN, "alice")
        assert locked.status_code == 429
        assert locked["Retry-After"] == str(15 * 60)
        page = locked.content.decode()
        assert "Try again after 17:15 (in 15 minutes)" in page
        assert "ask an administrator to unlock" in page
        # The right password no longer helps while locked out.
        right = guess(browser, TECH_LOGIN, "alice", "pw-alice")
        assert right.status_code == 429 and "_auth_user_id" not in browser.session
    with time_machine.travel(START + dt.timedelta(minutes=14), tick=False):
        assert guess(browser, TECH_LOGIN, "alice", "pw-alice").status_code == 429
    with time_machine.travel(START + dt.timedelta(minutes=15, seconds=1), tick=False):
        response = guess(browser, TECH_LOGIN, "alice", "pw-alice")
    assert response.status_code == 302 and response["Location"] == "/tech/"


def test_it_locks_the_admin_login_too(dispatcher):
    """The defect: /admin/login/ (where API tokens are issued) took unlimited guesses."""
    browser = Client()
    with time_machine.travel(START, tick=False):
        for _ in range(2):
            assert guess(browser, ADMIN_LOGIN, "dora").status_code == 200
        locked = guess(browser, ADMIN_LOGIN, "dora")
        assert locked.status_code == 429
        assert "Try again after 17:15" in locked.content.decode()
        assert guess(browser, ADMIN_LOGIN, "dora", "pw-dora").status_code == 429


def test_it_locks_an_address_that_guesses_many_user_names(alice, bob):
    browser = Client()
    with time_machine.travel(START, tick=False):
        for name in ("x1", "x2", "x3"):
            guess(browser, TECH_LOGIN, name, address="10.0.0.9")
        # alice has no failures of her own, but this address is locked.
        assert guess(browser, TECH_LOGIN, "alice", "pw-alice", "10.0.0.9").status_code == 429
        assert guess(Client(), TECH_LOGIN, "alice", "pw-alice", "10.0.0.2").status_code == 302


def test_it_locks_a_user_name_guessed_from_many_addresses(alice, bob):
    with time_machine.travel(START, tick=False):
        for n in range(3):
            guess(Client(), TECH_LOGIN, "alice", address=f"10.0.1.{n}")
        assert guess(Client(), TECH_LOGIN, "alice", "pw-alice", "10.0.2.1").status_code == 429
        # Another user from one of those addresses is not locked (one failure there).
        assert guess(Client(), TECH_LOGIN, "bob", "pw-bob", "10.0.1.0").status_code == 302


def test_an_administrator_unlocks_in_the_admin_and_the_unlock_is_logged(alice, caplog):
    from axes.models import AccessAttempt

    root = User.objects.create_superuser("root", password="pw-root-very-long")
    with time_machine.travel(START, tick=False):
        for _ in range(3):
            guess(Client(), TECH_LOGIN, "alice")
        assert guess(Client(), TECH_LOGIN, "alice", "pw-alice").status_code == 429
        desk = Client()
        desk.force_login(root)
        listing = desk.get("/admin/axes/accessattempt/")
        assert listing.status_code == 200 and "alice" in listing.content.decode()
        ids = [str(pk) for pk in AccessAttempt.objects.filter(username="alice")
               .values_list("pk", flat=True)]
        with caplog.at_level(logging.WARNING, logger="fieldops.security"):
            done = desk.post("/admin/axes/accessattempt/", {
                "action": "delete_selected", "_selected_action": ids, "post": "yes"})
        assert done.status_code == 302
        assert guess(Client(), TECH_LOGIN, "alice", "pw-alice").status_code == 302
    assert "login attempts cleared: user='alice' address=10.0.0.1 failures=3" in caplog.text


def test_every_lockout_is_logged_with_who_where_and_until_when(alice, caplog):
    with time_machine.travel(START, tick=False), \
            caplog.at_level(logging.WARNING, logger="fieldops.security"):
        for _ in range(3):
            guess(Client(), TECH_LOGIN, "alice", address="10.0.0.7")
    lines = [r.getMessage() for r in caplog.records if r.name == "fieldops.security"]
    assert lines == ["login locked out: user='alice' address=10.0.0.7 path=/tech/login/ "
                     "until=2026-11-23T09:15:00+00:00"]


def test_a_wrong_password_below_the_limit_still_gets_the_plain_error(alice):
    response = guess(Client(), TECH_LOGIN, "alice")
    assert response.status_code == 200
    assert "Wrong user name or password." in response.content.decode()


@pytest.mark.parametrize(("name", "value", "least"), [
    ("LOGIN_FAILURE_LIMIT", "0", 1), ("LOGIN_COOLOFF_MINUTES", "-5", 1),
    ("API_KEY_FAILURES_PER_MINUTE", "0", 1), ("TRUSTED_PROXY_COUNT", "-1", 0)])
def test_a_policy_setting_out_of_range_is_refused_at_start_with_its_name(name, value, least):
    import os
    import subprocess
    import sys

    env = {**os.environ, name: value, "DJANGO_SETTINGS_MODULE": "fieldops.test_settings"}
    result = subprocess.run([sys.executable, "-c", "import fieldops.test_settings"],
                            env=env, capture_output=True, text=True, check=False)
    assert result.returncode != 0
    assert f"{name} must be {least} or more, not {value}" in result.stderr
