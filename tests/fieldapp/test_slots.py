"""The booking page offers the day's free times as big buttons (R9 exact time, R10 the
customer's choice among them, never over another customer's booking); a typed time still
works."""

from __future__ import annotations

import datetime as dt
import re

import time_machine
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from appointments import selectors
from appointments import services as booking_services
from appointments.models import AppointmentStatus
from workorders.models import State

TZ = timezone.get_current_timezone()


def at(day: dt.date, hour: int, minute: int = 0) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(hour, minute), tzinfo=TZ)


def test_free_slots_are_in_working_hours_in_the_future_and_clear_of_my_bookings(
        make_order, alice):
    # R9, R10: 08:00-12:00 and 13:00-18:00, on the half hour, whole visit inside
    now = at(dt.date(2026, 12, 7), 9, 40)
    with time_machine.travel(now, tick=False):
        other = make_order(State.CONTACTED, technician=alice)
        booking_services.work_order_schedule(order=other, by=alice.user,
                                             start=at(now.date(), 14), end=at(now.date(), 15))
        slots = selectors.bookable_slots(alice, now.date(), length=dt.timedelta(hours=1))
    times = [timezone.localtime(s).strftime("%H:%M") for s in slots]
    assert times[0] == "10:00" and "11:00" in times and "11:30" not in times
    assert "12:00" not in times and "13:00" in times
    assert "13:30" not in times and "14:00" not in times and "14:30" not in times
    assert "15:00" in times and times[-1] == "17:00"


def test_a_tapped_slot_books_that_time(alice_client: Client, make_order, alice):
    # R9: tapping a free time is enough (no time typed); R10: the taken ones are not offered
    tomorrow = (timezone.localtime() + dt.timedelta(days=1)).date()
    taken = make_order(State.CONTACTED, technician=alice)
    booking_services.work_order_schedule(order=taken, by=alice.user, start=at(tomorrow, 9),
                                         end=at(tomorrow, 10))
    order = make_order(State.CONTACTED, technician=alice)
    url = reverse("tech:step", args=[order.pk, "schedule"])
    page = alice_client.get(url + f"?day={tomorrow.isoformat()}").content.decode()
    offered = re.findall(r'name="slot"[^>]*value="([^"]+)"', page)
    assert f"{tomorrow.isoformat()}T10:00" in offered
    assert f"{tomorrow.isoformat()}T09:00" not in offered  # my other booking
    assert 'name="start"' in page  # a typed time is still possible
    response = alice_client.post(url, {"version": order.version, "precision": "exact",
                                       "slot": f"{tomorrow.isoformat()}T10:00",
                                       "length": 60})
    assert response.status_code == 302, response.content.decode()[-2000:]
    booked = order.appointments.get(status=AppointmentStatus.BOOKED)
    assert booked.start == at(tomorrow, 10) and booked.end == at(tomorrow, 11)


def test_a_typed_time_wins_over_a_tapped_slot(alice_client: Client, make_order, alice):
    # R10: the customer's own time, typed, is what is booked
    tomorrow = (timezone.localtime() + dt.timedelta(days=1)).date()
    order = make_order(State.CONTACTED, technician=alice)
    response = alice_client.post(reverse("tech:step", args=[order.pk, "schedule"]), {
        "version": order.version, "precision": "exact", "slot": f"{tomorrow}T10:00",
        "day": tomorrow.isoformat(), "start": "16:15", "length": 60})
    assert response.status_code == 302
    booked = order.appointments.get(status=AppointmentStatus.BOOKED)
    assert booked.start == at(tomorrow, 16, 15)


def test_without_a_day_or_a_slot_the_form_says_what_is_missing(alice_client: Client,
                                                                make_order, alice):
    # R9
    order = make_order(State.CONTACTED, technician=alice)
    response = alice_client.post(reverse("tech:step", args=[order.pk, "schedule"]), {
        "version": order.version, "precision": "exact", "slot": "not-a-time", "length": 60},
        HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 400
    page = response.content.decode()
    assert "Choose one of the free times or type a time." in page
    assert not order.appointments.filter(status=AppointmentStatus.BOOKED,
                                         precision="exact").exists()
