"""The desk's dispatch and reassign pages offer the technicians ranked for the order, best
first, each with its reasons (R4); the choice goes through the same service."""

from __future__ import annotations

import re

import pytest
from django.urls import reverse
from django.utils import timezone, translation

from planning.models import OrderLocation, PositionSource, TechnicianPosition
from tests.conftest import make_technician
from workorders.models import State

pytestmark = pytest.mark.django_db


def act_url(order, action):
    return reverse("admin:workorders_workorder_act", args=[order.pk, action])


@pytest.fixture
def desk(client, dispatcher):
    client.force_login(dispatcher)
    return client


def put(technician, order, km_north):
    here = OrderLocation.objects.get(order=order)
    TechnicianPosition.objects.create(technician=technician,
                                      latitude=here.latitude + km_north / 111.195,
                                      longitude=here.longitude, at=timezone.now(),
                                      source=PositionSource.CHECK_IN)


def choices(page):
    """(value, label) of the technician radios, in page order."""
    html = page.content.decode()
    return re.findall(r'<input type="radio" name="technician" value="(\d*)"[^>]*>\s*([^<]*)',
                      html)


def test_the_dispatch_page_lists_technicians_best_first_with_reasons(desk, make_order, east):
    order = make_order()
    far = make_technician("far", areas=[east], full_name="Fang Yuan")
    near = make_technician("near", areas=[east], full_name="Jin Jin")
    copper = make_technician("copper", areas=[east], access=("xdsl",), full_name="Tong Xian")
    put(far, order, 7)
    put(near, order, 2)
    put(copper, order, 0)
    with translation.override("en"):
        page = desk.get(act_url(order, "dispatch"), HTTP_ACCEPT_LANGUAGE="en")
    assert page.status_code == 200
    found = choices(page)
    assert [value for value, _label in found] == ["", str(near.pk), str(far.pk),
                                                  str(copper.pk)]
    near_label = found[1][1]
    assert near_label.startswith("Jin Jin (T-near): in area, skills match; 0 open orders")
    assert "2.0 km from the last check-in, about 6 min" in near_label
    assert "Tong Xian lacks the skills for this order" in found[3][1]


def test_the_reassign_page_marks_the_current_technician(desk, make_order, alice, east):
    order = make_order(State.DISPATCHED, technician=alice)
    make_technician("other", areas=[east])
    with translation.override("en"):
        page = desk.get(act_url(order, "reassign"), HTTP_ACCEPT_LANGUAGE="en")
    labels = [label for _value, label in choices(page)]
    assert any("Alice Wang has this order now." in label for label in labels)
    assert "contact promise met" in labels[1]  # R7: the contact timer runs since dispatch


def test_a_ranked_choice_dispatches_to_that_technician(desk, make_order, east):
    order = make_order()
    far = make_technician("far", areas=[east])
    response = desk.post(act_url(order, "dispatch"),
                         {"technician": far.pk, "reason": "", "version": order.version})
    assert response.status_code == 302
    order.refresh_from_db()
    assert order.technician == far and order.state == State.DISPATCHED


def test_automatic_takes_the_best_ranked(desk, make_order, east):
    order = make_order()
    far, near = make_technician("far", areas=[east]), make_technician("near", areas=[east])
    put(far, order, 7)
    put(near, order, 2)
    desk.post(act_url(order, "dispatch"), {"technician": "", "reason": "",
                                           "version": order.version})
    order.refresh_from_db()
    assert order.technician == near
