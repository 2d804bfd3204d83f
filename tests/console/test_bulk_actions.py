"""The desk's bulk actions (R4): one message says how many were done, how many refused
and why; a deadlock is retried and never shows as a server error."""

from __future__ import annotations

import psycopg
import pytest
from django.contrib.messages import get_messages
from django.db import OperationalError
from django.urls import reverse

from workorders import services
from workorders.models import State, WorkOrder

LIST = reverse("admin:workorders_workorder_changelist")


@pytest.fixture
def desk(client, dispatcher):
    client.force_login(dispatcher)
    return client


def texts(response) -> list[str]:
    return [str(m) for m in get_messages(response.wsgi_request)]


def test_bulk_dispatch_says_how_many_were_dispatched_and_refused_and_why(desk, make_order,
                                                                         alice, west):
    # R4
    ok = [make_order(), make_order()]
    stranded = make_order(area=west)  # nobody serves the west area here
    response = desk.post(LIST, {"action": "bulk_dispatch",
                                "_selected_action": [o.pk for o in [*ok, stranded]]},
                         HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 302
    [text] = texts(response)
    assert text.startswith("2 dispatched, 1 refused: ") and stranded.number in text
    assert WorkOrder.objects.get(pk=stranded.pk).state == State.ACCEPTED


def test_bulk_dispatch_retries_a_deadlock_instead_of_a_server_error(desk, make_order, alice,
                                                                    monkeypatch):
    # R4: PostgreSQL aborted one order's transaction as a deadlock's victim: it runs again
    orders = [make_order(), make_order()]
    real = services.work_order_dispatch
    calls: list[int] = []

    def dispatch(**kwargs):
        calls.append(kwargs["order"].pk)
        order = real(**kwargs)
        if len(calls) == 1:
            try:
                raise psycopg.errors.DeadlockDetected("deadlock detected")
            except psycopg.Error as driver:
                raise OperationalError("deadlock detected") from driver
        return order

    monkeypatch.setattr(services, "work_order_dispatch", dispatch)
    response = desk.post(LIST, {"action": "bulk_dispatch",
                                "_selected_action": [o.pk for o in orders]},
                         HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 302
    assert texts(response) == ["2 dispatched."]
    assert calls == [orders[0].pk, orders[0].pk, orders[1].pk]
    assert {o.state for o in WorkOrder.objects.all()} == {State.DISPATCHED}
    assert WorkOrder.objects.get(pk=orders[0].pk).version == 2


def test_bulk_reassign_says_how_many_were_reassigned_and_refused(desk, make_order, alice,
                                                                 east):
    # R4: an order already with bob cannot be reassigned to him
    from tests.conftest import make_technician

    bob = make_technician("carol", areas=[east])  # another technician of the area (R4)
    with_alice = make_order(State.DISPATCHED, technician=alice)
    with_bob = make_order(State.DISPATCHED, technician=bob)
    response = desk.post(LIST, {"action": "bulk_reassign", "apply": "1",
                                "_selected_action": [with_alice.pk, with_bob.pk],
                                "technician": bob.pk, "reason": "alice off sick"},
                         HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 302
    [text] = texts(response)
    assert text.startswith("1 reassigned, 1 refused: ") and with_bob.number in text
    assert WorkOrder.objects.get(pk=with_alice.pk).technician_id == bob.pk
