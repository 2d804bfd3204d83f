"""The dispatcher's day board: its data, and the drops that dispatch, reassign and plan a
visit through the same services as the desk, each rule refused in words (R4, R10, R11,
R15, R16), a stale version refused (412) and a missing one asked for (428)."""

from __future__ import annotations

import datetime as dt
import json
import zoneinfo

import pytest
import time_machine
from django.test import Client
from django.urls import reverse

from appointments.models import VisitPlan
from tests.conftest import make_technician
from workorders.models import Assignment, Kind, State, WorkOrder

SHANGHAI = zoneinfo.ZoneInfo("Asia/Shanghai")
#: Monday 23 November 2026, 09:00 in Beijing (01:00 UTC).
MONDAY_9 = dt.datetime(2026, 11, 23, 9, 0, tzinfo=SHANGHAI)

pytestmark = pytest.mark.django_db


@pytest.fixture
def monday():
    with time_machine.travel(MONDAY_9, tick=False) as traveller:
        yield traveller


@pytest.fixture
def desk(dispatcher) -> Client:
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    client.force_login(dispatcher)
    return client


@pytest.fixture
def dave(east):
    """A second technician of the east area."""
    return make_technician("dave", areas=[east], full_name="Dave Zhao")


@pytest.fixture
def erin(east):
    """An east technician who installs fixed lines only: no broadband skill."""
    return make_technician("erin", areas=[east], skills=("install", "fixed_line"),
                           full_name="Erin Sun")


def data(client: Client, **query: str) -> dict:
    response = client.get(reverse("admin:workorders_workorder_board_data"), query)
    assert response.status_code == 200, response.content
    return response.json()


def assign(client: Client, order: WorkOrder, technician, *, version: int | None = None,
           if_match: str | None = None):
    headers = {}
    if if_match is not None or version is not None:
        headers["HTTP_IF_MATCH"] = if_match if if_match is not None else f'"{version}"'
    return client.post(reverse("admin:workorders_workorder_board_assign", args=[order.pk]),
                       json.dumps({"technician": technician.pk}),
                       content_type="application/json", **headers)


def plan(client: Client, order: WorkOrder, start: str, *, version: int | None = None):
    headers = {} if version is None else {"HTTP_IF_MATCH": f'"{version}"'}
    return client.post(reverse("admin:workorders_workorder_board_plan", args=[order.pk]),
                       json.dumps({"start": start}), content_type="application/json",
                       **headers)


def fresh(order: WorkOrder) -> WorkOrder:
    return WorkOrder.objects.get(pk=order.pk)


# --- The page and its data ------------------------------------------------------------------

def test_the_page_is_in_the_admin_with_its_scripts_from_our_files(monday, desk):
    response = desk.get(reverse("admin:workorders_workorder_board"))
    assert response.status_code == 200
    html = response.content.decode()
    assert reverse("admin:workorders_workorder_board") in html  # the header's link
    assert "vendor/build/event-calendar.min.js" in html
    assert "console/board.js" in html
    assert 'data-day="2026-11-23"' in html  # today in the operator's zone


def test_it_needs_a_login(monday, client):
    response = client.get(reverse("admin:workorders_workorder_board_data"))
    assert response.status_code == 302
    assert "/admin/login/" in response["Location"]


