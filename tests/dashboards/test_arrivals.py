"""On-time arrival on the dashboards (R14) agrees with the arrival timer, for a rural
half-day booking (R11) too: one definition of the deadline (appointments.rules)."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import time_machine

from appointments import services as booking_services
from appointments.models import Appointment, Precision
from dashboards import selectors, tasks
from dashboards.models import OrderFact
from dashboards.selectors import Filters
from workorders import services
from workorders.kit import required_kit
from workorders.models import State

SH = ZoneInfo("Asia/Shanghai")
T0 = dt.datetime(2026, 11, 24, 9, 0, tzinfo=SH)  # a Tuesday
START = dt.datetime(2026, 11, 24, 8, 0, tzinfo=SH)
END = dt.datetime(2026, 11, 24, 12, 0, tzinfo=SH)


def minutes(n: float) -> dt.timedelta:
    return dt.timedelta(minutes=n)


def morning_visit(make_order, bob, west, arrive: dt.datetime):
    with time_machine.travel(START - dt.timedelta(hours=2), tick=False):
        order = make_order(State.CONTACTED, technician=bob, area=west)
        order = booking_services.work_order_schedule(
            order=order, by=bob.user, start=START, end=END, precision=Precision.HALF_DAY)
        order = services.work_order_confirm_kit(order=order, by=bob.user,
                                                items=required_kit(order.access_type))
        order = services.work_order_depart(order=order, by=bob.user)
    with time_machine.travel(arrive, tick=False):
        order = services.work_order_check_in(order=order, by=bob.user)
    with time_machine.travel(END + dt.timedelta(hours=1), tick=False):
        tasks.refresh_stale_facts()
    return order


def test_arriving_late_in_the_morning_window_is_on_time_and_no_breach(make_order, bob, west):
    # R11, R14: 11:30 in an 08:00-12:00 booking
    order = morning_visit(make_order, bob, west, dt.datetime(2026, 11, 24, 11, 30,
                                                              tzinfo=SH))
    fact = OrderFact.objects.get(order=order)
    assert (fact.arrivals, fact.late_arrivals, fact.breaches) == (1, 0, 0)
    figures = selectors.compliance(Filters(start=fact.day, end=fact.day)).current
    assert figures["on_time_rate"] == 1.0


def test_arriving_after_the_window_end_plus_10_is_late_and_a_breach(make_order, bob, west):
    # R11, R14
    order = morning_visit(make_order, bob, west, END + minutes(11))
    fact = OrderFact.objects.get(order=order)
    assert (fact.arrivals, fact.late_arrivals, fact.breaches) == (1, 1, 1)
    assert Appointment.objects.get(order=order, start=START).late is True


def test_a_stale_late_flag_is_read_again_from_the_booking(make_order, bob, west):
    # R14: the dashboards derive lateness from the booking and the arrival time with
    # the same deadline the SLA timer uses, not from a flag stored at check-in
    order = morning_visit(make_order, bob, west, dt.datetime(2026, 11, 24, 9, 0, tzinfo=SH))
    Appointment.objects.filter(order=order).update(late=True)  # as written by older code
    from dashboards.services import order_facts_rebuild

    order_facts_rebuild()
    assert OrderFact.objects.get(order=order).late_arrivals == 0


def test_arriving_before_the_window_is_early_not_late(make_order, bob, west):
    # R14: 07:20 for an 08:00-12:00 booking is 40 minutes early; early was flagged late
    # (and counted against the technician's on-time rate) before
    order = morning_visit(make_order, bob, west, START - minutes(40))
    booking = Appointment.objects.get(order=order, start=START)
    assert (booking.late, booking.arrival_offset_minutes) == (False, -40)
    fact = OrderFact.objects.get(order=order)
    assert (fact.arrivals, fact.late_arrivals) == (1, 0)
    figures = selectors.compliance(Filters(start=fact.day, end=fact.day)).current
    assert figures["on_time_rate"] == 1.0
