"""Day plans through the API (R4, R10, R11, R15): a dispatching system proposes an area's
day, reads it and accepts it whole or for single technicians, through the day board's own
services. Accepting requires If-Match (428 without it, 412 when another dispatcher accepted
routes meanwhile), an Idempotency-Key answers a retry the first time, and every refusal is
problem+json that changes nothing."""

from __future__ import annotations

import datetime as dt
import zoneinfo

import pytest
import time_machine

from api import services as api_services
from api.models import ClientRole
from appointments.models import AppointmentStatus, VisitPlan
from planning import dayplans
from planning.models import DayPlanAcceptance, DayPlanProposal
from tests.conftest import make_technician
from workorders.models import State

from .conftest import Caller

SHANGHAI = zoneinfo.ZoneInfo("Asia/Shanghai")
#: Monday 23 November 2026, 09:00 in Beijing.
MONDAY_9 = dt.datetime(2026, 11, 23, 9, 0, tzinfo=SHANGHAI)
MONDAY = MONDAY_9.date()
PROBLEM = "application/problem+json"

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def monday(settings):
    settings.DAY_PLAN = {"seconds": 0.3}
    with time_machine.travel(MONDAY_9, tick=False) as traveller:
        yield traveller


@pytest.fixture
def wfm(reference_data) -> Caller:
    client = api_services.api_client_create(name="调度系统", role=ClientRole.DISPATCHER)
    _token, plain = api_services.api_token_issue(client=client)
    return Caller(plain)


@pytest.fixture
def dave(east):
    return make_technician("dave", areas=[east], full_name="Dave Zhao")


def propose(caller: Caller, area, day: dt.date = MONDAY, headers: dict | None = None,
            **extra):
    return caller.post("day-plans/", {"area": area.code, "day": day.isoformat(), **extra},
                       headers=headers or {})


def accept(caller: Caller, plan_id: int, body: dict | None = None, *,
           version: int | None = None, key: str | None = None):
    headers = {}
    if version is not None:
        headers["If-Match"] = f'"{version}"'
    if key is not None:
        headers["Idempotency-Key"] = key
    return caller.post(f"day-plans/{plan_id}/accept/", body or {}, headers=headers)


def test_a_proposal_lists_each_route_and_changes_nothing(wfm, make_order, alice, east):
    orders = [make_order(State.DISPATCHED, technician=alice) for _ in range(2)]
    response = propose(wfm, east)
    assert response.status_code == 201, response.body
    body = response.body
    assert response["ETag"] == '"1"' and body["version"] == 1
    assert (body["area"], body["day"]) == (east.code, MONDAY.isoformat())
    [route] = body["routes"]
    assert route["technician"] == alice.pk and route["technician_name"]
    assert {v["order"] for v in route["visits"]} == {o.pk for o in orders}
    assert route["acceptance"] is None and body["unplanned"] == []
    assert not VisitPlan.objects.exists()
    again = wfm.get(f"day-plans/{body['id']}/")
    assert again.status_code == 200 and again.body == body


def test_accepting_the_whole_plan_plans_every_visit_and_never_moves_a_booking(
        wfm, make_order, alice, east):
    orders = [make_order(State.DISPATCHED, technician=alice) for _ in range(2)]
    windows = {o.pk: o.appointments.get(status=AppointmentStatus.BOOKED) for o in orders}
    plan = propose(wfm, east).body
    response = accept(wfm, plan["id"], version=1)
    assert response.status_code == 200, response.body
    assert response["ETag"] == '"2"' and response.body["version"] == 2
    acceptance = response.body["routes"][0]["acceptance"]
    assert sorted(acceptance["applied"]) == sorted(o.pk for o in orders)
    assert acceptance["refused"] == [] and acceptance["accepted_by"] == "调度系统"
    for order in orders:
        booking = order.appointments.get(status=AppointmentStatus.BOOKED)
        assert (booking.start, booking.end) == (windows[order.pk].start,
                                                windows[order.pk].end)  # R10
        assert VisitPlan.objects.filter(order=order).count() == 1


def test_single_technicians_are_accepted_one_at_a_time(wfm, make_order, alice, dave, east):
    make_order(State.DISPATCHED, technician=alice)
    make_order(State.DISPATCHED, technician=dave)
    plan = propose(wfm, east).body
    first = accept(wfm, plan["id"], {"technicians": [dave.pk]}, version=1)
    assert first.status_code == 200, first.body
    accepted = {r["technician"]: r["acceptance"] for r in first.body["routes"]}
    assert accepted[alice.pk] is None and accepted[dave.pk] is not None
    # another dispatcher read version 1: the plan moved on, nothing more is applied
    stale = accept(wfm, plan["id"], {"technicians": [alice.pk]}, version=1)
    assert stale.status_code == 412
    assert stale["Content-Type"] == PROBLEM and stale.body["current_version"] == 2
    assert DayPlanAcceptance.objects.count() == 1
    assert accept(wfm, plan["id"], {"technicians": [alice.pk]}, version=2).status_code == 200
    assert DayPlanAcceptance.objects.count() == 2


