"""Inspections in the API (R52): the list with its filters and cursor, the decision through
the quality service (a fail sends the order back to rework, R31), and bad input refused
with problem+json naming the field, nothing written. Who may: tests/api/test_roles.py."""

from __future__ import annotations

import datetime as dt

import pytest

from fieldops import clock
from quality import services as quality_services
from quality.models import Inspection, InspectionStatus, QualityRecord
from surveys import services as survey_services
from workorders.models import State, WorkOrder

pytestmark = pytest.mark.django_db

POINT = "The site was left clean"


@pytest.fixture
def drawn(make_order, alice, bob, west, inspector):
    """Three completed orders drawn for inspection: two in the east, one in the west."""
    out = []
    for technician, area in ((alice, None), (alice, None), (bob, west)):
        extra = {"area": area} if area is not None else {}
        order = make_order(State.COMPLETED, technician=technician, **extra)
        out.append(quality_services.inspection_open(order=order, by=inspector))
    return out


@pytest.fixture
def one(make_order, alice, inspector):
    """One completed order drawn for inspection."""
    order = make_order(State.COMPLETED, technician=alice)
    return quality_services.inspection_open(order=order, by=inspector)


@pytest.fixture
def ivy(as_session, inspector):
    return as_session(inspector)


def test_the_list_filters_by_area_state_and_period_and_pages_by_cursor(ivy, drawn, east,
                                                                       inspector):
    # R52
    first, second, west_one = drawn
    quality_services.inspection_decide(inspection=first, by=inspector, passed=True,
                                       method="review")
    every = ivy.get("inspections/")
    assert every.status_code == 200
    assert [r["id"] for r in every.body["results"]] == [west_one.pk, second.pk, first.pk]
    row = every.body["results"][-1]
    assert row["order_number"] == first.order.number and row["area"] == east.code
    assert row["status"] == "passed" and row["decided_by"] == "Ivy Zhijian"
    assert POINT in row["checklist"] and row["signals"] == []
    assert [r["id"] for r in ivy.get("inspections/", area=east.code).body["results"]] == [
        second.pk, first.pk]
    assert [r["id"] for r in ivy.get("inspections/", state="open",
                                     area=east.code).body["results"]] == [second.pk]
    today = clock.today_local()
    assert len(ivy.get("inspections/", start=today.isoformat(),
                       end=today.isoformat()).body["results"]) == 3
    assert ivy.get("inspections/",
                   start=(today + dt.timedelta(days=1)).isoformat()).body["results"] == []
    page = ivy.get("inspections/", page_size=2)
    assert len(page.body["results"]) == 2 and page.body["next"]
    rest = ivy.get(page.body["next"])
    assert [r["id"] for r in rest.body["results"]] == [first.pk] and rest.body["next"] is None


def test_a_fail_sends_the_order_back_to_rework_once(ivy, one):
    # R52 → R31: through the quality service; a retry with the key replays the answer
    inspection = one
    body = {"passed": False, "failed_points": [POINT], "notes": "线缆散落在地上"}
    headers = {"Idempotency-Key": "fail-1"}
    answer = ivy.post(f"inspections/{inspection.pk}/decision/", body, headers=headers)
    assert answer.status_code == 200, answer.body
    assert answer.body["status"] == "failed" and answer.body["failed_points"] == [POINT]
    assert WorkOrder.objects.get(pk=inspection.order_id).state == State.REWORK
    assert QualityRecord.objects.filter(inspection=inspection).count() == 1
    again = ivy.post(f"inspections/{inspection.pk}/decision/", body, headers=headers)
    assert again.status_code == 200 and again["Idempotent-Replayed"] == "true"
    assert again.body == answer.body
    twice = ivy.post(f"inspections/{inspection.pk}/decision/", {"passed": True})
    assert twice.status_code == 409 and twice.body["code"] == "inspection_decided"
    assert twice["Content-Type"] == "application/problem+json"
    assert QualityRecord.objects.filter(inspection=inspection).count() == 1


@pytest.mark.parametrize(("body", "status", "field"), [
    ({"passed": False}, 422, "notes"),  # a fail says what was wrong
    ({"passed": False, "failed_points": ["Not a point"]}, 422, "failed_points"),
    ({"passed": True, "failed_points": [POINT]}, 422, "failed_points"),
    ({"passed": True, "method": "revisit"}, 422, "revisited_at"),
    ({"passed": "no"}, 400, "passed"),
    ({"passed": True, "method": "guess"}, 400, "method"),
    ({"passed": True, "verdict": "ok"}, 400, "verdict"),
    ({}, 400, "passed"),
])
def test_bad_decisions_are_refused_naming_the_field(ivy, one, body, status, field):
    # R52: a clear message, nothing written
    inspection = one
    answer = ivy.post(f"inspections/{inspection.pk}/decision/", body)
    assert answer.status_code == status, answer.body
    assert answer["Content-Type"] == "application/problem+json"
    assert field in [e["field"] for e in answer.body["errors"]] or (
        answer.body.get("field") == field), answer.body
    assert answer.body["detail"]
    assert Inspection.objects.get(pk=inspection.pk).status == InspectionStatus.OPEN
    assert WorkOrder.objects.get(pk=inspection.order_id).state == State.COMPLETED


def test_an_order_no_longer_completed_is_refused(ivy, one, agent):
    # R52: an order that went to rework since it was drawn is not decided
    inspection = one
    order = WorkOrder.objects.get(pk=inspection.order_id)
    survey_services.work_order_start_rework(order=order, by=agent, comment="still slow")
    answer = ivy.post(f"inspections/{inspection.pk}/decision/", {"passed": True})
    assert answer.status_code == 422 and answer.body["errors"][0]["field"] == "order"
    assert order.number in answer.body["detail"]


def test_bad_filters_and_unknown_ids(ivy, one):
    assert ivy.get("inspections/", state="maybe").status_code == 400
    wrong = ivy.get("inspections/", start="2026-12-02", end="2026-12-01")
    assert wrong.status_code == 400 and wrong.body["errors"][0]["field"] == "end"
    assert ivy.get("inspections/", cursor="nonsense").status_code == 400
    missing = ivy.post("inspections/999999/decision/", {"passed": True})
    assert missing.status_code == 404 and "999999" in missing.body["detail"]
