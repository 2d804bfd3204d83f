"""Permission sets shared through Redis (fieldops/permcache.py): a technician's phone
sending its queue no longer reads the permission tables on every request, and a change of
roles still takes effect at the next request (R41: who may do field work)."""

from __future__ import annotations

import logging
import socket

import pytest
from django.contrib.auth import BACKEND_SESSION_KEY, get_user_model
from django.contrib.auth.models import Group, Permission
from django.core.cache import caches
from django.core.cache.backends.redis import RedisCache
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from fieldops import permcache, roles

pytestmark = pytest.mark.django_db

FIELDWORK = "workorders.perform_fieldwork"


@pytest.fixture(autouse=True)
def shared_cache():
    assert isinstance(caches["default"], RedisCache), "these tests need REDIS_URL"
    permcache.outage.clear()


def fresh(user):
    """The user as the next request loads it (no per-object permission memo)."""
    return get_user_model().objects.get(pk=user.pk)


def permission_reads(queries) -> int:
    return sum('"auth_permission"' in q["sql"] for q in queries)


def test_a_second_request_reads_no_permission_rows(alice, alice_client):
    alice_client.get("/tech/")  # the first request reads and shares the set
    with CaptureQueriesContext(connection) as second:
        assert alice_client.get("/tech/").status_code == 200
    assert permission_reads(second.captured_queries) == 0
    with CaptureQueriesContext(connection) as direct:
        assert fresh(alice.user).has_perm(FIELDWORK)
    assert permission_reads(direct.captured_queries) == 0


def test_leaving_a_role_takes_effect_at_the_next_request(alice):
    # R41: a technician taken off field work can't do it one request later
    assert fresh(alice.user).has_perm(FIELDWORK)
    alice.user.groups.remove(Group.objects.get(name=roles.TECHNICIAN))
    assert not fresh(alice.user).has_perm(FIELDWORK)
    alice.user.groups.add(Group.objects.get(name=roles.TECHNICIAN))
    assert fresh(alice.user).has_perm(FIELDWORK)


def test_a_permission_taken_from_a_role_goes_from_every_member_at_once(alice, bob):
    for technician in (alice, bob):
        assert fresh(technician.user).has_perm(FIELDWORK)
    group = Group.objects.get(name=roles.TECHNICIAN)
    perm = Permission.objects.get(codename="perform_fieldwork")
    group.permissions.remove(perm)
    assert not fresh(alice.user).has_perm(FIELDWORK)
    assert not fresh(bob.user).has_perm(FIELDWORK)


def test_a_user_made_superuser_has_every_permission_at_once(alice):
    assert not fresh(alice.user).has_perm("sla.change_slapolicy")
    user = fresh(alice.user)
    user.is_superuser = True
    user.save()
    assert fresh(alice.user).has_perm("sla.change_slapolicy")


def test_an_account_made_anew_with_the_same_id_is_another_key(alice):
    before = permcache.key_of(alice.user)
    user = fresh(alice.user)
    user.set_password("another-pw-1")
    assert permcache.key_of(user) != before


def test_with_redis_down_permissions_come_from_the_database(alice, settings, caplog):
    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache",
                                   "LOCATION": f"redis://127.0.0.1:{port}/0",
                                   "OPTIONS": {"socket_connect_timeout": 0.2}}}
    with (caplog.at_level(logging.WARNING, logger="fieldops.permcache"),
          CaptureQueriesContext(connection) as read):
        assert fresh(alice.user).has_perm(FIELDWORK)
    assert permission_reads(read.captured_queries) == 2  # Django's own two reads
    assert "Redis unavailable" in caplog.text


def test_a_session_signed_in_under_djangos_backend_stays_signed_in(alice):
    client = Client()
    client.force_login(alice.user)
    session = client.session
    session[BACKEND_SESSION_KEY] = "django.contrib.auth.backends.ModelBackend"
    session.save()
    page = client.get("/tech/")
    assert page.status_code == 200, page.status_code
    assert client.session[BACKEND_SESSION_KEY] == "fieldops.permcache.CachedModelBackend"
