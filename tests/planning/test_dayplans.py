"""Proposed day plans on the real services (R4, R10, R15): the proposal keeps every booked
window and the customer's own times, changes nothing until accepted, and acceptance plans
each visit through the day board's services, refusing what changed since."""

from __future__ import annotations

import datetime as dt
import zoneinfo

import pytest
import time_machine
from django.utils import translation

from appointments import services as booking_services
from appointments.models import AppointmentStatus, VisitPlan
from console.history import details
from planning import dayplans
from planning.models import DayPlanAcceptance, DayPlanProposal
from tests.conftest import make_technician
from workorders.errors import NotPermitted, RuleViolation
from workorders.events import OrderAction
from workorders.models import Assignment, State, WorkOrder, WorkOrderEvent

SHANGHAI = zoneinfo.ZoneInfo("Asia/Shanghai")
#: Monday 23 November 2026, 09:00 in Beijing.
MONDAY_9 = dt.datetime(2026, 11, 23, 9, 0, tzinfo=SHANGHAI)
MONDAY = MONDAY_9.date()

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def monday():
    with time_machine.travel(MONDAY_9, tick=False) as traveller:
        yield traveller


@pytest.fixture
def dave(east):
    return make_technician("dave", areas=[east], full_name="Dave Zhao")


def visits(proposal) -> dict[int, tuple[int, dt.datetime]]:
    return {v["order"]: (int(tech), dt.datetime.fromisoformat(v["start"]))
            for tech, route in proposal.data["routes"].items() for v in route}


def booking(order: WorkOrder):
    return order.appointments.get(status=AppointmentStatus.BOOKED)


def test_a_proposal_keeps_every_window_and_changes_nothing(make_order, alice, east,
                                                           dispatcher):
    # R3/R11: inside the booked day; R15: no start sooner than the notice; R10: the
    # customer's own time stays where it is
    day_orders = [make_order(State.DISPATCHED, technician=alice) for _ in range(3)]
    exact = make_order(State.SCHEDULED, technician=alice)
    proposal = dayplans.propose(area=east, day=MONDAY, by=dispatcher, seconds=0.5)
    planned = visits(proposal)
    assert set(planned) == {o.pk for o in [*day_orders, exact]}, proposal.data
    assert proposal.data["unplanned"] == {}
    notice = dt.timedelta(minutes=120)
    for order in day_orders:
        tech, start = planned[order.pk]
        window = booking(order)
        assert tech == alice.pk
        assert window.start <= start < window.end and start >= MONDAY_9 + notice
    assert planned[exact.pk][1] == booking(exact).start  # R10
    assert proposal.data["versions"][str(exact.pk)] == exact.version
    assert {"km", "late_min", "visits"} <= set(proposal.data["after"][str(alice.pk)])
    assert not VisitPlan.objects.exists()  # nothing changes until accepted


def test_accepting_plans_each_visit_and_never_moves_a_booking(make_order, alice, east,
                                                              dispatcher):
    orders = [make_order(State.DISPATCHED, technician=alice) for _ in range(3)]
    windows = {o.pk: (booking(o).start, booking(o).end) for o in orders}
    proposal = dayplans.propose(area=east, day=MONDAY, by=dispatcher, seconds=0.5)
    [row] = dayplans.accept(proposal=proposal, by=dispatcher)
    assert row.technician == alice and sorted(row.applied) == sorted(o.pk for o in orders)
    assert row.refused == {} and row.accepted_by == dispatcher
    planned = visits(proposal)
    for order in orders:
        plan = VisitPlan.objects.get(order=order)
        assert plan.planned_start == planned[order.pk][1] and plan.set_by == dispatcher
        assert (booking(order).start, booking(order).end) == windows[order.pk]
    # accepting the same route again does nothing more
    assert dayplans.accept(proposal=proposal, by=dispatcher) == []
    assert VisitPlan.objects.count() == 3 and DayPlanAcceptance.objects.count() == 1


