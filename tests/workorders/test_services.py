"""Domain rules enforced by the services, one test per rule where it bites."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine
from django.utils import timezone

from appointments import services as booking_services
from appointments.models import Appointment, AppointmentStatus, Precision
from fieldops import clock
from surveys import services as survey_services
from workorders import services
from workorders.errors import RuleViolation
from workorders.events import OrderAction
from workorders.kit import BASE_KIT, required_kit
from workorders.models import CompletionReport, ContactAttempt, Kind, State, WorkOrderEvent


def test_intake_records_the_channel_and_books_the_first_day(make_order):
    # R1, R3
    order = make_order(channel="social", preferred_day=clock.today_local() + dt.timedelta(2))
    assert order.channel == "social"
    first = Appointment.objects.get(order=order)
    assert first.precision == Precision.DAY
    assert timezone.localtime(first.start).date() == order.preferred_day
    assert WorkOrderEvent.objects.get(order=order).payload["channel"] == "social"


def test_an_install_needs_an_agreed_day_and_not_one_in_the_past(make_order):
    # R3
    with pytest.raises(RuleViolation) as err:
        make_order(preferred_day=None)
    assert err.value.field == "preferred_day" and err.value.rule == "R3"
    with pytest.raises(RuleViolation):
        make_order(preferred_day=clock.today_local() - dt.timedelta(days=1))


def test_a_repair_needs_symptoms_and_defaults_to_today(make_order):
    with pytest.raises(RuleViolation) as err:
        make_order(kind=Kind.REPAIR, symptoms="")
    assert err.value.field == "symptoms"
    order = make_order(kind=Kind.REPAIR, symptoms="no dial tone")
    assert order.preferred_day == clock.today_local()


def test_resolved_remotely_is_its_own_outcome(make_order, agent):
    # R2
    order = services.work_order_resolve_remotely(order=make_order(kind=Kind.REPAIR),
                                                 by=agent, resolution="ONU restarted")
    assert order.state == State.RESOLVED_REMOTELY and order.closed_at is not None


def test_an_order_resolved_remotely_keeps_no_booking(make_order, agent):
    # R2, R3: the day booked at intake is not a visit ahead once no technician is coming
    order = make_order(kind=Kind.REPAIR)
    assert order.appointments.filter(status=AppointmentStatus.BOOKED).count() == 1
    order = services.work_order_resolve_remotely(order=order, by=agent,
                                                 resolution="ONU restarted")
    assert not order.appointments.filter(status=AppointmentStatus.BOOKED).exists()
    assert order.appointments.get().status == AppointmentStatus.CANCELLED


def test_no_resources_goes_back_to_dispatch(make_order, alice, dispatcher):
    # R5, R6
    order = make_order(State.TAKEN, technician=alice)
    order = services.work_order_confirm_resources(order=order, by=alice.user)
    assert order.resources_confirmed_at is not None
    order = services.work_order_report_no_resources(order=order, by=alice.user,
                                                    reason="cabinet full")
    assert order.state == State.NO_RESOURCES
    order = services.work_order_dispatch(order=order, by=dispatcher, technician=alice)
    assert order.state == State.DISPATCHED


def test_every_contact_attempt_is_logged_and_only_reaching_the_customer_moves_on(
        make_order, alice):
    # R7
    order = make_order(State.TAKEN, technician=alice)
    order, attempt = booking_services.work_order_log_contact(
        order=order, by=alice.user, channel="phone", outcome=ContactAttempt.Outcome.NO_ANSWER)
    assert order.state == State.TAKEN and attempt.outcome == "no_answer"
    order, _ = booking_services.work_order_log_contact(
        order=order, by=alice.user, channel="phone", outcome=ContactAttempt.Outcome.REACHED)
    assert order.state == State.CONTACTED
    assert ContactAttempt.objects.filter(order=order).count() == 2
    assert [e.action for e in WorkOrderEvent.objects.filter(order=order)][-2:] == [
        "log_contact", "contact"]


def test_a_booking_in_the_past_or_backwards_is_refused(make_order, alice):
    # R9
    order = make_order(State.CONTACTED, technician=alice)
    now = clock.now()
    with pytest.raises(RuleViolation):
        booking_services.work_order_schedule(order=order, by=alice.user,
                                             start=now - dt.timedelta(1),
                                     end=now)
    with pytest.raises(RuleViolation):
        booking_services.work_order_schedule(order=order, by=alice.user,
                                     start=now + dt.timedelta(hours=2),
                                     end=now + dt.timedelta(hours=1))


def test_moving_an_appointment_keeps_the_old_one(make_order, alice):
    # R9, R15: a booking never silently overwrites another
    order = make_order(State.SCHEDULED, technician=alice)
    start = clock.now() + dt.timedelta(days=1)
    with pytest.raises(RuleViolation):
        booking_services.work_order_schedule(order=order, by=alice.user, start=start,
                                     end=start + dt.timedelta(hours=1))
    order = booking_services.work_order_schedule(order=order, by=alice.user, start=start,
                                         end=start + dt.timedelta(hours=1),
                                         reason="customer asked for tomorrow")
    statuses = list(Appointment.objects.filter(order=order).values_list("status", flat=True))
    assert statuses.count(AppointmentStatus.MOVED) == 1
    assert statuses.count(AppointmentStatus.BOOKED) == 1


def test_a_rural_order_can_book_half_a_day(make_order, bob, west):
    # R11
    order = make_order(State.CONTACTED, technician=bob, area=west)
    start = clock.now() + dt.timedelta(days=1)
    order = booking_services.work_order_schedule(order=order, by=bob.user, start=start,
                                         end=start + dt.timedelta(hours=4),
                                         precision=Precision.HALF_DAY)
    assert order.state == State.SCHEDULED


def test_parking_needs_a_reason_and_a_future_day(make_order, alice):
    # R12
    order = make_order(State.CONTACTED, technician=alice)
    with pytest.raises(RuleViolation):
        booking_services.work_order_park(order=order, by=alice.user, reason="",
                                 until=clock.today_local() + dt.timedelta(days=3))
    with pytest.raises(RuleViolation):
        booking_services.work_order_park(order=order, by=alice.user, reason="renovating",
                                 until=clock.today_local())
    order = booking_services.work_order_park(order=order, by=alice.user, reason="renovating",
                                     until=clock.today_local() + dt.timedelta(days=3))
    assert order.state == State.PARKED and order.parked_from == State.CONTACTED


@pytest.mark.parametrize("access", ["ftth", "xdsl"])
def test_the_whole_kit_must_be_confirmed_before_leaving(make_order, alice, access):
    # R20, R21: the access type decides the extra tools
    order = make_order(State.SCHEDULED, technician=alice, access_type=access)
    with pytest.raises(RuleViolation) as err:
        services.work_order_confirm_kit(order=order, by=alice.user, items=list(BASE_KIT))
    assert err.value.rule == "R20"
    order = services.work_order_confirm_kit(order=order, by=alice.user,
                                            items=required_kit(access))
    assert order.state == State.PREPARED


def test_fibre_and_copper_need_different_tools():
    # R21
    assert "optical_power_meter" in required_kit("ftth")
    assert "xdsl_tester" in required_kit("xdsl")
    assert "optical_power_meter" not in required_kit("xdsl")


def test_check_in_records_the_location(make_order, alice):
    # R17
    order = make_order(State.EN_ROUTE, technician=alice)
    with pytest.raises(RuleViolation):
        services.work_order_check_in(order=order, by=alice.user, latitude=123.0, longitude=0)
    order = services.work_order_check_in(order=order, by=alice.user, latitude=39.9,
                                         longitude=116.4)
    event = WorkOrderEvent.objects.filter(order=order).last()
    assert event.payload == {"latitude": 39.9, "longitude": 116.4}
    assert Appointment.objects.get(order=order, status=AppointmentStatus.KEPT)


def test_nobody_home_needs_a_note_and_goes_back_to_scheduling(make_order, alice):
    # R18
    order = make_order(State.EN_ROUTE, technician=alice)
    with pytest.raises(RuleViolation):
        services.work_order_nobody_home(order=order, by=alice.user, note=" ")
    order = services.work_order_nobody_home(order=order, by=alice.user,
                                            note="arrived 10:05, left 10:20, card left")
    assert order.state == State.NOBODY_HOME and order.customer_missed_bookings == 1
    assert Appointment.objects.filter(order=order,
                                      status=AppointmentStatus.MISSED_BY_CUSTOMER).exists()


def test_two_bookings_not_kept_make_the_order_abnormal_for_the_call_centre(make_order, alice,
                                                                          agent):
    # R19
    order = make_order(State.ABNORMAL, technician=alice)
    assert order.customer_missed_bookings == 2
    order = services.work_order_return_from_abnormal(order=order, by=agent,
                                                     callback_note="home on Saturday")
    assert order.state == State.CONTACTED and order.customer_missed_bookings == 0


def test_cant_finish_promises_a_time_in_the_future(make_order, alice):
    # R24
    order = make_order(State.ON_SITE, technician=alice)
    with pytest.raises(RuleViolation):
        services.work_order_cant_finish(order=order, by=alice.user, reason="cable",
                                        promised_at=clock.now() - dt.timedelta(hours=1))
    order = services.work_order_cant_finish(order=order, by=alice.user, reason="cable",
                                            promised_at=clock.now() + dt.timedelta(days=1))
    assert order.state == State.AWAITING_REVISIT


def test_a_repair_report_needs_the_fault_cause(make_order, alice):
    # R25, R27
    order = make_order(State.SIGNED_OFF, technician=alice, kind=Kind.REPAIR)
    with pytest.raises(RuleViolation) as err:
        services.work_order_complete(order=order, by=alice.user, report={"work_done": "x"})
    assert err.value.field == "fault_cause"
    with pytest.raises(RuleViolation) as err:  # R26: only the report the customer signed
        services.work_order_complete(order=order, by=alice.user,
                                     report={"work_done": "spliced", "fault_cause": "line"})
    assert err.value.rule == "R26"
    signed = CompletionReport.objects.get(order=order).as_dict()
    order = services.work_order_complete(order=order, by=alice.user, report=signed)
    assert order.state == State.COMPLETED and order.completed_at is not None


def test_sign_off_needs_the_customers_own_signature(make_order, alice):
    # R26: there is no public way to sign off without the customer's drawing
    assert not hasattr(services, "work_order_sign_off")
    order = make_order(State.SIGNED_OFF, technician=alice)
    event = WorkOrderEvent.objects.filter(order=order, action=OrderAction.SIGN_OFF).get()
    assert event.payload["method"] == "drawn" and event.payload["verified"] is True
    assert event.payload["report_hash"] == order.signatures.get().report_hash

def test_completion_queues_the_survey_after_commit(make_order, alice,
                                                   django_capture_on_commit_callbacks):
    # R27 -> R29
    order = make_order(State.SIGNED_OFF, technician=alice)
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        services.work_order_complete(order=order, by=alice.user,
                                     report=CompletionReport.objects.get(order=order).as_dict())
    # the survey task, the delivery of the signed report's SMS (R26, reports.handlers),
    # then (from inside the task) the survey SMS's delivery
    assert len(callbacks) == 3
    order.refresh_from_db()
    assert order.state == State.SURVEY_PENDING
    # run it twice: the second call changes nothing
    again = survey_services.work_order_start_survey(order=order)
    assert again.state == State.SURVEY_PENDING
    assert WorkOrderEvent.objects.filter(order=order, action=OrderAction.START_SURVEY).count() == 1


def test_unsatisfied_starts_a_numbered_rework_round_and_resolving_resurveys(make_order, alice,
                                                                           agent):
    # R31, R32
    order = make_order(State.REWORK, technician=alice)
    assert order.rework_round == 1 and order.technician == alice
    order = survey_services.work_order_resolve_rework(order=order, by=alice.user, note="new ONU")
    assert order.state == State.SURVEY_PENDING
    order = survey_services.work_order_record_survey(order=order, by=agent, satisfied=False)
    assert order.rework_round == 2
    order = survey_services.work_order_resolve_rework(order=order, by=alice.user, note="re-spliced")
    order = survey_services.work_order_record_survey(order=order, by=agent, satisfied=True)
    assert order.state == State.CLOSED


def test_cancel_needs_a_reason_and_releases_technician_and_booking(make_order, alice, agent):
    order = make_order(State.SCHEDULED, technician=alice)
    with pytest.raises(RuleViolation):
        services.work_order_cancel(order=order, by=agent, reason="")
    order = services.work_order_cancel(order=order, by=agent, reason="moved abroad")
    assert order.state == State.CANCELLED and order.cancel_reason == "moved abroad"
    assert not order.assignments.filter(ended_at__isnull=True).exists()
    assert not order.appointments.filter(status=AppointmentStatus.BOOKED).exists()


def test_events_carry_the_time_from_the_controllable_clock(make_order, alice, dispatcher):
    # R42: who, when
    with time_machine.travel(dt.datetime(2026, 11, 23, 9, 30, tzinfo=dt.UTC), tick=False):
        order = make_order()
        order = services.work_order_dispatch(order=order, by=dispatcher, technician=alice)
    event = WorkOrderEvent.objects.get(order=order, action=OrderAction.DISPATCH)
    assert event.at == dt.datetime(2026, 11, 23, 9, 30, tzinfo=dt.UTC)
    assert order.dispatched_at == event.at and event.actor == dispatcher
