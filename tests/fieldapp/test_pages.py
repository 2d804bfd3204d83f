"""The technician's pages: login, Today, the order page, the steps; only my orders (R41),
only the actions allowed now, domain errors shown as messages, never a 500."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from appointments import services as booking_services
from appointments.models import AppointmentStatus
from fieldops import clock
from workorders import services
from workorders.events import OrderAction
from workorders.models import ContactAttempt, State, WorkOrder

from .helpers import in_hours, upload


def step_url(order: WorkOrder, name: str) -> str:
    return reverse("tech:step", args=[order.pk, name])


def test_anonymous_visitors_are_sent_to_the_technicians_login(client: Client):
    response = client.get(reverse("tech:today"))
    assert response.status_code == 302 and response.url.startswith(reverse("tech:login"))
    assert client.get(reverse("tech:login")).status_code == 200


def test_a_technician_logs_in_with_the_pages_own_form(client: Client, alice):
    response = client.post(reverse("tech:login"), {"username": "alice",
                                                   "password": "pw-alice"})
    assert response.status_code == 302 and response.url == reverse("tech:today")


def test_office_staff_are_not_technicians(client: Client, dispatcher):
    client.force_login(dispatcher)
    assert client.get(reverse("tech:today")).status_code == 403


def test_today_lists_my_orders_in_appointment_order(alice_client, make_order, alice, bob,
                                                     west):
    # R41: nobody else's orders; booked visits first, earliest first
    late = make_order(State.CONTACTED, technician=alice)
    booking_services.work_order_schedule(order=late, by=alice.user, start=in_hours(5),
                                 end=in_hours(6))
    early = make_order(State.CONTACTED, technician=alice)
    booking_services.work_order_schedule(order=early, by=alice.user, start=in_hours(3),
                                 end=in_hours(4))
    fresh = make_order(State.DISPATCHED, technician=alice)
    theirs = make_order(State.DISPATCHED, technician=bob, area=west)
    done = make_order(State.COMPLETED, technician=alice)
    page = alice_client.get(reverse("tech:today")).content.decode()
    positions = [page.find(o.number) for o in (early, late)]
    assert -1 not in positions and positions == sorted(positions)
    assert fresh.number in page
    assert theirs.number not in page and done.number not in page


def test_the_clock_turns_amber_when_at_risk_and_red_when_breached(alice_client, make_order,
                                                                  alice):
    # R7 contact within 60 min of dispatch; R38 at risk at 80 %
    start = clock.now()
    with time_machine.travel(start, tick=False):
        make_order(State.DISPATCHED, technician=alice)
    for minutes, status in ((10, "ok"), (50, "at_risk"), (61, "breached")):
        with time_machine.travel(start + dt.timedelta(minutes=minutes), tick=False):
            page = alice_client.get(reverse("tech:today")).content.decode()
        assert f'data-clock="{status}"' in page, minutes


def test_someone_elses_order_is_a_404_on_every_page(alice_client, make_order, bob, west):
    # R41
    theirs = make_order(State.ON_SITE, technician=bob, area=west)
    services.work_order_add_photo(order=theirs, by=bob.user, image=upload(),
                                  kind="installation")
    photo = theirs.photos.get()
    for url in (reverse("tech:order", args=[theirs.pk]), step_url(theirs, "report"),
                reverse("tech:photo", args=[theirs.pk, photo.pk])):
        assert alice_client.get(url).status_code == 404, url
    response = alice_client.post(step_url(theirs, "report"),
                                 {"version": theirs.version, "work_done": "forged"})
    assert response.status_code == 404


def test_only_the_actions_allowed_now_are_offered(alice_client, make_order, alice):
    order = make_order(State.DISPATCHED, technician=alice)
    page = alice_client.get(reverse("tech:order", args=[order.pk])).content.decode()
    assert 'data-step="accept"' in page
    assert 'data-step="check-in"' not in page and 'data-step="sign-off"' not in page
    response = alice_client.get(step_url(order, "check-in"))
    assert response.status_code == 302  # not possible now: back to the order, with a message


def test_a_one_tap_step_runs_its_service_and_is_logged(alice_client, make_order, alice):
    order = make_order(State.DISPATCHED, technician=alice)
    response = alice_client.post(step_url(order, "accept"), {"version": order.version})
    assert response.status_code == 302
    order.refresh_from_db()
    assert order.state == State.TAKEN
    assert order.events.filter(action=OrderAction.ACCEPT, actor=alice.user).exists()  # R42


def test_a_page_left_open_while_the_order_changed_says_reload(alice_client, make_order,
                                                              alice):
    order = make_order(State.DISPATCHED, technician=alice)
    stale = order.version
    services.work_order_accept(order=order, by=alice.user)
    response = alice_client.post(step_url(order, "no-resources"),
                                 {"version": stale, "reason": "端口满"})
    assert response.status_code == 409
    assert "Reload" in response.content.decode() or "重新" in response.content.decode()
    order.refresh_from_db()
    assert order.state == State.TAKEN


def test_a_rule_violation_is_shown_on_the_form(alice_client, make_order, alice):
    # R12: parking needs a day after today; the page says so (422), never a 500
    order = make_order(State.CONTACTED, technician=alice)
    response = alice_client.post(step_url(order, "park"), {
        "version": order.version, "until": clock.today_local().isoformat(),
        "reason": "装修中"})
    assert response.status_code == 422
    page = response.content.decode()
    assert 'id="field-until"' in page and "errorlist" in page
    assert "R12" not in page  # the technician reads plain words; the rule is in the error


def test_logging_an_unanswered_call_from_the_page_sends_the_sms(alice_client, make_order,
                                                                alice):
    # R7, R8
    order = make_order(State.TAKEN, technician=alice)
    response = alice_client.post(step_url(order, "contact"), {
        "version": order.version, "channel": ContactAttempt.Channel.PHONE,
        "outcome": ContactAttempt.Outcome.NO_ANSWER, "note": ""})
    assert response.status_code == 302
    assert order.contacts.get().sms_sent


def test_booking_from_the_page_refuses_a_clash_and_shows_my_day(alice_client, make_order,
                                                                alice):
    # R10
    start = in_hours(3)
    other = make_order(State.CONTACTED, technician=alice)
    booking_services.work_order_schedule(order=other, by=alice.user, start=start,
                                 end=start + dt.timedelta(hours=1))
    order = make_order(State.CONTACTED, technician=alice)
    local = timezone.localtime(start)
    form = {"version": order.version, "day": local.date().isoformat(),
            "start": local.strftime("%H:%M"), "length": 60, "precision": "exact"}
    page = alice_client.get(step_url(order, "schedule") + f"?day={local.date()}")
    assert other.number in page.content.decode()
    response = alice_client.post(step_url(order, "schedule"), form)
    assert response.status_code == 422 and other.number in response.content.decode()
    assert "R10" not in response.content.decode()  # plain words on the technician's page
    assert not order.appointments.filter(status=AppointmentStatus.BOOKED,
                                         precision="exact").exists()


def test_check_in_needs_a_photo_and_keeps_the_location(alice_client, make_order, alice):
    # R17
    order = make_order(State.EN_ROUTE, technician=alice)
    response = alice_client.post(step_url(order, "check-in"),
                                 {"version": order.version, "latitude": "39.9"})
    assert response.status_code == 400
    response = alice_client.post(step_url(order, "check-in"), {
        "version": order.version, "latitude": "39.908700", "longitude": "116.397500",
        "accuracy": "12", "photo": upload()})
    assert response.status_code == 302
    order.refresh_from_db()
    assert order.state == State.ON_SITE
    event = order.events.get(action=OrderAction.CHECK_IN)
    assert event.payload["latitude"] == pytest.approx(39.9087)
    assert order.photos.get().kind == "check_in"


def test_the_pwa_manifest_and_service_worker_are_served(client: Client):
    manifest = client.get(reverse("tech:manifest"))
    assert manifest["Content-Type"].startswith("application/manifest+json")
    assert manifest.json()["start_url"] == reverse("tech:today")
    sw = client.get(reverse("tech:sw"))
    assert sw["Content-Type"].startswith("text/javascript")
    assert sw["Service-Worker-Allowed"] == reverse("tech:today")
    assert "tech/app.css" in sw.content.decode()


def test_on_my_way_keeps_where_the_phone_was(alice_client, make_order, alice):
    # R13: the arrival estimate's en-route position (planning.eta)
    from planning.models import PositionSource, TechnicianPosition

    order = make_order(State.PREPARED, technician=alice)
    page = alice_client.get(reverse("tech:order", args=[order.pk])).content.decode()
    assert "data-ping" in page and 'name="latitude"' in page
    response = alice_client.post(step_url(order, "depart"), {
        "version": order.version, "latitude": "39.9087", "longitude": "116.3975"})
    assert response.status_code == 302
    order.refresh_from_db()
    assert order.state == State.EN_ROUTE
    ping = TechnicianPosition.objects.get(technician=alice)
    assert ping.source == PositionSource.EN_ROUTE and ping.latitude == pytest.approx(39.9087)


def test_today_offers_notifications_when_push_is_set_up(alice_client, settings):
    # R4: a new assignment is pushed to the phone (notifications.push)
    from notifications.management.commands.webpush_keys import new_keys

    assert b"push-box" not in alice_client.get(reverse("tech:today")).content
    settings.WEBPUSH_VAPID_PRIVATE_KEY, settings.WEBPUSH_VAPID_PUBLIC_KEY = new_keys()
    page = alice_client.get(reverse("tech:today")).content.decode()
    assert 'id="push-box"' in page and settings.WEBPUSH_VAPID_PUBLIC_KEY in page
    assert reverse("push:subscribe") in page and "notifications/push.js" in page
