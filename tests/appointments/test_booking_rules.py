"""The appointment rules, with a controllable clock: booking (R9-R11), the customer's
choice and clashes (R10), notice for moves (R15), lateness (R14), broken appointments
(R16), bookings the customer did not keep (R18, R19) and the customer's SMS (R8, R13)."""

from __future__ import annotations

import datetime as dt
import zoneinfo

import pytest
import time_machine

from appointments import services as booking_services
from appointments.models import Appointment, AppointmentStatus, ChangeRequest, Precision
from appointments.services import appointment_request_change, appointments_sweep_missed
from notifications.models import Notification
from workorders import services
from workorders.errors import RuleViolation
from workorders.events import OrderAction
from workorders.kit import required_kit
from workorders.models import ContactAttempt, State, WorkOrderEvent

SHANGHAI = zoneinfo.ZoneInfo("Asia/Shanghai")
#: Monday 23 November 2026, 09:00 in Beijing.
MONDAY_9 = dt.datetime(2026, 11, 23, 9, 0, tzinfo=SHANGHAI)


def at(hour: int, minute: int = 0, day: int = 23) -> dt.datetime:
    return dt.datetime(2026, 11, day, hour, minute, tzinfo=SHANGHAI)


@pytest.fixture
def monday():
    with time_machine.travel(MONDAY_9, tick=False) as traveller:
        yield traveller


def book(order, hour: int, minute: int = 0, *, length: int = 60, **kwargs):
    start = at(hour, minute)
    return booking_services.work_order_schedule(order=order, by=order.technician.user, start=start,
                                        end=start + dt.timedelta(minutes=length), **kwargs)


def booked(order) -> Appointment:
    return Appointment.objects.get(order=order, status=AppointmentStatus.BOOKED)


def sms(kind: str) -> list[Notification]:
    return list(Notification.objects.filter(kind=kind, channel="sms"))


# --- R9, R11: what is booked -------------------------------------------------------------

def test_the_technician_books_an_exact_time_and_the_day_booking_is_kept_in_history(
        monday, make_order, alice):
    # R9
    order = make_order(State.CONTACTED, technician=alice)
    order = book(order, 14)
    assert order.state == State.SCHEDULED
    current = booked(order)
    assert current.precision == Precision.EXACT and current.start == at(14)
    first = Appointment.objects.get(order=order, precision=Precision.DAY)
    assert first.status == AppointmentStatus.CANCELLED and first.closed_at is not None


def test_a_half_day_booking_is_for_rural_areas_only(monday, make_order, alice, bob, west):
    # R11
    urban = make_order(State.CONTACTED, technician=alice)
    with pytest.raises(RuleViolation) as err:
        booking_services.work_order_schedule(order=urban, by=alice.user, start=at(13), end=at(18),
                                     precision=Precision.HALF_DAY)
    assert err.value.rule == "R11"
    rural = make_order(State.CONTACTED, technician=bob, area=west)
    rural = booking_services.work_order_schedule(order=rural, by=bob.user, start=at(13), end=at(18),
                                         precision=Precision.HALF_DAY)
    assert booked(rural).precision == Precision.HALF_DAY


def test_the_customer_is_sent_the_booking_with_a_signed_link(monday, make_order, alice):
    # R9, R10: SMS through the outbox, with the link to confirm or ask for another time
    order = book(make_order(State.CONTACTED, technician=alice), 14)
    [note] = sms("appointment_booked")
    assert note.address == order.contact_phone
    assert "14:00-15:00" in note.body and "/c/" in note.body
    assert booked(order).links.count() == 1


# --- R10: the customer's choice, and clashes ------------------------------------------------

def test_a_time_clashing_with_another_booking_is_refused_on_the_technicians_pages(
        monday, make_order, alice):
    # R10: the customer picks another time; nobody else's booking moves
    first = book(make_order(State.CONTACTED, technician=alice), 14)
    second = make_order(State.CONTACTED, technician=alice)
    with pytest.raises(RuleViolation) as err:
        book(second, 14, 30, allow_clash=False)
    assert err.value.rule == "R10" and first.number in err.value.message
    assert booked(first).start == at(14)
    second = book(second, 15, 30, allow_clash=False)
    assert booked(second).start == at(15, 30)


def test_a_clash_is_at_least_flagged_in_the_history(monday, make_order, alice):
    # R10
    first = book(make_order(State.CONTACTED, technician=alice), 14)
    second = book(make_order(State.CONTACTED, technician=alice), 14, 30)
    event = WorkOrderEvent.objects.filter(order=second, action=OrderAction.SCHEDULE).get()
    assert event.payload["clashes"] == [first.pk]


