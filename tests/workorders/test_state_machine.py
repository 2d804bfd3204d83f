"""Every declared transition, fired through its service, from every source state; a sample
of illegal ones; and the event row each change writes (R42)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

import pytest
from django.utils import translation

from appointments import services as booking_services
from appointments.models import Precision
from demo.scenarios import demo_signature, finish_checklist
from fieldops import clock
from surveys import services as survey_services
from workorders import services
from workorders.diagram import transitions
from workorders.errors import IllegalTransition
from workorders.kit import required_kit
from workorders.models import (
    CompletionReport,
    ContactAttempt,
    State,
    WorkOrder,
    WorkOrderEvent,
)


def _soon() -> tuple[dt.datetime, dt.datetime]:
    start = clock.now() + dt.timedelta(hours=3)
    return start, start + dt.timedelta(hours=1)


Caller = Callable[[WorkOrder, dict[str, Any]], WorkOrder]
tech = lambda o: o.technician.user if o.technician else None  # noqa: E731

#: How each transition is fired through its service; ``p`` holds the personas.
FIRE: dict[str, Caller] = {
    "dispatch": lambda o, p: services.work_order_dispatch(order=o, by=p["dispatcher"],
                                                          technician=p["alice"]),
    "reassign": lambda o, p: services.work_order_reassign(order=o, by=p["dispatcher"],
                                                          technician=p["carol"],
                                                          reason="load balancing"),
    "unassign": lambda o, p: services.work_order_unassign(order=o, by=p["dispatcher"],
                                                          reason="wrong area given at intake"),
    "accept": lambda o, p: services.work_order_accept(order=o, by=tech(o)),
    "confirm_resources": lambda o, p: services.work_order_confirm_resources(order=o,
                                                                            by=tech(o)),
    "report_no_resources": lambda o, p: services.work_order_report_no_resources(
        order=o, by=tech(o), reason="no free port"),
    "resolve_remotely": lambda o, p: services.work_order_resolve_remotely(
        order=o, by=p["agent"], resolution="restarted the ONU"),
    "contact": lambda o, p: booking_services.work_order_log_contact(
        order=o, by=tech(o), channel="phone", outcome=ContactAttempt.Outcome.REACHED)[0],
    "schedule": lambda o, p: booking_services.work_order_schedule(order=o, by=tech(o),
                                                                  start=_soon()[0],
                                                          end=_soon()[1]),
    "reschedule": lambda o, p: booking_services.work_order_schedule(
        order=o, by=tech(o), start=_soon()[0] + dt.timedelta(hours=2),
        end=_soon()[1] + dt.timedelta(hours=2), reason="customer asked for later"),
    "park": lambda o, p: booking_services.work_order_park(
        order=o, by=p["agent"], until=clock.today_local() + dt.timedelta(days=3),
        reason="renovating"),
    "resume": lambda o, p: booking_services.work_order_resume(order=o, by=p["agent"]),
    "confirm_kit": lambda o, p: services.work_order_confirm_kit(
        order=o, by=tech(o), items=required_kit(o.access_type)),
    "depart": lambda o, p: services.work_order_depart(order=o, by=tech(o)),
    "check_in": lambda o, p: services.work_order_check_in(order=o, by=tech(o), latitude=39.9,
                                                          longitude=116.4),
    "nobody_home": lambda o, p: services.work_order_nobody_home(order=o, by=tech(o),
                                                                note="left a card at 10:20"),
    "make_abnormal": None,  # type: ignore[dict-item]  # fired inside nobody_home (R19)
    "return_from_abnormal": lambda o, p: services.work_order_return_from_abnormal(
        order=o, by=p["agent"], callback_note="customer will be home on Saturday"),
    "close_abnormal": lambda o, p: services.work_order_close_abnormal(
        order=o, by=p["agent"], callback_note="customer no longer wants it"),
    "cant_finish": lambda o, p: services.work_order_cant_finish(
        order=o, by=tech(o), reason="drop cable broken",
        promised_at=clock.now() + dt.timedelta(days=1)),
    "sign_off": lambda o, p: _customer_signs(o),
    "complete": lambda o, p: services.work_order_complete(
        order=o, by=tech(o), report=_signed_report(o)),
    "start_survey": lambda o, p: survey_services.work_order_start_survey(order=o),
    "close_satisfied": lambda o, p: survey_services.work_order_record_survey(order=o, by=p["agent"],
                                                                      satisfied=True),
    "start_rework": lambda o, p: survey_services.work_order_record_survey(order=o, by=p["agent"],
                                                                   satisfied=False,
                                                                   comment="still slow"),
    "reopen_rework": lambda o, p: services.work_order_reopen_rework(
        order=o, by=p["supervisor"], cause="inspection", reason="no ONU at the address"),
    "reassign_rework": lambda o, p: survey_services.work_order_reassign_rework(
        order=o, by=p["dispatcher"], technician=p["carol"], reason="second round"),
    "resolve_rework": lambda o, p: survey_services.work_order_resolve_rework(
        order=o, by=tech(o), note="replaced the ONU"),
    "cancel": lambda o, p: services.work_order_cancel(order=o, by=p["agent"],
                                                      reason="customer moved away"),
}

def _signed_report(order: WorkOrder) -> dict:
    report = CompletionReport.objects.filter(order=order).first()
    return report.as_dict() if report else {"work_done": "ONU installed"}


def _customer_signs(order: WorkOrder) -> WorkOrder:
    """R26: the report is written, then the customer draws their signature."""
    if not CompletionReport.objects.filter(order=order).exists():
        services.work_order_save_report(order=order, by=tech(order), work_done="ONU installed")
    finish_checklist(order, tech(order))  # R43, R44, R48: the policy's steps
    services.work_order_customer_sign_off(order=order, by=tech(order),
                                          **demo_signature(order.pk), signer_name="张伟",
                                          rating=5)
    return WorkOrder.objects.get(pk=order.pk)


ALL = transitions()


def test_every_declared_transition_has_a_service_path():
    assert {name for _s, _t, name, _r in ALL} == set(FIRE)


@pytest.fixture
def people(dispatcher, agent, alice, east, supervisor):
    from tests.conftest import make_technician

    carol = make_technician("carol", areas=[east], full_name="Carol Zhao")
    return {"dispatcher": dispatcher, "agent": agent, "alice": alice, "carol": carol,
            "supervisor": supervisor}


def _order_in(make_order, state: str, alice) -> WorkOrder:
    if state == State.PARKED:
        return make_order(State.PARKED, technician=alice)
    return make_order(state, technician=alice)


@pytest.mark.parametrize(("source", "target", "name"),
                         [(s, t, n) for s, t, n, _r in ALL if n != "make_abnormal"],
                         ids=[f"{n}:{s}->{t}" for s, t, n, _r in ALL if n != "make_abnormal"])
def test_it_fires_each_allowed_transition_and_logs_it(make_order, people, source, target, name):
    order = _order_in(make_order, source, people["alice"])
    if name == "resume":
        # resume returns to where the order stopped (R12); the declared targets are the
        # possible answers, and from "contacted" (the factory's park point) it is contacted.
        target = State.CONTACTED
    if name == "sign_off":  # R26: the customer signs a written report
        services.work_order_save_report(order=order, by=tech(order), work_done="ONU installed")
        finish_checklist(order, tech(order))  # R43, R44, R48: the policy's steps first
    before = WorkOrderEvent.objects.filter(order=order).count()
    seen_version = order.version
    order = FIRE[name](order, people)

    assert order.state == target
    assert order.version == seen_version + 1
    event = WorkOrderEvent.objects.filter(order=order).order_by("-id").first()
    assert WorkOrderEvent.objects.filter(order=order).count() == before + 1
    assert (event.action, event.from_state, event.to_state) == (name, source, target)
    assert event.at is not None and event.actor_label  # R42: who, when, from, to


def test_make_abnormal_fires_on_the_second_booking_the_customer_did_not_keep(make_order, alice):
    # R19
    order = make_order(State.ABNORMAL, technician=alice)
    assert order.state == State.ABNORMAL
    last_two = list(WorkOrderEvent.objects.filter(order=order).order_by("-id")[:2])
    assert [e.action for e in last_two] == ["make_abnormal", "nobody_home"]
    assert last_two[0].actor is None and last_two[0].actor_label == "system"


@pytest.mark.parametrize(("state", "call"), [
    (State.ACCEPTED, "accept"),
    (State.ACCEPTED, "complete"),
    (State.SCHEDULED, "complete"),
    (State.CLOSED, "dispatch"),
    (State.CANCELLED, "cancel"),
    (State.COMPLETED, "cancel"),
    (State.TAKEN, "check_in"),
    (State.ON_SITE, "accept"),
])
def test_it_refuses_illegal_transitions_naming_state_and_allowed_steps(make_order, people,
                                                                       state, call):
    order = make_order(state, technician=people["alice"])
    events = WorkOrderEvent.objects.filter(order=order).count()
    with translation.override("en"), pytest.raises(IllegalTransition) as err:
        FIRE[call](order, people)
    assert err.value.details["state"] == state
    with translation.override("en"):
        assert str(State(state).label) in err.value.message
    assert isinstance(err.value.details["allowed_actions"], list)
    assert "Allowed now" in err.value.message
    order.refresh_from_db()
    assert order.state == state
    assert WorkOrderEvent.objects.filter(order=order).count() == events  # nothing written


def test_the_state_cannot_be_set_directly(make_order):
    order = make_order()
    with pytest.raises(AttributeError):
        order.state = State.CLOSED


def test_the_event_log_is_append_only(make_order):
    # R42
    order = make_order()
    event = WorkOrderEvent.objects.filter(order=order).first()
    event.reason = "rewritten"
    with pytest.raises(TypeError):
        event.save()
    with pytest.raises(TypeError):
        event.delete()
    with pytest.raises(TypeError):
        WorkOrderEvent.objects.filter(order=order).update(reason="x")
    with pytest.raises(TypeError):
        WorkOrderEvent.objects.filter(order=order).delete()


def test_resume_returns_before_contact_to_where_it_stopped(make_order, agent, alice):
    # R12: parked while still dispatched -> resumes dispatched
    order = make_order(State.DISPATCHED, technician=alice)
    order = booking_services.work_order_park(order=order, by=agent, reason="customer travelling",
                                     until=clock.today_local() + dt.timedelta(days=2))
    assert order.parked_from == State.DISPATCHED
    order = booking_services.work_order_resume(order=order, by=agent)
    assert order.state == State.DISPATCHED
    assert order.parked_until is None


def test_a_parked_scheduled_order_must_be_booked_again(make_order, alice):
    # R12: a booking made before the wait is stale afterwards
    order = make_order(State.SCHEDULED, technician=alice)
    order = booking_services.work_order_park(order=order, by=alice.user,
                                             reason="not home this week",
                                     until=clock.today_local() + dt.timedelta(days=5))
    order = booking_services.work_order_resume(order=order, by=alice.user)
    assert order.state == State.CONTACTED


def test_half_day_booking_is_only_for_rural_areas(make_order, alice):
    # R11
    from workorders.errors import RuleViolation

    order = make_order(State.CONTACTED, technician=alice)
    start, end = _soon()
    with pytest.raises(RuleViolation) as err:
        booking_services.work_order_schedule(order=order, by=alice.user, start=start, end=end,
                                     precision=Precision.HALF_DAY)
    assert err.value.rule == "R11"
