"""Scale-out (docs/scaling.md): with a read replica configured, the dashboard pages read
their figures there through the router, and every write stays on the primary. The test
database's second alias ("replica", a test mirror of "default": fieldops/test_settings.py)
stands in for the replica."""

from __future__ import annotations

import re

import pytest
from django.db import connections
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from dashboards.tasks import refresh_stale_facts
from fieldops.routers import ReplicaRouter, replica_reads
from workorders.models import State

pytestmark = [pytest.mark.postgres,
              pytest.mark.django_db(transaction=True, databases=["default", "replica"])]

FACTS = "dashboards_orderfact"


def _tables(queries: CaptureQueriesContext) -> str:
    return " ".join(q["sql"] for q in queries.captured_queries)


def test_the_dashboards_read_the_replica_and_write_the_primary(
        settings, supervisor, make_order, alice):
    settings.DASHBOARDS_DATABASE = "replica"
    make_order(State.CLOSED, technician=alice)
    with CaptureQueriesContext(connections["replica"]) as replica, \
            CaptureQueriesContext(connections["default"]) as primary:
        assert refresh_stale_facts() == 1  # the facts refresh: a write, on the primary
    assert FACTS in _tables(primary) and FACTS not in _tables(replica)
    client = Client()
    client.force_login(supervisor)
    for url in (reverse("dashboard:compliance"), reverse("dashboard:now"),
                reverse("dashboard:breaches")):
        with CaptureQueriesContext(connections["replica"]) as replica, \
                CaptureQueriesContext(connections["default"]) as primary:
            response = client.get(url)
        assert response.status_code == 200
        # The figures come from the replica; the primary serves only the login (the
        # session and the user's role, read before the page's view runs).
        assert replica.captured_queries, url
        assert set(re.findall(r'FROM "(\w+)"', _tables(primary))) <= {
            "django_session", "auth_user", "auth_group"}, url
    assert "dashboards_dailyrollup" in _tables(replica) or FACTS in _tables(replica)


def test_without_a_replica_or_inside_a_transaction_reads_stay_on_the_primary(settings):
    from django.db import transaction

    from dashboards.models import OrderFact

    router = ReplicaRouter()
    with replica_reads():
        assert router.db_for_read(OrderFact) is None  # DASHBOARDS_DATABASE is "default"
        settings.DASHBOARDS_DATABASE = "replica"
        assert router.db_for_read(OrderFact) == "replica"
        with transaction.atomic():  # a transaction sees its own writes: the primary
            assert router.db_for_read(OrderFact) is None
    assert router.db_for_read(OrderFact) is None  # outside the dashboards' pages
    assert router.db_for_write(OrderFact) == "default"
    assert router.allow_migrate("replica", "dashboards") is False