def test_accepting_writes_one_plan_event_per_changed_order(make_order, alice, east,
                                                          dispatcher):
    # R42: who, when, from which planned start to which, and why, in the order's history
    orders = [make_order(State.DISPATCHED, technician=alice) for _ in range(2)]
    exact = make_order(State.SCHEDULED, technician=alice)  # R10: the customer's time stays
    proposal = dayplans.propose(area=east, day=MONDAY, by=dispatcher, seconds=0.5)
    dayplans.accept(proposal=proposal, by=dispatcher)
    planned = visits(proposal)
    for order in orders:
        [event] = WorkOrderEvent.objects.filter(order=order, action=OrderAction.PLAN_VISIT)
        assert (event.actor, event.at) == (dispatcher, MONDAY_9)
        assert event.from_state == event.to_state == State.DISPATCHED
        assert event.payload["why"] == booking_services.PLANNED_BY_DAY_PLAN
        assert event.payload["previous_start"] is None
        assert (dt.datetime.fromisoformat(event.payload["planned_start"])
                == planned[order.pk][1])
        assert event.payload["technician"] == alice.pk
        with translation.override("en"):
            assert ("Planned start: " + planned[order.pk][1].astimezone(SHANGHAI)
                    .strftime("%Y-%m-%d %H:%M")) in details(event.payload)
            assert "Reason: Day plan accepted" in details(event.payload)
    assert not WorkOrderEvent.objects.filter(order=exact, action=OrderAction.PLAN_VISIT)


def test_a_second_plan_event_says_from_which_start(make_order, alice, dispatcher):
    # R42: a move on the board after an earlier plan names both starts
    order = make_order(State.DISPATCHED, technician=alice)
    first = dt.datetime(2026, 11, 23, 14, 0, tzinfo=SHANGHAI)
    second = dt.datetime(2026, 11, 23, 15, 0, tzinfo=SHANGHAI)
    booking_services.visit_plan_start(order=order, by=dispatcher, start=first)
    order.refresh_from_db()
    booking_services.visit_plan_start(order=order, by=dispatcher, start=second)
    events = list(WorkOrderEvent.objects.filter(order=order, action=OrderAction.PLAN_VISIT)
                  .order_by("id"))
    assert len(events) == 2
    assert dt.datetime.fromisoformat(events[1].payload["previous_start"]) == first
    assert events[1].payload["why"] == booking_services.PLANNED_ON_BOARD
    text = details(events[1].payload)  # in English here (conftest)
    assert "Planned start before: 2026-11-23 14:00" in text
    assert "Planned start: 2026-11-23 15:00" in text
    assert "Reason: Moved on the day board" in text
    assert "previous_start" not in text and "Why" not in text


def test_a_visit_changed_since_the_proposal_is_refused_and_the_rest_applied(
        make_order, alice, east, dispatcher):
    first, second = (make_order(State.DISPATCHED, technician=alice) for _ in range(2))
    proposal = dayplans.propose(area=east, day=MONDAY, by=dispatcher, seconds=0.5)
    # another dispatcher plans the first visit on the board meanwhile
    booking_services.visit_plan_start(order=first, by=dispatcher,
                                      start=dt.datetime(2026, 11, 23, 16, 0, tzinfo=SHANGHAI))
    [row] = dayplans.accept(proposal=proposal, by=dispatcher, technicians=[alice.pk])
    assert row.applied == [second.pk]
    assert "changed after the proposal was made" in row.refused[str(first.pk)]
    assert VisitPlan.objects.filter(order=first).count() == 1  # the board's plan stands