def test_the_data_shows_technicians_by_area_and_visits_in_the_operators_time(
        monday, desk, make_order, alice, dave, east):
    dispatched = make_order(State.DISPATCHED, technician=alice)
    scheduled = make_order(State.SCHEDULED, technician=dave)  # booked 11:00-12:00 Beijing
    waiting = make_order(State.ACCEPTED, kind=Kind.REPAIR)
    board = data(desk)

    assert board["day"] == "2026-11-23"
    first, *groups = board["resources"]
    assert first["id"] == "unassigned"
    [area] = groups
    assert area["title"] == east.name
    assert [c["title"] for c in area["children"]] == ["Alice Wang", "Dave Zhao"]

    events = {e["id"]: e for e in board["events"]}
    # A day booking (R3) starts at the board's first hour, with its travel before it.
    visit = events[f"visit-{dispatched.pk}"]
    assert visit["resourceIds"] == [f"tech-{alice.pk}"]
    assert (visit["start"], visit["end"]) == ("2026-11-23T08:00:00", "2026-11-23T09:00:00")
    travel = events[f"travel-{dispatched.pk}"]
    assert (travel["start"], travel["end"]) == ("2026-11-23T07:30:00", "2026-11-23T08:00:00")
    assert travel["editable"] is False
    assert visit["extendedProps"]["version"] == dispatched.version
    # An exact booking is drawn at its booked window, in Beijing time (03:00 UTC).
    exact = events[f"visit-{scheduled.pk}"]
    assert (exact["start"], exact["end"]) == ("2026-11-23T11:00:00", "2026-11-23T12:00:00")
    assert events[f"window-{scheduled.pk}"]["display"] == "background"
    # The unassigned order is in its own row and in the side list.
    assert events[f"visit-{waiting.pk}"]["resourceIds"] == ["unassigned"]
    assert [u["number"] for u in board["unassigned"]] == [waiting.number]
    assert board["hours"] == [7, 20]  # the first travel, 07:30, shows
    text = json.dumps(board, ensure_ascii=False)
    assert "R4" not in text and "R3" not in text


def test_the_hours_widen_to_a_visit_booked_early(monday, desk, make_order, alice):
    monday.move_to(dt.datetime(2026, 11, 23, 3, 0, tzinfo=SHANGHAI))
    make_order(State.SCHEDULED, technician=alice)  # 05:00-06:00, travel from 04:30
    assert data(desk)["hours"] == [4, 20]


def test_another_day_and_an_area_filter(monday, desk, make_order, alice, bob, west):
    today = make_order(State.DISPATCHED, technician=alice)
    tomorrow = make_order(State.ACCEPTED, preferred_day=dt.date(2026, 11, 24))
    board = data(desk, day="2026-11-24")
    ids = {e["id"] for e in board["events"]}
    assert f"visit-{tomorrow.pk}" in ids and f"visit-{today.pk}" not in ids
    west_only = data(desk, area=str(west.pk))
    assert [c["title"] for g in west_only["resources"][1:] for c in g["children"]] == ["Bob Li"]
    assert not west_only["events"]


# --- Drops onto a technician: dispatch and reassign (R4) ----------------------------------------

def test_an_unassigned_order_dropped_on_a_technician_is_dispatched_to_them(
        monday, desk, make_order, alice, dispatcher):
    order = make_order(State.ACCEPTED)
    response = assign(desk, order, alice, version=order.version)
    assert response.status_code == 200, response.content
    order = fresh(order)
    assert (order.state, order.technician) == (State.DISPATCHED, alice)
    assert response.json()["version"] == order.version
    assert response["ETag"] == f'"{order.version}"'
    assignment = Assignment.objects.get(order=order, ended_at__isnull=True)
    assert (assignment.assigned_by, assignment.automatic) == (dispatcher, False)


def test_an_order_dropped_on_another_technician_is_reassigned_with_its_history(
        monday, desk, make_order, alice, dave):
    order = make_order(State.DISPATCHED, technician=alice)
    response = assign(desk, order, dave, version=order.version)
    assert response.status_code == 200, response.content
    assert fresh(order).technician == dave
    rows = list(Assignment.objects.filter(order=order).order_by("assigned_at", "pk"))
    assert [r.technician for r in rows] == [alice, dave]
    assert rows[0].ended_at is not None and rows[1].reason


def test_a_drop_on_a_technician_without_the_skill_is_refused_in_words(monday, desk,
                                                                      make_order, erin,
                                                                      dispatcher):
    # R4
    order = make_order(State.ACCEPTED)
    response = assign(desk, order, erin, version=order.version)
    assert response.status_code == 422
    body = response.json()
    assert "Erin Sun lacks the skills for this order" in body["message"]
    assert "(R4)" not in body["message"]
    assert body["rule"] == "R4"
    after = fresh(order)
    assert (after.state, after.technician, after.version) == (State.ACCEPTED, None,
                                                              order.version)
    chinese = Client(HTTP_ACCEPT_LANGUAGE="zh-hans")
    chinese.force_login(dispatcher)
    message = assign(chinese, order, erin, version=order.version).json()["message"]
    assert "缺少本工单所需技能" in message and "R4" not in message


