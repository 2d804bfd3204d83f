"""GET /work-orders/{id}/candidates/: the dispatch ranking (R4) for dispatchers, with the
reasons in words; other roles are refused, an unknown order is a 404, all problem+json."""

from __future__ import annotations

from typing import Any

import pytest
from django.utils import timezone

from api import services as api_services
from api.models import ClientRole
from planning.models import OrderLocation, PositionSource, TechnicianPosition
from tests.conftest import make_technician
from workorders.models import State

from .conftest import Caller

pytestmark = pytest.mark.django_db


@pytest.fixture
def wfm(reference_data: None) -> Caller:
    client = api_services.api_client_create(name="调度系统", role=ClientRole.DISPATCHER)
    _token, plain = api_services.api_token_issue(client=client)
    return Caller(plain)


def put(technician: Any, order: Any, km_north: float) -> None:
    here = OrderLocation.objects.get(order=order)
    TechnicianPosition.objects.create(technician=technician,
                                      latitude=here.latitude + km_north / 111.195,
                                      longitude=here.longitude, at=timezone.now(),
                                      source=PositionSource.CHECK_IN)


def test_a_dispatcher_reads_the_ranking_best_first_with_reasons(wfm: Caller, make_order: Any,
                                                                 east: Any) -> None:
    order = make_order()
    far, near = make_technician("far", areas=[east]), make_technician("near", areas=[east])
    lacking = make_technician("lacking", areas=[east], skills=("repair", "broadband"))
    put(far, order, 6)
    put(near, order, 1)
    put(lacking, order, 0)
    response = wfm.get(f"work-orders/{order.pk}/candidates/", headers={
        "Accept-Language": "en"})
    assert response.status_code == 200, response.body
    body = response.body
    assert (body["order"], body["number"], body["state"]) == (order.pk, order.number,
                                                              State.ACCEPTED)
    ranked = body["candidates"]
    assert [c["technician"]["employee_no"] for c in ranked] == ["T-near", "T-far",
                                                                "T-lacking"]
    assert [c["rank"] for c in ranked] == [1, 2, 3]
    best = ranked[0]
    assert best["eligible"] and best["auto_dispatch_choice"] and best["refusal"] is None
    assert best["origin"] == "position" and best["distance_km"] == 1.0
    assert best["reasons"][0] == "in area, skills match"
    assert "1.0 km from the last check-in, about 3 min" in best["reasons"]
    assert not ranked[1]["auto_dispatch_choice"]
    assert not ranked[2]["eligible"]
    assert ranked[2]["refusal"].startswith("lacking lacks the skills for this order")


def test_the_current_technician_is_marked_when_reassigning(wfm: Caller, make_order: Any,
                                                           alice: Any, east: Any) -> None:
    order = make_order(State.DISPATCHED, technician=alice)
    other = make_technician("other", areas=[east])
    body = wfm.get(f"work-orders/{order.pk}/candidates/",
                   headers={"Accept-Language": "en"}).body
    by_no = {c["technician"]["employee_no"]: c for c in body["candidates"]}
    assert by_no["T-alice"]["refusal"] == "Alice Wang has this order now."
    assert by_no[other.employee_no]["auto_dispatch_choice"]
    # R7: the contact timer runs since the dispatch and is still due
    assert [(p["kind"], p["met"]) for p in by_no[other.employee_no]["promises"]] == [
        ("contact", True)]


def test_the_call_centre_may_not_read_the_ranking(cc: Caller, make_order: Any) -> None:
    response = cc.get(f"work-orders/{make_order().pk}/candidates/")
    assert response.status_code == 403
    assert response["Content-Type"].startswith("application/problem+json")


def test_a_technician_may_not_read_the_ranking(as_session: Any, alice: Any,
                                               make_order: Any) -> None:
    order = make_order(State.DISPATCHED, technician=alice)
    response = as_session(alice.user).get(f"work-orders/{order.pk}/candidates/")
    assert response.status_code == 403


def test_an_unknown_order_is_a_404_problem(wfm: Caller) -> None:
    response = wfm.get("work-orders/999999/candidates/")
    assert response.status_code == 404
    assert response["Content-Type"].startswith("application/problem+json")


def test_without_a_token_it_is_a_401(make_order: Any) -> None:
    response = Caller().get(f"work-orders/{make_order().pk}/candidates/")
    assert response.status_code == 401
