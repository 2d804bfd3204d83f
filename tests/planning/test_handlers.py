"""Orders get a place when taken; technicians one when they check in (R17)."""

from __future__ import annotations

from typing import Any

import pytest

from planning.geocoding import DemoGeocoder
from planning.models import OrderLocation, PositionSource, TechnicianPosition
from technicians.models import Technician
from workorders import services
from workorders.errors import RuleViolation
from workorders.models import State

pytestmark = pytest.mark.django_db


def test_a_new_order_is_placed_by_the_geocoder(make_order: Any) -> None:
    order = make_order()
    location = OrderLocation.objects.get(order=order)
    expected = DemoGeocoder().locate(order.address, order.area)
    assert (location.latitude, location.longitude) == (expected.latitude, expected.longitude)
    assert location.geocoder == "demo"
    assert location.geocoded_at == order.created_at


def test_a_check_in_with_a_location_is_the_technicians_last_position(
        make_order: Any, technician: Technician) -> None:  # R17
    order = make_order(State.EN_ROUTE, technician=technician)
    services.work_order_check_in(order=order, by=technician.user, latitude=39.93,
                                 longitude=116.43)
    [position] = TechnicianPosition.objects.filter(technician=technician)
    assert (position.latitude, position.longitude) == (39.93, 116.43)
    assert position.source == PositionSource.CHECK_IN
    assert position.at == order.events.get(action="check_in").at


def test_a_check_in_without_a_location_leaves_no_position(
        make_order: Any, technician: Technician) -> None:
    order = make_order(State.EN_ROUTE, technician=technician)
    services.work_order_check_in(order=order, by=technician.user)
    assert not TechnicianPosition.objects.filter(technician=technician).exists()


def test_a_refused_check_in_leaves_no_position(make_order: Any,
                                                technician: Technician) -> None:
    order = make_order(State.EN_ROUTE, technician=technician)
    with pytest.raises(RuleViolation) as refused:
        services.work_order_check_in(order=order, by=technician.user, latitude=99.0,
                                     longitude=116.43)
    assert refused.value.rule == "R17"
    assert not TechnicianPosition.objects.exists()
