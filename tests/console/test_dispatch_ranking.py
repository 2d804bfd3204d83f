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


def three_around(order, area):
    """Three technicians of ``area`` 2 and 7 km from ``order``'s address and at it; the
    nearest one (copper) works xDSL only, so fibre orders are not his (R4)."""
    far = make_technician("far", areas=[area], full_name="Fang Yuan")
    near = make_technician("near", areas=[area], full_name="Jin Jin")
    copper = make_technician("copper", areas=[area], access=("xdsl",), full_name="Tong Xian")
    put(far, order, 7)
    put(near, order, 2)
    put(copper, order, 0)
    return near, far, copper


def choices(page):
    """(value, label) of the technician radios, in page order."""
    html = page.content.decode()
    return re.findall(r'<input type="radio" name="technician" value="(\d*)"[^>]*>\s*([^<]*)',
                      html)


def test_the_dispatch_page_lists_technicians_best_first_with_reasons(desk, make_order, east):
    order = make_order()
    near, far, copper = three_around(order, east)
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


# --- Rework (R31-R33): the next technician from the same ranking ----------------------

@pytest.fixture
def rework(make_order, alice, agent):
    """An order alice finished whose customer is still unsatisfied (R31): back in rework."""
    from surveys import services as survey_services

    order = make_order(State.SURVEY_PENDING, technician=alice)
    order = survey_services.work_order_record_survey(order=order, by=agent, satisfied=False,
                                                     comment="还是断网")
    assert order.state == State.REWORK
    return order


def test_the_rework_reassign_page_ranks_the_other_technicians_with_reasons(
        desk, rework, alice, east):
    # R33: another technician is sent; the desk offers them ranked as for a dispatch (R4)
    near, far, copper = three_around(rework, east)
    with translation.override("en"):
        page = desk.get(act_url(rework, "reassign_rework"), HTTP_ACCEPT_LANGUAGE="en")
    assert page.status_code == 200
    found = choices(page)
    # the eligible best first, then the ones set aside, each with the rule (R4, R33)
    assert [value for value, _label in found][:3] == ["", str(near.pk), str(far.pk)]
    labels = dict(found)
    assert list(labels)[3:] == [str(copper.pk), str(alice.pk)]  # the nearer first
    assert labels[str(near.pk)].startswith(
        "Jin Jin (T-near): in area, skills match; 0 open orders")
    assert "2.0 km from the last check-in, about 6 min" in labels[str(near.pk)]
    assert "Alice Wang has this order now." in labels[str(alice.pk)]
    assert "Tong Xian lacks the skills for this order" in labels[str(copper.pk)]


def test_automatic_rework_reassign_takes_the_best_ranked_other_technician(
        desk, rework, alice, east):
    # R33 via R4's ranking: the nearest of the others, never the one who did the work
    far, near = make_technician("far", areas=[east]), make_technician("near", areas=[east])
    put(far, rework, 7)
    put(near, rework, 2)
    put(alice, rework, 0)  # nearest of all, but she did the work
    response = desk.post(act_url(rework, "reassign_rework"),
                         {"technician": "", "reason": "", "version": rework.version})
    assert response.status_code == 302
    rework.refresh_from_db()
    assert rework.state == State.REWORK and rework.technician == near


def test_everyone_who_held_the_rework_is_set_aside_with_r33(desk, rework, alice, east):
    # R33: after a first rework reassign, alice (earlier) and near (now) are both set aside
    near = make_technician("near", areas=[east], full_name="Jin Jin")
    other = make_technician("other", areas=[east], full_name="Ou Tai")
    response = desk.post(act_url(rework, "reassign_rework"),
                         {"technician": near.pk, "reason": "", "version": rework.version})
    assert response.status_code == 302
    rework.refresh_from_db()
    assert rework.technician == near
    with translation.override("en"):
        page = desk.get(act_url(rework, "reassign_rework"), HTTP_ACCEPT_LANGUAGE="en")
    found = dict(choices(page))
    assert list(found)[:2] == ["", str(other.pk)]
    assert ("Alice Wang already worked on this order; R33 asks for a different technician."
            in found[str(alice.pk)])
    assert "Jin Jin has this order now." in found[str(near.pk)]
    # choosing one of them anyway is refused by the service and changes nothing
    version = rework.version
    response = desk.post(act_url(rework, "reassign_rework"),
                         {"technician": alice.pk, "reason": "", "version": version},
                         follow=True)
    rework.refresh_from_db()
    assert rework.technician == near and rework.version == version
    assert "R33" in response.content.decode()