def test_with_reassignment_allowed_an_off_duty_technicians_visits_move(
        make_order, alice, dave, east, dispatcher):
    # R4: only to a technician who may take them; the customer's own time cannot move with
    # a reassignment here, so it is listed, not dropped
    movable = [make_order(State.DISPATCHED, technician=alice) for _ in range(2)]
    exact = make_order(State.SCHEDULED, technician=alice)
    alice.is_active = False
    alice.save(update_fields=["is_active"])
    proposal = dayplans.propose(area=east, day=MONDAY, by=dispatcher, reassign=True,
                                seconds=0.5)
    planned = visits(proposal)
    assert {planned[o.pk][0] for o in movable} == {dave.pk}
    assert proposal.data["unplanned"] == {str(exact.pk): "no_technician"}
    [row] = dayplans.accept(proposal=proposal, by=dispatcher)
    assert sorted(row.applied) == sorted(o.pk for o in movable)
    for order in movable:
        order.refresh_from_db()
        assert order.technician == dave
        assert Assignment.objects.filter(order=order, technician=dave,
                                         reason__startswith="Day plan").exists()


def test_only_a_dispatcher_plans_and_not_a_day_that_is_over(make_order, alice, east,
                                                            dispatcher):
    make_order(State.DISPATCHED, technician=alice)
    with pytest.raises(NotPermitted):
        dayplans.propose(area=east, day=MONDAY, by=alice.user, seconds=0.5)
    with pytest.raises(RuleViolation) as err:
        dayplans.propose(area=east, day=MONDAY - dt.timedelta(days=1), by=dispatcher)
    assert err.value.field == "day"
    proposal = dayplans.propose(area=east, day=MONDAY, by=dispatcher, seconds=0.5)
    with pytest.raises(NotPermitted):
        dayplans.accept(proposal=proposal, by=alice.user)
    with pytest.raises(RuleViolation):
        dayplans.accept(proposal=proposal, by=dispatcher, technicians=[999999])
    assert not VisitPlan.objects.exists()


def test_an_unassigned_booked_visit_is_listed_as_having_no_technician_yet(
        make_order, alice, east, dispatcher):
    # R3/R4: an order booked at intake but not dispatched yet is part of the day; without
    # leave to move visits between technicians it is listed, not dropped silently
    mine = make_order(State.DISPATCHED, technician=alice)
    waiting = make_order(State.ACCEPTED)
    assert waiting.technician is None and booking(waiting)
    proposal = dayplans.propose(area=east, day=MONDAY, by=dispatcher, seconds=0.5)
    assert set(visits(proposal)) == {mine.pk}
    assert proposal.data["unplanned"] == {str(waiting.pk): "no_technician_yet"}
    assert str(dayplans.UNPLANNED["no_technician_yet"]).startswith("no technician yet")
    assert str(waiting.pk) in proposal.data["versions"]


def test_with_reassignment_allowed_an_unassigned_visit_is_dispatched_to_one_who_may(
        make_order, alice, east, dispatcher):
    # R4: only a technician with the order's skills gets it (carol does no installs);
    # accepting dispatches it through the normal service and never moves the booking
    carol = make_technician("carol", areas=[east], skills=("repair", "broadband"),
                            full_name="Carol Li")
    waiting = make_order(State.ACCEPTED)
    window = (booking(waiting).start, booking(waiting).end)
    proposal = dayplans.propose(area=east, day=MONDAY, by=dispatcher, reassign=True,
                                seconds=0.5)
    planned = visits(proposal)
    assert planned[waiting.pk][0] == alice.pk and carol.pk != alice.pk
    assert proposal.data["unplanned"] == {}
    [row] = dayplans.accept(proposal=proposal, by=dispatcher)
    assert row.applied == [waiting.pk] and row.refused == {}
    waiting.refresh_from_db()
    assert waiting.technician == alice and waiting.state == State.DISPATCHED
    assert Assignment.objects.filter(order=waiting, technician=alice,
                                     reason__startswith="Day plan").exists()
    assert VisitPlan.objects.get(order=waiting).planned_start == planned[waiting.pk][1]
    assert (booking(waiting).start, booking(waiting).end) == window