def test_the_customers_wish_is_booked_by_the_technician_and_closes_the_request(
        monday, make_order, alice):
    # R10
    order = book(make_order(State.CONTACTED, technician=alice), 14)
    wish = appointment_request_change(order=order, by=None, preferred_start=at(10, day=24),
                                      preferred_end=at(11, day=24),
                                      source=ChangeRequest.Source.CUSTOMER_LINK)
    assert booked(order).start == at(14)  # nothing moves by itself
    order = booking_services.work_order_schedule(order=order, by=alice.user, start=at(10, day=24),
                                         end=at(11, day=24), reason="客户改约",
                                         change_request=wish)
    wish.refresh_from_db()
    assert wish.status == "rebooked"
    old = Appointment.objects.get(order=order, start=at(14))
    assert old.status == AppointmentStatus.MOVED and old.moved_by_customer is True
    assert old.closed_by == alice.user and old.close_reason == "客户改约"
    assert order.our_missed_appointments == 0
    assert sms("appointment_moved")


# --- R15, R16: moving a booking, broken promises ---------------------------------------------

def test_moving_with_two_hours_notice_is_no_broken_promise(monday, make_order, alice):
    # R15
    order = book(make_order(State.CONTACTED, technician=alice), 12)
    with time_machine.travel(at(9, 59), tick=False):
        order = book(order, 16, reason="前一单超时")
    assert not Appointment.objects.get(order=order, start=at(12)).short_notice
    assert order.our_missed_appointments == 0 and not order.supervisor_flag


def test_moving_at_short_notice_is_a_broken_promise_and_the_supervisor_is_told(
        monday, make_order, alice, supervisor):
    # R15, R16
    order = book(make_order(State.CONTACTED, technician=alice), 11)
    with time_machine.travel(at(10, 0), tick=False):  # 1 h before, to the afternoon
        order = book(order, 16, reason="前一单超时")
    old = Appointment.objects.get(order=order, start=at(11))
    assert old.status == AppointmentStatus.MOVED and old.short_notice
    assert old.moved_by_customer is False
    order.refresh_from_db()
    assert order.our_missed_appointments == 1 and order.supervisor_flag
    told = Notification.objects.get(kind="appointment_missed")
    assert told.recipient == supervisor and order.number in told.body


def test_a_short_delay_within_the_same_half_day_needs_only_thirty_minutes(
        monday, make_order, alice):
    # R15
    order = book(make_order(State.CONTACTED, technician=alice), 10)
    with time_machine.travel(at(9, 25), tick=False):  # 35 min before, to 10:30
        order = book(order, 10, 30, reason="路上堵车")
    assert order.our_missed_appointments == 0
    with time_machine.travel(at(10, 10), tick=False):  # 20 min before, to 11:00
        order = book(order, 11, reason="路上堵车")
    assert order.our_missed_appointments == 1


def test_a_move_the_customer_asked_for_never_counts_against_us(monday, make_order, alice):
    # R15
    order = book(make_order(State.CONTACTED, technician=alice), 10)
    with time_machine.travel(at(9, 50), tick=False):
        order = book(order, 15, reason="客户临时有事", customer_asked=True)
    assert order.our_missed_appointments == 0


def test_a_second_broken_appointment_of_the_same_customer_is_refused(
        monday, make_order, alice):
    # R16
    order = book(make_order(State.CONTACTED, technician=alice), 10)
    with time_machine.travel(at(9, 30), tick=False):
        order = book(order, 14, reason="前一单超时")
    with time_machine.travel(at(13, 45), tick=False), pytest.raises(RuleViolation) as err:
        book(order, 17, reason="又超时")
    assert err.value.rule == "R16"
    assert booked(order).start == at(14)


def test_a_booking_nobody_came_to_is_recorded_as_missed_by_us_once(
        monday, make_order, alice, supervisor):
    # R16: recorded, flagged, supervisor told; the sweep is safe to run twice
    order = book(make_order(State.CONTACTED, technician=alice), 10)
    with time_machine.travel(at(11, 30), tick=False):
        assert appointments_sweep_missed() == 0  # still within the grace period
    with time_machine.travel(at(12, 1), tick=False):
        assert appointments_sweep_missed() == 1
        assert appointments_sweep_missed() == 0
    appointment = Appointment.objects.get(order=order, start=at(10))
    assert appointment.status == AppointmentStatus.MISSED_BY_US
    order.refresh_from_db()
    assert order.our_missed_appointments == 1 and order.supervisor_flag
    assert Notification.objects.filter(kind="appointment_missed",
                                       recipient=supervisor).count() == 1
    assert WorkOrderEvent.objects.filter(
        order=order, action=OrderAction.APPOINTMENT_MISSED).count() == 1


# --- R14: arrival ------------------------------------------------------------------------------

@pytest.mark.parametrize(("arrive", "late", "offset"), [
    ((9, 52), False, -8),  # 5-10 min early: as asked
    ((10, 10), False, 10),  # on the edge of the tolerance
    ((10, 11), True, 11),
    ((9, 9), False, -51),  # early is never late (R14; it was counted late before)
])
def test_arriving_more_than_ten_minutes_off_the_booked_time_is_late(
        monday, make_order, alice, arrive, late, offset):
    # R14
    order = book(make_order(State.CONTACTED, technician=alice), 10)
    order = services.work_order_confirm_kit(order=order, by=alice.user,
                                            items=required_kit(order.access_type))
    order = services.work_order_depart(order=order, by=alice.user)
    with time_machine.travel(at(*arrive), tick=False):
        services.work_order_check_in(order=order, by=alice.user, latitude=39.9,
                                     longitude=116.4)
    kept = Appointment.objects.get(order=order, start=at(10))
    assert kept.status == AppointmentStatus.KEPT
    assert kept.late is late and kept.arrival_offset_minutes == offset