def test_accepting_needs_if_match(wfm, make_order, alice, east):
    make_order(State.DISPATCHED, technician=alice)
    plan = propose(wfm, east).body
    response = accept(wfm, plan["id"])
    assert response.status_code == 428
    assert response["Content-Type"] == PROBLEM
    assert response.body["code"] == "precondition_required"
    assert f"/api/v1/day-plans/{plan['id']}/" in response.body["detail"]  # where the ETag is
    assert not DayPlanAcceptance.objects.exists() and not VisitPlan.objects.exists()


def test_a_retry_with_the_same_key_answers_the_first_time(wfm, make_order, alice, east):
    make_order(State.DISPATCHED, technician=alice)
    plan = propose(wfm, east).body
    first = accept(wfm, plan["id"], version=1, key="accept-1")
    assert first.status_code == 200, first.body
    again = accept(wfm, plan["id"], version=1, key="accept-1")
    assert again.status_code == 200 and again["Idempotent-Replayed"] == "true"
    assert again.body == first.body
    assert DayPlanAcceptance.objects.count() == 1 and VisitPlan.objects.count() == 1


def test_proposing_with_a_key_solves_once(wfm, make_order, alice, east):
    make_order(State.DISPATCHED, technician=alice)
    headers = {"Idempotency-Key": "propose-1"}
    first = propose(wfm, east, headers=headers)
    again = propose(wfm, east, headers=headers)
    assert first.status_code == again.status_code == 201
    assert again["Idempotent-Replayed"] == "true" and again.body["id"] == first.body["id"]
    assert DayPlanProposal.objects.count() == 1


def test_a_day_in_the_past_is_refused_in_words(wfm, east):
    response = propose(wfm, east, MONDAY - dt.timedelta(days=1))
    assert response.status_code == 422
    assert response["Content-Type"] == PROBLEM
    assert "2026-11-22" in response.body["detail"]  # the day, in the caller's language
    assert response.body["errors"][0]["field"] == "day"
    assert not DayPlanProposal.objects.exists()


def test_an_unknown_area_or_technician_is_named(wfm, make_order, alice, east):
    response = wfm.post("day-plans/", {"area": "NOPE", "day": MONDAY.isoformat()})
    assert response.status_code == 400
    assert response.body["errors"][0]["field"] == "area"
    make_order(State.DISPATCHED, technician=alice)
    plan = propose(wfm, east).body
    for chosen in ([999999], []):
        refused = accept(wfm, plan["id"], {"technicians": chosen}, version=1)
        assert refused.status_code == 422, refused.body
        assert refused.body["errors"][0]["field"] in ("technician", "technicians")
    assert not DayPlanAcceptance.objects.exists()
    assert wfm.get("day-plans/999999/").status_code == 404


def test_a_plan_whose_day_is_over_can_no_longer_be_accepted(wfm, make_order, alice, east,
                                                           monday):
    make_order(State.DISPATCHED, technician=alice)
    plan = propose(wfm, east).body
    monday.move_to(MONDAY_9 + dt.timedelta(days=1))
    response = accept(wfm, plan["id"], version=1)
    assert response.status_code == 422 and MONDAY.isoformat() in response.body["detail"]
    assert not VisitPlan.objects.exists()


def test_only_a_dispatcher_plans(cc, make_order, alice, east):
    make_order(State.DISPATCHED, technician=alice)
    assert propose(cc, east).status_code == 403
    proposal = dayplans.propose(area=east, day=MONDAY, by=None, seconds=0.2)
    assert cc.get(f"day-plans/{proposal.pk}/").status_code == 403
    assert accept(cc, proposal.pk, version=1).status_code == 403
    assert not DayPlanAcceptance.objects.exists()


def test_an_unassigned_booked_visit_is_listed_not_dropped(wfm, make_order, alice, east):
    make_order(State.DISPATCHED, technician=alice)
    waiting = make_order(State.ACCEPTED)
    response = propose(wfm, east, headers={"Accept-Language": "en"})
    assert response.status_code == 201, response.body
    [left] = response.body["unplanned"]
    assert left["order"] == waiting.pk and left["number"] == waiting.number
    assert left["reason"].startswith("no technician yet")
    placed = propose(wfm, east, reassign=True).body
    assert placed["unplanned"] == []
    assert {v["order"] for r in placed["routes"] for v in r["visits"]} >= {waiting.pk}


def test_an_area_with_nobody_on_duty_is_refused(wfm, make_order, alice, east):
    make_order(State.DISPATCHED, technician=alice)
    alice.is_active = False
    alice.save(update_fields=["is_active"])
    response = propose(wfm, east, headers={"Accept-Language": "en"}, reassign=True)
    assert response.status_code == 422, response.body
    assert response["Content-Type"] == PROBLEM
    assert "on duty" in response.body["detail"]
    assert response.body["errors"][0]["field"] == "area"
    assert not DayPlanProposal.objects.exists()


def test_a_parked_order_is_listed_with_the_reason_in_words(wfm, make_order, alice, east):
    # R12: the customer asked to wait; the order keeps its booking for the day but is
    # listed as not planned, in words, never dropped
    make_order(State.DISPATCHED, technician=alice)
    parked = make_order(State.PARKED, technician=alice)
    parked.refresh_from_db()
    response = propose(wfm, east, headers={"Accept-Language": "en"})
    assert response.status_code == 201, response.body
    [left] = response.body["unplanned"]
    assert left["order"] == parked.pk and left["number"] == parked.number
    assert left["reason"] == (f"the customer asked to wait until "
                              f"{parked.parked_until.isoformat()}; resume the order first")
