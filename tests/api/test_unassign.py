"""Unassign through the API (R4): a dispatcher takes a dispatched or accepted order off its
technician, back to the queue. If-Match is required (428 without it, 412 when stale), an
Idempotency-Key makes a retry answer the first time, and every refusal is problem+json
that changes nothing."""

from __future__ import annotations

import pytest

from api import services as api_services
from api.models import ClientRole
from sla.timers import Timer, TimerStatus
from workorders import services
from workorders.models import Assignment, State, WorkOrder, WorkOrderEvent

from .conftest import Caller

pytestmark = pytest.mark.django_db
PROBLEM = "application/problem+json"


@pytest.fixture
def wfm(reference_data) -> Caller:
    """A workforce-management system holding a dispatcher client's token."""
    client = api_services.api_client_create(name="调度系统", role=ClientRole.DISPATCHER)
    _token, plain = api_services.api_token_issue(client=client)
    return Caller(plain)


def unassign(caller: Caller, order: WorkOrder, *, version: int | None = None,
             reason: str = "客户地址不在本片区", key: str | None = None):
    headers = {}
    if version is not None:
        headers["If-Match"] = f'"{version}"'
    if key is not None:
        headers["Idempotency-Key"] = key
    return caller.post(f"work-orders/{order.pk}/unassign/", {"reason": reason},
                       headers=headers)


def snapshot(order: WorkOrder) -> tuple:
    fresh = WorkOrder.objects.get(pk=order.pk)
    return (fresh.state, fresh.technician_id, fresh.version,
            WorkOrderEvent.objects.filter(order=order).count())


@pytest.mark.parametrize("state", [State.DISPATCHED, State.TAKEN])
def test_a_dispatcher_takes_the_order_back_to_the_queue(wfm, make_order, alice, state):
    # R4, R42: who, when, from, to, why
    order = make_order(state, technician=alice)
    response = unassign(wfm, order, version=order.version)
    assert response.status_code == 200, response.body
    assert response.body["state"] == State.ACCEPTED
    assert response.body["technician"] is None
    assert response["ETag"] == f'"{order.version + 1}"'
    fresh = WorkOrder.objects.get(pk=order.pk)
    assert (fresh.technician, fresh.dispatched_at, fresh.resources_confirmed_at) == (None,) * 3
    assert not Assignment.objects.filter(order=order, ended_at__isnull=True).exists()
    assert Assignment.objects.filter(order=order, technician=alice).exists()  # history kept
    event = WorkOrderEvent.objects.filter(order=order).last()
    assert (event.action, event.from_state, event.to_state) == ("unassign", state, "accepted")
    assert event.actor_label == "调度系统" and event.reason == "客户地址不在本片区"
    assert event.payload == {"previous": alice.pk}


def test_the_contact_promise_is_cancelled_and_starts_again_on_the_next_dispatch(
        wfm, make_order, alice, dispatcher):
    # R7: the promise to call within 60 minutes was the technician's
    order = make_order(State.DISPATCHED, technician=alice)
    contact = Timer.objects.get(order=order, kind="contact", status=TimerStatus.ARMED)
    assert unassign(wfm, order, version=order.version).status_code == 200
    contact.refresh_from_db()
    assert contact.status == TimerStatus.CANCELLED
    services.work_order_dispatch(order=WorkOrder.objects.get(pk=order.pk), by=dispatcher,
                                 technician=alice)
    assert Timer.objects.filter(order=order, kind="contact",
                                status=TimerStatus.ARMED).count() == 1


def test_without_if_match_it_is_a_428_and_nothing_changes(wfm, make_order, alice):
    order = make_order(State.DISPATCHED, technician=alice)
    before = snapshot(order)
    response = unassign(wfm, order)
    assert response.status_code == 428
    assert response["Content-Type"] == PROBLEM
    assert response.body["code"] == "precondition_required"
    assert "If-Match" in response.body["detail"]
    assert snapshot(order) == before


def test_a_stale_version_is_a_412_and_nothing_changes(wfm, make_order, alice, dispatcher):
    order = make_order(State.DISPATCHED, technician=alice)
    seen = order.version
    services.work_order_accept(order=order, by=alice.user)  # the technician acts first
    before = snapshot(order)
    response = unassign(wfm, order, version=seen)
    assert response.status_code == 412
    assert response["Content-Type"] == PROBLEM
    assert response.body["current_version"] == seen + 1
    assert snapshot(order) == before


def test_a_retry_with_the_same_key_answers_the_first_time(wfm, make_order, alice):
    order = make_order(State.DISPATCHED, technician=alice)
    first = unassign(wfm, order, version=order.version, key="unassign-1")
    assert first.status_code == 200, first.body
    events = WorkOrderEvent.objects.filter(order=order).count()
    again = unassign(wfm, order, version=order.version, key="unassign-1")
    assert again.status_code == 200
    assert again["Idempotent-Replayed"] == "true"
    assert again.body == first.body
    assert WorkOrderEvent.objects.filter(order=order).count() == events
    other = unassign(wfm, order, version=order.version, key="unassign-1", reason="另一个原因")
    assert other.status_code == 422 and other.body["code"] == "idempotency_key_reused"


def test_an_order_without_a_technician_is_refused_with_its_state(wfm, make_order):
    order = make_order(State.ACCEPTED)
    before = snapshot(order)
    response = unassign(wfm, order, version=order.version)
    assert response.status_code == 409
    assert response["Content-Type"] == PROBLEM
    assert response.body["code"] == "illegal_transition"
    assert str(order.number) in response.body["detail"]
    assert snapshot(order) == before


def test_an_order_whose_customer_was_reached_stays_with_its_technician(wfm, make_order, alice):
    order = make_order(State.CONTACTED, technician=alice)
    before = snapshot(order)
    response = unassign(wfm, order, version=order.version)
    assert response.status_code == 409
    assert "reassign" in response.body["allowed_actions"]
    assert snapshot(order) == before


def test_the_reason_is_required(wfm, make_order, alice):
    order = make_order(State.DISPATCHED, technician=alice)
    before = snapshot(order)
    response = unassign(wfm, order, version=order.version, reason="  ")
    assert response.status_code in (400, 422)
    assert response.body["errors"][0]["field"] == "reason"
    assert snapshot(order) == before


def test_the_call_centre_may_not_unassign(cc, make_order, alice):
    order = make_order(State.DISPATCHED, technician=alice)
    before = snapshot(order)
    response = unassign(cc, order, version=order.version)
    assert response.status_code == 403
    assert snapshot(order) == before


def test_the_order_links_unassign_for_a_dispatcher(wfm, make_order, alice):
    order = make_order(State.DISPATCHED, technician=alice)
    links = {link["name"] for link in wfm.get(f"work-orders/{order.pk}/").body["actions"]}
    assert {"unassign", "reassign"} <= links
