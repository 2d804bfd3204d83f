"""Client tokens: hashed at rest, revocable, last use noted; sessions for staff; rate limits."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine

from api import services as api_services
from api.models import ApiToken
from fieldops import clock
from tests.api.conftest import Caller


def test_a_token_is_stored_only_as_its_hash(call_centre):
    token, plain = api_services.api_token_issue(client=call_centre)
    row = ApiToken.objects.get(pk=token.pk)
    assert plain.startswith(f"fo_{row.prefix}_")
    assert plain not in (row.digest, row.prefix, row.label)
    assert len(row.digest) == 64


def test_a_revoked_token_is_refused_at_once(call_centre):
    token, plain = api_services.api_token_issue(client=call_centre)
    assert Caller(plain).get("me/").status_code == 200
    api_services.api_token_revoke(token=token)
    response = Caller(plain).get("me/")
    assert response.status_code == 401
    assert response.body["code"] == "authentication_failed"


@pytest.mark.parametrize("header", ["Bearer fo_nope_nope", "Bearer garbage", "Bearer "])
def test_unknown_or_malformed_tokens_are_401(call_centre, client, header):
    response = client.get("/api/v1/me/", headers={"Authorization": header})
    assert response.status_code == 401


def test_a_token_with_the_right_prefix_but_wrong_secret_is_refused(call_centre):
    _token, plain = api_services.api_token_issue(client=call_centre)
    assert Caller(plain[:-1] + ("A" if plain[-1] != "A" else "B")).get("me/").status_code == 401


def test_a_disabled_client_is_refused(call_centre):
    _token, plain = api_services.api_token_issue(client=call_centre)
    call_centre.is_active = False
    call_centre.save()
    assert Caller(plain).get("me/").status_code == 401


def test_the_last_use_is_noted_at_most_once_a_minute(call_centre):
    token, plain = api_services.api_token_issue(client=call_centre)
    start = clock.now()
    with time_machine.travel(start, tick=False):
        Caller(plain).get("me/")
    token.refresh_from_db()
    assert token.last_used_at == start
    with time_machine.travel(start + dt.timedelta(seconds=30), tick=False):
        Caller(plain).get("me/")
    token.refresh_from_db()
    assert token.last_used_at == start
    with time_machine.travel(start + dt.timedelta(seconds=90), tick=False):
        Caller(plain).get("me/")
    token.refresh_from_db()
    assert token.last_used_at == start + dt.timedelta(seconds=90)


def test_staff_can_use_the_api_with_their_browser_session(as_session, agent, make_order):
    order = make_order()
    response = as_session(agent).get(f"work-orders/{order.pk}/")
    assert response.status_code == 200 and response.body["id"] == order.pk


def test_over_the_rate_limit_is_429_with_retry_after_until_the_minute_ends(call_centre):
    call_centre.rate_limit_per_minute = 3
    call_centre.save()
    _token, plain = api_services.api_token_issue(client=call_centre)
    api = Caller(plain)
    start = dt.datetime(2026, 11, 23, 9, 0, 10, tzinfo=dt.UTC)
    with time_machine.travel(start, tick=False):
        assert [api.get("me/").status_code for _ in range(3)] == [200, 200, 200]
        refused = api.get("me/")
    assert refused.status_code == 429
    assert refused.body["code"] == "throttled"
    assert refused["Retry-After"] == "50"
    with time_machine.travel(start + dt.timedelta(seconds=51), tick=False):
        assert api.get("me/").status_code == 200


def test_clients_have_separate_limits(call_centre, reporting):
    call_centre.rate_limit_per_minute = 1
    call_centre.save()
    _t, cc_token = api_services.api_token_issue(client=call_centre)
    _t, bi_token = api_services.api_token_issue(client=reporting)
    start = dt.datetime(2026, 11, 23, 9, 0, 0, tzinfo=dt.UTC)
    with time_machine.travel(start, tick=False):
        assert Caller(cc_token).get("me/").status_code == 200
        assert Caller(cc_token).get("me/").status_code == 429
        assert Caller(bi_token).get("me/").status_code == 200


@pytest.mark.redis
def test_the_limit_is_shared_by_every_worker_through_redis(call_centre, settings):
    """Counted in Redis (atomic INCR), so two server processes can't each allow the limit."""
    from django.core.cache import caches

    assert "Redis" in settings.CACHES["default"]["BACKEND"]
    call_centre.rate_limit_per_minute = 2
    call_centre.save()
    _t, plain = api_services.api_token_issue(client=call_centre)
    start = dt.datetime(2026, 11, 23, 9, 0, 0, tzinfo=dt.UTC)
    with time_machine.travel(start, tick=False):
        assert Caller(plain).get("me/").status_code == 200
        from api import throttling

        key = f"{throttling.NAMESPACE}:c{call_centre.pk}:{int(start.timestamp() // 60)}"
        caches["default"].incr(key)  # another worker's request
        assert Caller(plain).get("me/").status_code == 429


def test_a_role_change_reaches_a_client_within_the_permission_cache_time(
        call_centre, intake, settings):
    import uuid

    from api.models import ClientRole

    settings.API_PERMISSION_CACHE_SECONDS = 0  # no cache: immediate
    _t, plain = api_services.api_token_issue(client=call_centre)
    api_services.api_client_set_role(client=call_centre, role=ClientRole.REPORTING)
    response = Caller(plain).post("work-orders/", intake(),
                                  headers={"Idempotency-Key": uuid.uuid4().hex})
    assert response.status_code == 403


def test_bad_api_keys_from_one_address_are_limited_per_minute(call_centre, settings, caplog):
    """Issue 18 #1: the API took unlimited key guesses. The limit is per address and
    apart from the client's own rate limit; the lockout is logged."""
    import logging

    settings.API_KEY_FAILURES_PER_MINUTE = 3
    _t, plain = api_services.api_token_issue(client=call_centre)
    wrong = plain[:-1] + ("A" if plain[-1] != "A" else "B")
    from django.test import Client

    def at(address, token):
        return Caller(token, client=Client(REMOTE_ADDR=address))

    start = dt.datetime(2026, 11, 23, 9, 0, 10, tzinfo=dt.UTC)
    with time_machine.travel(start, tick=False), \
            caplog.at_level(logging.WARNING, logger="fieldops.security"):
        guesses = [at("10.9.9.9", wrong).get("me/").status_code for _ in range(3)]
        assert guesses == [401, 401, 401]
        refused = at("10.9.9.9", wrong).get("me/")
        assert refused.status_code == 429 and refused.body["code"] == "throttled"
        assert refused["Retry-After"] == "50"
        # Even the right key is refused from that address until the minute ends...
        assert at("10.9.9.9", plain).get("me/").status_code == 429
        # ...while the call centre itself, from its own address, is served.
        assert at("10.1.1.1", plain).get("me/").status_code == 200
    assert ("API keys locked out: address=10.9.9.9 sent 3 bad keys this minute"
            in caplog.text)
    with time_machine.travel(start + dt.timedelta(seconds=51), tick=False):
        assert at("10.9.9.9", plain).get("me/").status_code == 200
