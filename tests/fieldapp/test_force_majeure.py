"""The technician declares force majeure from the phone pages (R50), only on their own
orders (R41); the customer is texted once, the office decides."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.urls import reverse

from notifications.models import Notification
from sla.exemptions import Exemption, ExemptionState
from workorders.events import OrderAction
from workorders.models import State

from .helpers import upload

T0 = dt.datetime(2026, 11, 24, 9, 0, tzinfo=ZoneInfo("Asia/Shanghai"))


def post(client, order, **data):
    return client.post(reverse("tech:step", args=[order.pk, "force-majeure"]),
                       {"version": order.version, **data})


@pytest.fixture
def at_t0():
    with time_machine.travel(T0, tick=False) as traveller:
        yield traveller


@pytest.mark.django_db
def test_the_technician_declares_from_the_order_page_with_a_photo(at_t0, alice_client,
                                                                 make_order, alice):
    # R50: offered on my open order; one SMS to the customer; the office decides later
    order = make_order(State.SCHEDULED, technician=alice)
    page = alice_client.get(reverse("tech:order", args=[order.pk])).content.decode()
    assert reverse("tech:step", args=[order.pk, "force-majeure"]) in page
    form = alice_client.get(reverse("tech:step", args=[order.pk, "force-majeure"]))
    assert form.status_code == 200
    response = post(alice_client, order, kind="weather", reason="暴雨, 桥下积水封路",
                    since="60", lasts="120", evidence=upload())
    assert response.status_code == 302
    exemption = Exemption.objects.get()
    assert exemption.order == order and exemption.declared_by == alice.user
    assert exemption.state == ExemptionState.DECLARED and exemption.evidence
    assert exemption.starts_at == T0 - dt.timedelta(hours=1)
    assert exemption.ends_at == T0 + dt.timedelta(hours=2)
    assert order.events.filter(action=OrderAction.DECLARE_FORCE_MAJEURE).count() == 1
    assert Notification.objects.filter(order=order, channel="sms",
                                       kind__startswith="force_majeure").count() == 1
    post(alice_client, order, kind="weather", reason="再次提交", since="60", lasts="120")
    assert Notification.objects.filter(order=order, channel="sms",
                                       kind__startswith="force_majeure").count() == 1


@pytest.mark.django_db
def test_another_technicians_order_is_not_offered(at_t0, bob_client, make_order, alice):
    # R41, R50: bob cannot declare for alice's order (the page is not even his to see)
    order = make_order(State.SCHEDULED, technician=alice)
    response = post(bob_client, order, kind="weather", reason="暴雨", since="60",
                    lasts="120")
    assert response.status_code in (302, 403, 404)
    assert not Exemption.objects.exists()


@pytest.mark.django_db
def test_a_missing_reason_comes_back_with_the_message(at_t0, alice_client, make_order,
                                                     alice):
    # R50: nothing written
    order = make_order(State.SCHEDULED, technician=alice)
    response = post(alice_client, order, kind="weather", reason="", since="60", lasts="120")
    assert response.status_code == 400
    assert not Exemption.objects.exists()
