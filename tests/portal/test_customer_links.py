"""The customer's signed SMS link (no login): confirm the booking or ask for another time
(R10); tampered, expired, reused and superseded links are refused."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine
from django.utils import translation

from appointments import links
from appointments import services as booking_services
from appointments.models import AppointmentStatus, ChangeRequest, CustomerLink
from fieldops import clock
from notifications.models import Notification
from workorders.events import OrderAction
from workorders.models import State, WorkOrderEvent

from ..fieldapp.helpers import in_hours


@pytest.fixture
def booked_order(make_order, alice):
    order = make_order(State.CONTACTED, technician=alice)
    return booking_services.work_order_schedule(order=order, by=alice.user, start=in_hours(3),
                                        end=in_hours(4))


def test_the_link_shows_the_booking_without_a_login(booked_order, customer):
    # R10
    response = customer.client.get(customer.link_path(booked_order))
    assert response.status_code == 200
    page = response.content.decode()
    assert booked_order.number in page and "Alice Wang" in page
    assert booked_order.contact_phone not in page  # masked (R40)


def test_the_customer_confirms_the_booking_once(booked_order, customer):
    # R10: single use
    path = customer.link_path(booked_order)
    response = customer.client.post(path, {"action": "confirm"})
    assert response.status_code == 302
    appointment = booked_order.appointments.get(status=AppointmentStatus.BOOKED)
    assert appointment.confirmed_at is not None
    assert WorkOrderEvent.objects.filter(order=booked_order,
                                         action=OrderAction.CUSTOMER_CONFIRMED).count() == 1
    assert customer.client.get(path).status_code == 200  # still shows the booking, as confirmed
    again = customer.client.post(path, {"action": "confirm"})
    assert again.status_code == 409
    assert WorkOrderEvent.objects.filter(order=booked_order,
                                         action=OrderAction.CUSTOMER_CONFIRMED).count() == 1


def test_the_customer_asks_for_another_time_and_the_technician_is_told(
        booked_order, customer, alice):
    # R10: the request goes to the technician, who re-books
    wanted = clock.today_local() + dt.timedelta(days=2)
    response = customer.client.post(customer.link_path(booked_order), {
        "action": "change", "day": wanted.isoformat(), "time": "15:00", "note": "下午在家"})
    assert response.status_code == 302
    wish = ChangeRequest.objects.get(order=booked_order)
    assert wish.source == ChangeRequest.Source.CUSTOMER_LINK and wish.note == "下午在家"
    assert wish.preferred_end - wish.preferred_start == dt.timedelta(hours=1)
    assert Notification.objects.filter(kind="change_request", recipient=alice.user).exists()
    # the booking stands until the technician moves it
    assert booked_order.appointments.filter(status=AppointmentStatus.BOOKED).count() == 1


def test_a_tampered_link_is_refused(booked_order, customer):
    path = customer.link_path(booked_order)
    token = path.rstrip("/").rsplit("/", 1)[1]
    pk, rest = token.split(".", 1)
    forged = f"/c/{int(pk) + 1}.{rest}/"
    assert customer.client.get(forged).status_code == 404
    assert customer.client.get(path[:-3] + "xx/").status_code == 404
    assert customer.client.post(forged, {"action": "confirm"}).status_code == 404
    assert not CustomerLink.objects.filter(used_at__isnull=False).exists()


def test_an_expired_link_is_refused(booked_order, customer):
    path = customer.link_path(booked_order)
    with time_machine.travel(clock.now() + dt.timedelta(hours=73)):
        response = customer.client.post(path, {"action": "confirm"})
    assert response.status_code == 410
    assert "expired" in response.content.decode() or "过期" in response.content.decode()


def test_a_link_to_a_booking_that_moved_is_refused(booked_order, customer, alice):
    old_path = customer.link_path(booked_order)
    booking_services.work_order_schedule(order=booked_order, by=alice.user, start=in_hours(5),
                                 end=in_hours(6), reason="客户改约", customer_asked=True)
    assert customer.client.post(old_path, {"action": "confirm"}).status_code == 410
    new_path = customer.link_path(booked_order)
    assert customer.client.post(new_path, {"action": "confirm"}).status_code == 302


def test_opening_a_replaced_link_says_a_new_sms_was_sent(booked_order, customer, alice):
    # R10: the old link must not show the old time as if it still held (410, not 200).
    old_path = customer.link_path(booked_order)
    booking_services.work_order_schedule(order=booked_order, by=alice.user, start=in_hours(5),
                                         end=in_hours(6), reason="客户改约",
                                         customer_asked=True)
    with translation.override("en"):
        response = customer.client.get(old_path, HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 410
    page = response.content.decode()
    assert 'data-error="superseded"' in page and "new SMS" in page
    assert customer.client.get(customer.link_path(booked_order)).status_code == 200


def test_a_link_token_names_its_row_and_nothing_else():
    # The token is django.core.signing output: readable id, unforgeable signature.
    link = CustomerLink(pk=7, nonce="abc")
    token = links.token_for(link)
    assert token.startswith("7.abc:")
    with pytest.raises(links.LinkInvalid):
        links.resolve(token.replace("7.abc", "8.abc"))
