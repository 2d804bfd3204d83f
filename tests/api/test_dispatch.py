"""Dispatch and reassign through the API (R4), for dispatching systems and dispatchers'
sessions: the same services as the desk, so every rule holds; If-Match guards the version;
If-Match is required on both (428 without it); a bad technician or a missing reason is a
clear 4xx that changes nothing."""

from __future__ import annotations

import pytest

from api import services as api_services
from api.models import ClientRole
from tests.conftest import make_technician
from workorders.models import Assignment, State, WorkOrder, WorkOrderEvent

from .conftest import Caller


@pytest.fixture
def wfm(reference_data) -> Caller:
    """A workforce-management system holding a dispatcher client's token."""
    client = api_services.api_client_create(name="调度系统", role=ClientRole.DISPATCHER)
    _token, plain = api_services.api_token_issue(client=client)
    return Caller(plain)


def if_match(order: WorkOrder) -> dict[str, str]:
    """The order's ETag, as a client reads it from GET /work-orders/{id}/."""
    return {"If-Match": f'"{WorkOrder.objects.get(pk=order.pk).version}"'}


def test_a_dispatching_client_dispatches_to_the_technician_it_names(wfm, make_order, alice):
    order = make_order()
    response = wfm.post(f"work-orders/{order.pk}/dispatch/",
                        {"technician": alice.pk, "reason": "就近"},
                        headers={"If-Match": '"1"'})
    assert response.status_code == 200, response.body
    assert response.body["state"] == State.DISPATCHED
    assert response["ETag"] == '"2"'
    order.refresh_from_db()
    assert order.technician == alice
    event = WorkOrderEvent.objects.filter(order=order).last()
    assert event.actor_label == "调度系统" and event.reason == "就近"  # R42: who, why


def test_without_a_technician_dispatch_chooses_as_r4_does(wfm, make_order, alice):
    order = make_order()
    response = wfm.post(f"work-orders/{order.pk}/dispatch/", {}, headers=if_match(order))
    assert response.status_code == 200, response.body
    order.refresh_from_db()
    assert order.technician == alice  # the only one in the area with the skills


def test_a_technician_of_another_area_is_refused_with_the_rule(wfm, make_order, bob):
    order = make_order()
    response = wfm.post(f"work-orders/{order.pk}/dispatch/", {"technician": bob.pk},
                        headers=if_match(order))
    assert response.status_code == 422, response.body
    assert response.body["errors"][0]["field"] == "technician"
    assert "R4" in response.body["detail"] or response.body.get("rule") == "R4"
    order.refresh_from_db()
    assert order.state == State.ACCEPTED and order.technician is None


@pytest.mark.parametrize("technician", [999999, "alice", 1.5])
def test_an_unknown_technician_is_a_400_naming_the_field(wfm, make_order, technician):
    order = make_order()
    response = wfm.post(f"work-orders/{order.pk}/dispatch/", {"technician": technician},
                        headers=if_match(order))
    assert response.status_code == 400
    [error] = response.body["errors"]
    assert error["field"] == "technician"
    # What to do, in the product's words (DRF's own said "Invalid pk ... does not exist")
    assert "GET /technicians/" in error["message"], error
    assert WorkOrder.objects.get(pk=order.pk).state == State.ACCEPTED


def test_reassign_needs_a_reason_and_keeps_the_history(wfm, make_order, alice, east):
    from tests.conftest import make_technician

    carol = make_technician("carol", areas=[east])
    order = make_order(State.DISPATCHED, technician=alice)
    refused = wfm.post(f"work-orders/{order.pk}/reassign/", {"technician": carol.pk},
                       headers=if_match(order))
    assert refused.status_code == 400 and refused.body["errors"][0]["field"] == "reason"
    response = wfm.post(f"work-orders/{order.pk}/reassign/",
                        {"technician": carol.pk, "reason": "Alice 病假"},
                        headers=if_match(order))
    assert response.status_code == 200, response.body
    order.refresh_from_db()
    assert order.technician == carol
    assert list(Assignment.objects.filter(order=order).order_by("pk")
                .values_list("technician__user__username", flat=True)) == ["alice", "carol"]


def test_a_stale_version_is_a_412_and_changes_nothing(wfm, make_order, alice):
    order = make_order()
    response = wfm.post(f"work-orders/{order.pk}/dispatch/", {"technician": alice.pk},
                        headers={"If-Match": '"7"'})
    assert response.status_code == 412
    assert WorkOrder.objects.get(pk=order.pk).technician is None


def test_dispatching_a_dispatched_order_is_a_409_with_what_is_allowed(wfm, make_order, alice):
    order = make_order(State.DISPATCHED, technician=alice)
    response = wfm.post(f"work-orders/{order.pk}/dispatch/", {"technician": alice.pk},
                        headers=if_match(order))
    assert response.status_code == 409, response.body


def test_the_call_centre_and_reporting_may_not_dispatch(cc, bi, make_order, alice):
    order = make_order()
    assert cc.post(f"work-orders/{order.pk}/dispatch/",
                   {"technician": alice.pk}).status_code == 403
    assert bi.post(f"work-orders/{order.pk}/dispatch/",
                   {"technician": alice.pk}).status_code == 403
    assert WorkOrder.objects.get(pk=order.pk).state == State.ACCEPTED