def test_a_drop_on_a_technician_of_another_area_is_refused(monday, desk, make_order, bob):
    # R4
    order = make_order(State.ACCEPTED)
    response = assign(desk, order, bob, version=order.version)
    assert response.status_code == 422
    assert "does not serve area" in response.json()["message"]
    assert fresh(order).technician is None


def test_a_stale_version_is_refused_and_nothing_is_overwritten(monday, desk, make_order,
                                                              alice, dave):
    order = make_order(State.DISPATCHED, technician=alice)
    seen = order.version
    # Another dispatcher reassigns it first.
    assert assign(desk, order, dave, version=seen).status_code == 200
    response = assign(desk, order, alice, version=seen)
    assert response.status_code == 412
    assert "Another dispatcher changed order" in response.json()["message"]
    assert fresh(order).technician == dave


def test_a_drop_without_the_version_is_asked_for_it(monday, desk, make_order, alice):
    order = make_order(State.ACCEPTED)
    response = assign(desk, order, alice)
    assert response.status_code == 428
    assert fresh(order).technician is None
    assert assign(desk, order, alice, if_match='"x"').status_code == 412


def test_only_a_dispatcher_drops(monday, make_order, agent, alice):
    order = make_order(State.ACCEPTED)
    client = Client()
    client.force_login(agent)
    assert client.get(reverse("admin:workorders_workorder_board")).status_code == 200
    response = assign(client, order, alice, version=order.version)
    assert response.status_code == 403
    assert fresh(order).technician is None


def test_a_drop_on_an_order_that_cannot_be_dispatched_says_its_state(monday, desk,
                                                                    make_order, alice, dave):
    order = make_order(State.EN_ROUTE, technician=alice)
    response = assign(desk, order, dave, version=order.version)
    assert response.status_code == 409
    message = response.json()["message"]
    assert str(State.EN_ROUTE.label) in message
    assert "en_route" not in message and "Allowed now" not in message  # no internal names
    assert fresh(order).technician == alice


def unassign(client: Client, order: WorkOrder, *, version: int | None = None):
    headers = {} if version is None else {"HTTP_IF_MATCH": f'"{version}"'}
    return client.post(reverse("admin:workorders_workorder_board_assign", args=[order.pk]),
                       json.dumps({"technician": None}), content_type="application/json",
                       **headers)


@pytest.mark.parametrize("state", [State.DISPATCHED, State.TAKEN])
def test_an_order_dropped_on_the_unassigned_row_goes_back_to_the_queue(monday, desk, make_order,
                                                                      alice, dispatcher, state):
    # R4: the dispatcher takes it off its technician; the history keeps who held it
    order = make_order(state, technician=alice)
    response = unassign(desk, order, version=order.version)
    assert response.status_code == 200, response.content
    assert "back in the queue" in response.json()["message"]
    after = fresh(order)
    assert (after.state, after.technician, after.version) == (State.ACCEPTED, None,
                                                              order.version + 1)
    assert not Assignment.objects.filter(order=order, ended_at__isnull=True).exists()
    event = after.events.order_by("-id").first()
    assert (event.action, event.actor, event.from_state) == ("unassign", dispatcher, state)
    assert event.reason == "Taken off the technician on the day board."
    row = next(e for e in data(desk)["events"] if e["id"] == f"visit-{order.pk}")
    assert row["resourceIds"] == ["unassigned"]


def test_an_order_the_technician_already_works_on_is_not_unassigned(monday, desk, make_order,
                                                                   alice):
    # Once the customer was reached, only a reassignment hands the booking on (R4)
    order = make_order(State.CONTACTED, technician=alice)
    response = unassign(desk, order, version=order.version)
    assert response.status_code == 409
    assert fresh(order).technician == alice
    queued = make_order(State.ACCEPTED)
    assert unassign(desk, queued, version=queued.version).status_code == 400
    assert unassign(desk, order).status_code == 428


# --- Moving a block along its row: the planned start -------------------------------------------