def test_an_unassigned_visit_nobody_may_take_is_listed_with_that_reason(
        make_order, alice, east, dispatcher):
    waiting = make_order(State.ACCEPTED)
    alice.access_types.clear()
    proposal = dayplans.propose(area=east, day=MONDAY, by=dispatcher, reassign=True,
                                seconds=0.5)
    assert proposal.data["unplanned"] == {str(waiting.pk): "no_technician"}
    waiting.refresh_from_db()
    assert waiting.technician is None


def test_an_area_with_nobody_on_duty_is_refused_in_words(make_order, alice, east,
                                                         dispatcher):
    # R4: a proposal listing every visit as "no technician" would say nothing useful
    make_order(State.DISPATCHED, technician=alice)
    make_order(State.ACCEPTED)
    alice.is_active = False
    alice.save(update_fields=["is_active"])
    for reassign in (False, True):
        with pytest.raises(RuleViolation) as err:
            dayplans.propose(area=east, day=MONDAY, by=dispatcher, reassign=reassign,
                             seconds=0.5)
        assert "No technician of" in err.value.message and err.value.field == "area"
    assert not DayPlanProposal.objects.exists()


def test_orders_not_plannable_now_are_listed_with_the_reason_not_skipped(make_order, alice,
                                                                         east, dispatcher):
    # R12 (the customer asked to wait), R6 (no line or port resources), a visit under way:
    # each keeps its booking for the day but is listed, never left out silently
    planned = make_order(State.DISPATCHED, technician=alice)
    parked = make_order(State.PARKED, technician=alice)
    no_resources = make_order(State.NO_RESOURCES, technician=alice)
    under_way = make_order(State.EN_ROUTE, technician=alice)
    for order in (parked, no_resources, under_way):
        assert booking(order).start.date() <= MONDAY  # booked for the day
    parked.refresh_from_db()
    proposal = dayplans.propose(area=east, day=MONDAY, by=dispatcher, seconds=0.5)
    assert set(visits(proposal)) == {planned.pk}
    until = parked.parked_until.isoformat()
    assert proposal.data["unplanned"] == {str(parked.pk): f"parked:{until}",
                                          str(no_resources.pk): "no_resources",
                                          str(under_way.pk): "under_way"}
    assert dayplans.unplanned_text(f"parked:{until}") == (
        f"the customer asked to wait until {until}; resume the order first")
    assert dayplans.unplanned_text("no_resources").startswith("waiting for line or port")
    assert dayplans.unplanned_text("state:abnormal") == (
        "it is Abnormal: its visit cannot be planned in that state")
    assert "parked" not in dayplans.unplanned_text(f"parked:{until}")


def test_an_order_parked_until_the_day_is_listed_on_that_days_plan(make_order, alice, east,
                                                                   dispatcher):
    # R12: the customer asked to wait until this day; the dispatcher sees it is due back
    make_order(State.DISPATCHED, technician=alice)
    parked = make_order(State.PARKED, technician=alice)
    parked.refresh_from_db()
    day = parked.parked_until
    proposal = dayplans.propose(area=east, day=day, by=dispatcher, seconds=0.5)
    assert proposal.data["unplanned"][str(parked.pk)] == f"parked:{day.isoformat()}"


def test_a_visit_of_an_off_duty_technician_is_listed_when_visits_may_not_move(
        make_order, alice, dave, east, dispatcher):
    # R4: the visit stays with its technician unless the proposal may move it
    held = make_order(State.DISPATCHED, technician=alice)
    alice.is_active = False
    alice.save(update_fields=["is_active"])
    proposal = dayplans.propose(area=east, day=MONDAY, by=dispatcher, seconds=0.5)
    assert proposal.data["unplanned"] == {str(held.pk): dayplans.OFF_DUTY}
    assert "off duty" in dayplans.unplanned_text(dayplans.OFF_DUTY)
