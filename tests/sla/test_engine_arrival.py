"""The arrival timer of a rural half-day booking (R11, R14): the promise is the window,
so the timer is due at the window's end plus the tolerance, not at its start."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
import time_machine

from appointments import rules
from appointments import services as booking_services
from appointments.models import Precision
from sla import engine
from sla.timers import Timer
from workorders import services
from workorders.kit import required_kit
from workorders.models import State

SH = ZoneInfo("Asia/Shanghai")
T0 = dt.datetime(2026, 11, 24, 9, 0, tzinfo=SH)  # a Tuesday
AFTERNOON = (dt.datetime(2026, 11, 24, 13, 0, tzinfo=SH),
             dt.datetime(2026, 11, 24, 18, 0, tzinfo=SH))


def minutes(n: float) -> dt.timedelta:
    return dt.timedelta(minutes=n)


def arrival_timer(order) -> Timer:
    return Timer.objects.filter(order=order, kind="arrival").order_by("-cycle").first()


def booked_for_the_afternoon(make_order, bob, west):
    with time_machine.travel(T0, tick=False):
        order = make_order(State.CONTACTED, technician=bob, area=west)
        order = booking_services.work_order_schedule(
            order=order, by=bob.user, start=AFTERNOON[0], end=AFTERNOON[1],
            precision=Precision.HALF_DAY)
        order = services.work_order_confirm_kit(order=order, by=bob.user,
                                                items=required_kit(order.access_type))
        return services.work_order_depart(order=order, by=bob.user)


def test_the_deadline_is_the_start_for_an_exact_time_and_the_end_for_a_window():
    # R14, R11
    start, end = AFTERNOON
    assert rules.arrival_deadline(start=start, end=end, exact=True,
                                  tolerance=minutes(10)) == start + minutes(10)
    assert rules.arrival_deadline(start=start, end=end, exact=False,
                                  tolerance=minutes(10)) == end + minutes(10)


def test_a_half_day_arrival_timer_is_due_after_the_window(make_order, bob, west):
    # R11, R14
    order = booked_for_the_afternoon(make_order, bob, west)
    assert arrival_timer(order).due_at == AFTERNOON[1] + minutes(10)


def test_arriving_inside_a_half_day_window_after_start_plus_10_is_not_a_breach(
        make_order, bob, west):
    # R11, R14: 16:40 in a 13:00-18:00 window is on time
    order = booked_for_the_afternoon(make_order, bob, west)
    with time_machine.travel(AFTERNOON[0] + minutes(30), tick=False):
        engine.sweep_all()
    with time_machine.travel(dt.datetime(2026, 11, 24, 16, 40, tzinfo=SH), tick=False):
        engine.sweep_all()
        services.work_order_check_in(order=order, by=bob.user)
    timer = arrival_timer(order)
    assert timer.breached_at is None and timer.outcome == "met"


@pytest.mark.parametrize("after_end", [5, 9])
def test_arriving_up_to_the_tolerance_after_the_window_is_on_time(make_order, bob, west,
                                                                  after_end):
    # R14: the tolerance applies at the window's edge
    order = booked_for_the_afternoon(make_order, bob, west)
    with time_machine.travel(AFTERNOON[1] + minutes(after_end), tick=False):
        services.work_order_check_in(order=order, by=bob.user)
    assert arrival_timer(order).outcome == "met"


def test_arriving_after_the_window_end_plus_10_is_a_breach(make_order, bob, west):
    # R11, R14
    order = booked_for_the_afternoon(make_order, bob, west)
    with time_machine.travel(AFTERNOON[1] + minutes(15), tick=False):
        engine.sweep_all()
    timer = arrival_timer(order)
    assert timer.breached_at == AFTERNOON[1] + minutes(10)
    with time_machine.travel(AFTERNOON[1] + minutes(20), tick=False):
        services.work_order_check_in(order=order, by=bob.user)
    assert arrival_timer(order).outcome == "breached"