def test_a_visit_moved_inside_its_day_is_planned_and_recorded(monday, desk, make_order, alice,
                                                             dispatcher):
    order = make_order(State.DISPATCHED, technician=alice)
    response = plan(desk, order, "2026-11-23T14:30:00", version=order.version)
    assert response.status_code == 200, response.content
    assert "14:30" in response.json()["message"]
    row = VisitPlan.objects.get(order=order)
    assert row.planned_start == dt.datetime(2026, 11, 23, 14, 30, tzinfo=SHANGHAI)
    assert (row.set_by, row.previous_start, row.technician) == (dispatcher, None, alice)
    assert row.set_at == MONDAY_9
    moved = fresh(order)
    assert moved.version == order.version + 1  # another dispatcher's copy is now stale
    visit = next(e for e in data(desk)["events"] if e["id"] == f"visit-{order.pk}")
    assert visit["start"] == "2026-11-23T14:30:00"

    again = plan(desk, order, "2026-11-23T16:00:00", version=moved.version)
    assert again.status_code == 200
    latest = VisitPlan.objects.filter(order=order).latest("set_at", "id")
    assert latest.previous_start == row.planned_start
    # the order's page shows who planned the visit, from when to when
    page = desk.get(reverse("admin:workorders_workorder_change", args=[order.pk]))
    assert page.status_code == 200
    assert "Planned starts (day board)" in page.content.decode()
    assert 'id="visit_plans-1"' in page.content.decode()  # both rows


def test_the_customers_exact_time_is_not_the_dispatchers_to_move(monday, desk, make_order,
                                                                 alice):
    # R10
    order = make_order(State.SCHEDULED, technician=alice)
    response = plan(desk, order, "2026-11-23T15:00:00", version=order.version)
    assert response.status_code == 422
    body = response.json()
    assert body["rule"] == "R10"
    assert "only the customer can move that time" in body["message"]
    assert not VisitPlan.objects.exists()
    assert fresh(order).version == order.version


def test_a_start_with_less_than_two_hours_notice_is_refused(monday, desk, make_order, alice):
    # R15
    order = make_order(State.DISPATCHED, technician=alice)
    response = plan(desk, order, "2026-11-23T10:30:00", version=order.version)
    assert response.status_code == 422
    assert response.json()["rule"] == "R15"
    assert "at least 2 h before the visit" in response.json()["message"]
    assert plan(desk, order, "2026-11-23T11:00:00", version=order.version).status_code == 200


def test_moving_a_plan_that_is_soon_is_refused(monday, desk, make_order, alice, dispatcher):
    # R15: the old planned start is what the technician is working to.
    order = make_order(State.DISPATCHED, technician=alice)
    assert plan(desk, order, "2026-11-23T11:30:00", version=order.version).status_code == 200
    monday.move_to(dt.datetime(2026, 11, 23, 10, 0, tzinfo=SHANGHAI))
    desk.force_login(dispatcher)  # a staff session ends after 30 idle minutes
    response = plan(desk, order, "2026-11-23T17:00:00", version=fresh(order).version)
    assert response.status_code == 422
    assert response.json()["rule"] == "R15"


def test_a_second_broken_promise_is_refused(monday, desk, make_order, alice):
    # R16
    order = make_order(State.DISPATCHED, technician=alice)
    WorkOrder.objects.filter(pk=order.pk).update(our_missed_appointments=1)
    response = plan(desk, order, "2026-11-23T10:00:00", version=order.version)
    assert response.status_code == 422
    body = response.json()
    assert body["rule"] == "R16"
    assert "already missed once" in body["message"]


def test_a_start_outside_the_booked_window_is_refused(monday, desk, make_order, alice):
    # R3, R11: inside the day the customer agreed
    order = make_order(State.DISPATCHED, technician=alice)
    response = plan(desk, order, "2026-11-24T09:00:00", version=order.version)
    assert response.status_code == 422
    assert "outside the customer's booked window" in response.json()["message"]


def test_an_unassigned_order_is_dispatched_before_its_visit_is_planned(monday, desk,
                                                                       make_order):
    order = make_order(State.ACCEPTED)
    response = plan(desk, order, "2026-11-23T14:00:00", version=order.version)
    assert response.status_code == 422
    assert "dispatch it before planning its visit" in response.json()["message"]


def test_a_plan_with_a_stale_version_or_a_bad_time_changes_nothing(monday, desk, make_order,
                                                                  alice):
    order = make_order(State.DISPATCHED, technician=alice)
    assert plan(desk, order, "2026-11-23T14:00:00", version=order.version - 1).status_code == 412
    assert plan(desk, order, "2026-11-23T14:00:00").status_code == 428
    assert plan(desk, order, "half past two", version=order.version).status_code == 400
    assert not VisitPlan.objects.exists()
