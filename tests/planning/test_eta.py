"""The estimated arrival window ("where is my technician", R13, R14): from the booking,
the dispatcher's planned start, and the technician's position when they set off; shown in
the call-centre API's order detail and on the customer's signed page."""

from __future__ import annotations

import datetime as dt
import zoneinfo

import pytest
import time_machine

from appointments import services as booking_services
from appointments.models import Precision
from planning.eta import EtaSource, order_eta
from planning.models import OrderLocation, PositionSource, TechnicianPosition
from tests.api.conftest import Caller
from workorders import services
from workorders.models import State

SHANGHAI = zoneinfo.ZoneInfo("Asia/Shanghai")
#: Monday 23 November 2026, 09:00 in Beijing.
MONDAY_9 = dt.datetime(2026, 11, 23, 9, 0, tzinfo=SHANGHAI)
MIN = dt.timedelta(minutes=1)

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def monday():
    with time_machine.travel(MONDAY_9, tick=False) as traveller:
        yield traveller


def at(hour: int, minute: int = 0) -> dt.datetime:
    return MONDAY_9.replace(hour=hour, minute=minute)


def booked(make_order, alice, start: dt.datetime, state: str = State.SCHEDULED):
    """An order of alice's booked at ``start`` (exact, an hour), walked on to ``state``."""
    order = make_order(State.CONTACTED, technician=alice)
    order = booking_services.work_order_schedule(order=order, by=alice.user, start=start,
                                                 end=start + dt.timedelta(hours=1),
                                                 precision=Precision.EXACT)
    if state in (State.PREPARED, State.EN_ROUTE):
        from workorders.kit import required_kit
        order = services.work_order_confirm_kit(order=order, by=alice.user,
                                                items=required_kit(order.access_type))
    return order


def test_no_estimate_before_dispatch_or_once_on_site(make_order, alice):
    assert order_eta(make_order(State.ACCEPTED)) is None
    assert order_eta(make_order(State.ON_SITE, technician=alice)) is None


def test_a_booked_exact_time_gives_its_r14_tolerance(make_order, alice):
    # R14: on time is within 10 minutes of the booked start
    order = booked(make_order, alice, at(14))
    eta = order_eta(order)
    assert (eta.start, eta.end, eta.source) == (at(13, 50), at(14, 10), EtaSource.BOOKING)


def test_the_dispatchers_planned_start_wins_over_the_booking(make_order, alice, dispatcher):
    order = make_order(State.DISPATCHED, technician=alice)  # booked for the day (R3)
    whole_day = order_eta(order)
    assert whole_day.source == EtaSource.BOOKING and whole_day.end - whole_day.start > \
        dt.timedelta(hours=8)
    booking_services.visit_plan_start(order=order, by=dispatcher, start=at(15, 30))
    eta = order_eta(order)
    assert (eta.start, eta.end, eta.source) == (at(15, 20), at(15, 40), EtaSource.PLAN)


def test_on_the_way_the_estimate_is_the_drive_from_where_the_technician_set_off(
        make_order, alice, monday):
    # R13: 0.1 degree of latitude north of the address is 11.1 km; 1.3 × that at 20 km/h
    # is 43 minutes, give or take a quarter of it (11 minutes)
    order = booked(make_order, alice, at(11), State.PREPARED)
    place = OrderLocation.objects.get(order=order)
    monday.move_to(at(9, 30))
    order = services.work_order_depart(order=order, by=alice.user,
                                       latitude=place.latitude + 0.1,
                                       longitude=place.longitude)
    ping = TechnicianPosition.objects.get(technician=alice)
    assert (ping.source, ping.at) == (PositionSource.EN_ROUTE, at(9, 30))
    eta = order_eta(order)
    assert eta.source == EtaSource.EN_ROUTE
    assert at(10, 2) <= eta.start <= at(10, 3) and at(10, 24) <= eta.end <= at(10, 25)
    # Later, still on the way: the window does not begin in the past
    monday.move_to(at(10, 20))
    later = order_eta(order)
    assert later.start == at(10, 20) and later.end >= at(10, 24)


def test_on_the_way_without_a_position_the_booking_stands(make_order, alice):
    order = booked(make_order, alice, at(11), State.PREPARED)
    order = services.work_order_depart(order=order, by=alice.user)
    assert not TechnicianPosition.objects.exists()
    assert order_eta(order).source == EtaSource.BOOKING


def test_a_position_that_is_no_position_is_refused(make_order, alice):
    order = booked(make_order, alice, at(11), State.PREPARED)
    from workorders.errors import RuleViolation
    with pytest.raises(RuleViolation):
        services.work_order_depart(order=order, by=alice.user, latitude=123.0, longitude=0.0)
    order.refresh_from_db()
    assert order.state == State.PREPARED and not TechnicianPosition.objects.exists()


def test_the_call_centre_api_answers_where_the_technician_is(make_order, alice, cc):
    order = booked(make_order, alice, at(14))
    body = cc.get(f"work-orders/{order.pk}/").body
    assert body["eta"] == {"from": "2026-11-23T13:50:00+08:00",
                           "to": "2026-11-23T14:10:00+08:00", "source": "booking"}
    assert cc.get(f"work-orders/{make_order().pk}/").body["eta"] is None


def test_the_customers_page_shows_the_technician_and_the_window(make_order, alice, customer):
    order = booked(make_order, alice, at(14))
    page = customer.open_link(order).content.decode()
    assert "Alice Wang" in page
    assert "13:50–14:10" in page and "data-eta" in page


@pytest.fixture
def cc(reference_data) -> Caller:
    from api import services as api_services

    client = api_services.api_client_create(name="10010", rate_limit_per_minute=10**6)
    _token, plain = api_services.api_token_issue(client=client)
    return Caller(plain)
