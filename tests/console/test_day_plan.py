"""The proposed day plan on the day board: a dispatcher proposes for an area and a day,
sees each technician's route beside today's plan, and accepts one technician or all;
the plan's visits are planned through the board's services (R4, R10, R15)."""

from __future__ import annotations

import datetime as dt
import zoneinfo

import pytest
import time_machine
from django.test import Client
from django.urls import reverse

from appointments.models import VisitPlan
from planning.models import DayPlanAcceptance, DayPlanProposal
from workorders.models import State

SHANGHAI = zoneinfo.ZoneInfo("Asia/Shanghai")
MONDAY_9 = dt.datetime(2026, 11, 23, 9, 0, tzinfo=SHANGHAI)

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def monday(settings):
    settings.DAY_PLAN = {"seconds": 0.3}
    with time_machine.travel(MONDAY_9, tick=False) as traveller:
        yield traveller


@pytest.fixture
def desk(dispatcher) -> Client:
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    client.force_login(dispatcher)
    return client


def board(client: Client, **query) -> str:
    response = client.get(reverse("admin:workorders_workorder_board"),
                          {"day": "2026-11-23", **query})
    assert response.status_code == 200
    return response.content.decode()


def test_propose_then_accept_one_technician(desk, make_order, alice, east):
    orders = [make_order(State.DISPATCHED, technician=alice) for _ in range(2)]
    assert "Choose an area to propose" in board(desk)
    page = board(desk, area=east.pk)
    assert "Propose a plan for this area and day" in page
    response = desk.post(reverse("admin:workorders_workorder_day_plan_propose"),
                         {"day": "2026-11-23", "area": east.pk})
    proposal = DayPlanProposal.objects.get()
    assert response.status_code == 302 and f"proposal={proposal.pk}" in response["Location"]
    assert not VisitPlan.objects.exists()
    page = board(desk, area=east.pk, proposal=proposal.pk)
    assert "Alice Wang" in page and "Accept the plan of Alice Wang" in page
    for order in orders:
        assert order.number in page
    assert "km now" in page and "R4" not in page
    response = desk.post(reverse("admin:workorders_workorder_day_plan_accept",
                                 args=[proposal.pk]), {"technician": alice.pk}, follow=True)
    assert "2 visits planned." in response.content.decode()
    assert VisitPlan.objects.count() == 2
    assert DayPlanAcceptance.objects.get().accepted_by.username == "dora"
    assert "Accepted by Dora Diao" in board(desk, area=east.pk)


def test_a_visit_that_cannot_be_planned_is_listed_with_the_reason(desk, make_order, alice,
                                                                  east, monday, dispatcher):
    # R15: at 19:00 nothing can start two hours ahead inside today's working day
    make_order(State.DISPATCHED, technician=alice)
    monday.move_to(dt.datetime(2026, 11, 23, 19, 0, tzinfo=SHANGHAI))
    desk.force_login(dispatcher)  # a staff session ends after 30 idle minutes
    desk.post(reverse("admin:workorders_workorder_day_plan_propose"),
              {"day": "2026-11-23", "area": east.pk})
    page = board(desk, area=east.pk)
    assert "Visits the plan leaves out" in page
    assert "no technician&#x27;s day has room for it inside its window" in page


def test_a_technician_neither_proposes_nor_accepts(make_order, alice, east, dispatcher):
    make_order(State.DISPATCHED, technician=alice)
    tech = Client(HTTP_ACCEPT_LANGUAGE="en")
    tech.force_login(alice.user)
    response = tech.post(reverse("admin:workorders_workorder_day_plan_propose"),
                         {"day": "2026-11-23", "area": east.pk})
    assert response.status_code in (302, 403)
    assert not DayPlanProposal.objects.exists()


def test_bad_input_is_refused_in_words(desk, east):
    response = desk.post(reverse("admin:workorders_workorder_day_plan_propose"),
                         {"day": "23/11/2026", "area": east.pk}, follow=True)
    assert "Choose an area and a day" in response.content.decode()
    response = desk.post(reverse("admin:workorders_workorder_day_plan_propose"),
                         {"day": "2026-11-20", "area": east.pk}, follow=True)
    assert "is over; plan today or a later day" in response.content.decode()
    assert not DayPlanProposal.objects.exists()


def test_an_unassigned_booked_visit_is_listed_as_having_no_technician_yet(
        desk, make_order, alice, east):
    make_order(State.DISPATCHED, technician=alice)
    waiting = make_order(State.ACCEPTED)
    desk.post(reverse("admin:workorders_workorder_day_plan_propose"),
              {"day": "2026-11-23", "area": east.pk})
    page = board(desk, area=east.pk)
    assert "Visits the plan leaves out" in page
    assert waiting.number in page and "no technician yet" in page


def test_an_area_with_nobody_on_duty_gets_a_message_not_a_plan(desk, make_order, alice,
                                                               east):
    make_order(State.DISPATCHED, technician=alice)
    alice.is_active = False
    alice.save(update_fields=["is_active"])
    response = desk.post(reverse("admin:workorders_workorder_day_plan_propose"),
                         {"day": "2026-11-23", "area": east.pk, "reassign": "on"},
                         follow=True)
    assert "is on duty" in response.content.decode()
    assert not DayPlanProposal.objects.exists()


def test_an_order_waiting_for_resources_is_listed_in_words(desk, make_order, alice, east):
    # R6: no line or port resources yet; the board's plan says so, not a code
    make_order(State.DISPATCHED, technician=alice)
    waiting = make_order(State.NO_RESOURCES, technician=alice)
    desk.post(reverse("admin:workorders_workorder_day_plan_propose"),
              {"day": "2026-11-23", "area": east.pk})
    page = board(desk, area=east.pk)
    assert waiting.number in page and "waiting for line or port resources" in page
    assert "no_resources" not in page.split("Visits the plan leaves out", 1)[1]