def test_a_half_day_booking_is_kept_on_time_anywhere_in_its_window(
        monday, make_order, bob, west):
    # R11, R14
    order = make_order(State.CONTACTED, technician=bob, area=west)
    order = booking_services.work_order_schedule(order=order, by=bob.user, start=at(13), end=at(18),
                                         precision=Precision.HALF_DAY)
    order = services.work_order_confirm_kit(order=order, by=bob.user,
                                            items=required_kit(order.access_type))
    order = services.work_order_depart(order=order, by=bob.user)
    with time_machine.travel(at(16, 40), tick=False):
        services.work_order_check_in(order=order, by=bob.user)
    assert Appointment.objects.get(order=order, start=at(13)).late is False


# --- R13, R8: telling the customer -----------------------------------------------------------

def test_on_my_way_tells_the_customer_by_sms(monday, make_order, alice):
    # R13
    order = make_order(State.PREPARED, technician=alice)
    services.work_order_depart(order=order, by=alice.user)
    [note] = sms("on_the_way")
    assert "Alice Wang" in note.body and order.number in note.body


def test_an_unanswered_call_sends_the_technicians_name_and_number_once_a_day(
        monday, make_order, alice):
    # R8
    order = make_order(State.TAKEN, technician=alice)
    for _ in range(2):
        order, _attempt = booking_services.work_order_log_contact(
            order=order, by=alice.user, channel=ContactAttempt.Channel.PHONE,
            outcome=ContactAttempt.Outcome.NO_ANSWER)
    [note] = sms("contact_missed")
    assert "Alice Wang" in note.body and alice.phone in note.body
    assert [a.sms_sent for a in order.contacts.all()] == [True, False]
    with time_machine.travel(at(9, day=24), tick=False):
        booking_services.work_order_log_contact(order=order, by=alice.user,
                                        channel=ContactAttempt.Channel.PHONE,
                                        outcome=ContactAttempt.Outcome.BUSY)
    assert len(sms("contact_missed")) == 2


# --- R18, R19: bookings the customer did not keep -----------------------------------------------

def test_nobody_home_leaves_a_note_and_the_customer_gets_an_sms(monday, make_order, alice):
    # R18
    order = make_order(State.EN_ROUTE, technician=alice)
    order = services.work_order_leave_note(order=order, by=alice.user, arrived_at=at(11, 5),
                                           left_at=at(11, 20), note="已留联系卡")
    assert order.state == State.NOBODY_HOME
    event = WorkOrderEvent.objects.filter(order=order, action=OrderAction.NOBODY_HOME).get()
    assert "11:05" in event.reason and "11:20" in event.reason and "已留联系卡" in event.reason
    [note] = sms("nobody_home")
    assert "11:05" in note.body and alice.phone in note.body


def test_two_bookings_the_customer_refused_make_the_order_abnormal(monday, make_order, alice):
    # R19
    order = book(make_order(State.CONTACTED, technician=alice), 14)
    order = booking_services.work_order_customer_refused(order=order, by=alice.user,
                                                 reason="客户说今天不方便")
    assert order.state == State.SCHEDULED and order.customer_missed_bookings == 1
    order = book(order, 16, reason="客户改约", customer_asked=True)
    order = booking_services.work_order_customer_refused(order=order, by=alice.user,
                                                 reason="客户又拒绝")
    assert order.state == State.ABNORMAL
    assert WorkOrderEvent.objects.filter(order=order, action=OrderAction.MAKE_ABNORMAL).exists()


def test_a_refusal_and_a_missed_visit_together_make_the_order_abnormal(
        monday, make_order, alice):
    # R19: "refused or did not keep"
    order = book(make_order(State.CONTACTED, technician=alice), 14)
    order = booking_services.work_order_customer_refused(order=order, by=alice.user,
                                                         reason="不方便")
    order = book(order, 16, reason="客户改约", customer_asked=True)
    order = services.work_order_confirm_kit(order=order, by=alice.user,
                                            items=required_kit(order.access_type))
    order = services.work_order_depart(order=order, by=alice.user)
    order = services.work_order_leave_note(order=order, by=alice.user, arrived_at=at(16),
                                           left_at=at(16, 15))
    assert order.state == State.ABNORMAL


def test_a_refusal_reason_too_long_for_the_booking_is_refused_not_a_500(monday, make_order,
                                                                       alice):
    # Defect: the page takes 500 characters, the booking keeps 255: a longer reason failed
    # in the database as a 500.
    order = book(make_order(State.CONTACTED, technician=alice), 14)
    with pytest.raises(RuleViolation) as refused:
        booking_services.work_order_customer_refused(order=order, by=alice.user,
                                                     reason="说" * 300)
    assert refused.value.field == "reason" and "255" in refused.value.message
    assert order.appointments.filter(status=AppointmentStatus.BOOKED).count() == 1