def test_a_dispatchers_session_may_dispatch(as_session, dispatcher, make_order, alice):
    order = make_order()
    response = as_session(dispatcher).post(f"work-orders/{order.pk}/dispatch/",
                                           {"technician": alice.pk}, headers=if_match(order))
    # a browser session is CSRF-protected like any form post
    assert response.status_code in (200, 403), response.body
    if response.status_code == 403:
        assert "CSRF" in str(response.body)


def test_the_order_links_the_dispatch_actions_for_a_dispatcher_only(wfm, cc, make_order):
    order = make_order()
    names = {a["name"] for a in wfm.get(f"work-orders/{order.pk}/").body["actions"]}
    assert "dispatch" in names and "reassign" not in names
    names = {a["name"] for a in cc.get(f"work-orders/{order.pk}/").body["actions"]}
    assert "dispatch" not in names


def test_a_dispatch_retried_with_its_idempotency_key_answers_as_the_first_time(
        wfm, make_order, alice):
    # R4 once: a client that lost the answer and retries gets it again, not a 409
    order = make_order()
    headers = {"Idempotency-Key": "dispatch-7f3a", "If-Match": '"1"'}
    first = wfm.post(f"work-orders/{order.pk}/dispatch/", {"technician": alice.pk},
                     headers=headers)
    assert first.status_code == 200, first.body
    again = wfm.post(f"work-orders/{order.pk}/dispatch/", {"technician": alice.pk},
                     headers=headers)
    assert again.status_code == 200, again.body
    assert again["Idempotent-Replayed"] == "true"
    assert again.body == first.body and again["ETag"] == first["ETag"] == '"2"'
    assert Assignment.objects.filter(order=order).count() == 1
    assert WorkOrderEvent.objects.filter(order=order, action="dispatch").count() == 1
    # the same key for another body is refused, and nothing happens
    other = wfm.post(f"work-orders/{order.pk}/reassign/", {"reason": "x"},
                     headers={"Idempotency-Key": "dispatch-7f3a", **if_match(order)})
    assert other.status_code == 422 and other.body["code"] == "idempotency_key_reused"
    # without a key a second dispatch is refused as before
    assert wfm.post(f"work-orders/{order.pk}/dispatch/", {"technician": alice.pk},
                    headers=if_match(order)).status_code == 409


def test_a_refused_action_stores_no_key_so_the_corrected_retry_acts(wfm, make_order, alice,
                                                                    east):
    order = make_order(State.DISPATCHED, technician=alice)
    key = {"Idempotency-Key": "reassign-1"}
    refused = wfm.post(f"work-orders/{order.pk}/reassign/", {"reason": ""},
                       headers={**key, **if_match(order)})
    assert refused.status_code in (400, 422)
    dave = make_technician("dave", areas=[east])
    done = wfm.post(f"work-orders/{order.pk}/reassign/",
                    {"technician": dave.pk, "reason": "顺路"}, headers={**key, **if_match(order)})
    assert done.status_code == 200, done.body
    assert "Idempotent-Replayed" not in done
    order.refresh_from_db()
    assert order.technician == dave


def test_a_malformed_idempotency_key_is_a_400(wfm, make_order, alice):
    order = make_order()
    response = wfm.post(f"work-orders/{order.pk}/dispatch/", {"technician": alice.pk},
                        headers={"Idempotency-Key": "has space"})
    assert response.status_code == 400
    order.refresh_from_db()
    assert order.technician is None


@pytest.mark.parametrize("action", ["dispatch", "reassign"])
def test_without_if_match_dispatch_and_reassign_are_a_428_and_change_nothing(
        wfm, make_order, alice, east, action):
    # R4: taking or giving work acts on the version the dispatcher read, never blind
    carol = make_technician("carol", areas=[east])
    order = make_order(*((State.DISPATCHED,) if action == "reassign" else ()),
                       **({"technician": alice} if action == "reassign" else {}))
    before = WorkOrder.objects.get(pk=order.pk)
    response = wfm.post(f"work-orders/{order.pk}/{action}/",
                        {"technician": carol.pk, "reason": "顺路"},
                        headers={"Accept-Language": "en"})
    assert response.status_code == 428, response.body
    assert response["Content-Type"] == "application/problem+json"
    assert response.body["code"] == "precondition_required"
    assert "ETag" in response.body["detail"]
    assert f"GET /api/v1/work-orders/{order.pk}/" in response.body["detail"]
    after = WorkOrder.objects.get(pk=order.pk)
    assert (after.version, after.technician_id, after.state) == (
        before.version, before.technician_id, before.state)
    assert Assignment.objects.filter(order=order, technician=carol).count() == 0
    # a stale one is a 412 as before; the current one acts
    stale = wfm.post(f"work-orders/{order.pk}/{action}/",
                     {"technician": carol.pk, "reason": "顺路"},
                     headers={"If-Match": f'"{before.version + 5}"'})
    assert stale.status_code == 412 and stale.body["code"] == "precondition_failed"
    done = wfm.post(f"work-orders/{order.pk}/{action}/",
                    {"technician": carol.pk, "reason": "顺路"}, headers=if_match(order))
    assert done.status_code == 200, done.body
    assert WorkOrder.objects.get(pk=order.pk).technician == carol
