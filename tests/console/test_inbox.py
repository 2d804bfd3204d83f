"""The alerts inbox (issue 14, part 7): every staff member's in-app alerts, with an unread
count in the admin header, each linked to its order and acknowledged by who and when."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine
from django.urls import reverse

from console.inbox import acknowledge, alerts_for, unread_count
from fieldops import clock
from notifications.models import Acknowledgement, Channel, Notification
from notifications.services import notify
from sla import engine
from sla.timers import Timer, TimerStatus
from surveys.models import Survey
from surveys.services import callbacks_open_due
from workorders.models import State

pytestmark = pytest.mark.django_db

ALERTS = reverse("console-alerts")
ACK = reverse("console-alerts-acknowledge")
COUNT = reverse("console-alerts-count")


def _breach(order) -> None:
    """Let the order's earliest running promise run out and the engine sweep (R38)."""
    timer = Timer.objects.filter(order=order, status=TimerStatus.ARMED).order_by("due_at").first()
    assert timer is not None
    with time_machine.travel(timer.due_at + dt.timedelta(minutes=1), tick=False):
        engine.sweep_all()


def _to_role(order, role: str, kind: str = "sla.breached") -> Notification:
    note = notify(channel=Channel.IN_APP, kind=kind, body=f"{kind} {order.number}",
                  address=f"role:{role}", order=order, dedupe_key=f"t:{order.pk}:{role}:{kind}")
    assert note is not None
    return note


def test_a_breach_reaches_the_dispatchers_inbox_unread(make_order, dispatcher, alice):
    # R38: the engine writes the alert with the breach; the dispatcher's inbox shows it
    order = make_order(State.DISPATCHED, technician=alice)
    assert unread_count(dispatcher) == 0
    _breach(order)
    alerts = list(alerts_for(dispatcher))
    assert alerts and {a.order_id for a in alerts} == {order.pk}
    assert any(a.kind == "sla.breached" for a in alerts)
    assert unread_count(dispatcher) == len(alerts)


def test_a_dispatcher_sees_the_alerts_of_the_areas_they_run_only(make_order, dispatcher,
                                                                 west):
    east_order = make_order(State.ACCEPTED)
    west_order = make_order(State.ACCEPTED, area=west)
    _to_role(east_order, "dispatcher")
    _to_role(west_order, "dispatcher")
    # no areas of their own: a one-desk office sees every area
    assert {a.order_id for a in alerts_for(dispatcher)} == {east_order.pk, west_order.pk}
    west.dispatchers.add(dispatcher)
    assert {a.order_id for a in alerts_for(dispatcher)} == {west_order.pk}


def test_each_role_and_person_gets_only_their_own(make_order, dispatcher, supervisor, agent,
                                                  alice):
    order = make_order(State.DISPATCHED, technician=alice)
    to_dispatch = _to_role(order, "dispatcher")
    to_supervise = _to_role(order, "supervisor", kind="sla.escalated")
    to_call_centre = _to_role(order, "call_centre", kind="abnormal")
    to_alice = notify(channel=Channel.IN_APP, kind="change_request", body="moved",
                      recipient=alice.user, order=order)
    assert [a.pk for a in alerts_for(dispatcher)] == [to_dispatch.pk]
    assert [a.pk for a in alerts_for(supervisor)] == [to_supervise.pk]
    assert [a.pk for a in alerts_for(agent)] == [to_call_centre.pk]
    assert [a.pk for a in alerts_for(alice.user)] == [to_alice.pk]
    # an SMS to the customer is not an alert for anybody
    notify(channel=Channel.SMS, kind="on_the_way", body="x", address="13800000000",
           order=order)
    assert unread_count(dispatcher) == 1


def test_acknowledging_records_who_and_when_for_that_person_only(make_order, dispatcher):
    order = make_order(State.ACCEPTED)
    alert = _to_role(order, "dispatcher")
    other = type(dispatcher).objects.create_user("dan", password="x", is_staff=True)
    other.groups.set(dispatcher.groups.all())
    at = clock.now()
    with time_machine.travel(at, tick=False):
        assert acknowledge(dispatcher, [alert.pk]) == 1
    row = Acknowledgement.objects.get(notification=alert)
    assert (row.user, row.at) == (dispatcher, at)
    assert unread_count(dispatcher) == 0 and unread_count(other) == 1
    # twice changes nothing; the first time stays recorded
    assert acknowledge(dispatcher, [alert.pk]) == 0
    assert Acknowledgement.objects.filter(notification=alert).count() == 1


def test_nobody_acknowledges_an_alert_not_meant_for_them(make_order, dispatcher, supervisor):
    order = make_order(State.ACCEPTED)
    alert = _to_role(order, "supervisor")
    assert acknowledge(dispatcher, [alert.pk]) == 0
    assert not Acknowledgement.objects.exists()


def test_the_header_shows_the_unread_count_on_every_admin_page(client, make_order,
                                                               dispatcher):
    order = make_order(State.ACCEPTED)
    client.force_login(dispatcher)
    page = client.get(reverse("admin:index") + "?apps=1", HTTP_ACCEPT_LANGUAGE="en")
    assert 'id="alerts-link"' in page.content.decode()
    assert "alerts-unread" not in page.content.decode()
    _to_role(order, "dispatcher")
    _to_role(order, "dispatcher", kind="sla.warned")
    for url in (reverse("admin:index") + "?apps=1", reverse("admin:workorders_workorder_queue"),
                COUNT):
        html = client.get(url, HTTP_ACCEPT_LANGUAGE="en").content.decode()
        assert '<span class="alerts-unread" aria-label="2 unread alerts">2</span>' in html, url
    # the link asks for itself again (htmx) so the count changes without a reload
    assert f'hx-get="{COUNT}"' in client.get(COUNT).content.decode()


def test_the_inbox_page_lists_alerts_in_words_with_links_to_the_orders(client, make_order,
                                                                       dispatcher, alice):
    order = make_order(State.DISPATCHED, technician=alice)
    _breach(order)
    client.force_login(dispatcher)
    page = client.get(ALERTS, HTTP_ACCEPT_LANGUAGE="en")
    assert page.status_code == 200 and "no-store" in page["Cache-Control"]
    html = page.content.decode()
    assert "Promise broken" in html
    assert reverse("admin:workorders_workorder_change", args=[order.pk]) in html
    assert ">sla.breached<" not in html
    zh = client.get(ALERTS, HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()
    assert "承诺已违约" in zh


def test_acknowledging_from_the_page(client, make_order, dispatcher):
    order = make_order(State.ACCEPTED)
    first = _to_role(order, "dispatcher")
    second = _to_role(order, "dispatcher", kind="sla.warned")
    client.force_login(dispatcher)
    answer = client.post(ACK, {"alert": first.pk, "shown": [first.pk, second.pk]})
    assert answer.status_code == 302 and answer["Location"] == ALERTS
    assert list(Acknowledgement.objects.values_list("notification", flat=True)) == [first.pk]
    html = client.get(ALERTS, HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "1 unread alert" in html and "sla.warned" in html  # data-kind of the unread row
    client.post(ACK, {"shown": [second.pk]})
    assert unread_count(dispatcher) == 0
    html = client.get(ALERTS, {"show": "all"}, HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert html.count('class="acknowledged"') == 2


def test_bad_acknowledgements_are_refused_with_a_message_and_change_nothing(client, make_order,
                                                                           dispatcher):
    client.force_login(dispatcher)
    answer = client.post(ACK, {"alert": "nope"}, follow=True, HTTP_ACCEPT_LANGUAGE="en")
    assert answer.status_code == 200
    assert "Choose an alert to acknowledge." in answer.content.decode()
    assert client.get(ACK).status_code == 405
    assert not Acknowledgement.objects.exists()


def test_the_inbox_is_for_staff(client, alice):
    assert client.get(ALERTS).status_code == 302  # to the login page
    client.force_login(alice.user)  # a technician: not staff, his notices are on his pages
    assert client.get(ALERTS).status_code == 302


def test_an_abnormal_order_alerts_the_call_centre_and_the_dispatchers(make_order, alice,
                                                                      agent, dispatcher):
    # R19
    order = make_order(State.ABNORMAL, technician=alice)
    for user in (agent, dispatcher):
        kinds = [a.kind for a in alerts_for(user) if a.order_id == order.pk]
        assert kinds.count("abnormal") == 1, user


def test_the_inbox_holds_the_last_days_only(make_order, dispatcher, settings):
    settings.ALERTS_INBOX_DAYS = 7
    order = make_order(State.ACCEPTED)
    old = _to_role(order, "dispatcher")
    Notification.objects.filter(pk=old.pk).update(
        created_at=clock.now() - dt.timedelta(days=7, minutes=1))
    recent = _to_role(order, "dispatcher", kind="sla.warned")
    assert [a.pk for a in alerts_for(dispatcher)] == [recent.pk]
    assert unread_count(dispatcher) == 1


def _callback_falls_due(order) -> dt.datetime:
    """R30: let the order's survey go unanswered past its callback time and the periodic
    job run (twice: a re-run opens nothing and alerts nobody again)."""
    survey = Survey.objects.get(order=order)
    later = survey.callback_due_at + dt.timedelta(minutes=1)
    with time_machine.travel(later, tick=False):
        assert callbacks_open_due() == 1
        assert callbacks_open_due() == 0
    return later


def test_a_callback_falling_due_alerts_the_call_centre_once(client, make_order, alice, agent,
                                                           dispatcher):
    # R30: the call-centre makes the callback, so its agents' inboxes say it is due
    order = make_order(State.SURVEY_PENDING, technician=alice)
    assert not [a for a in alerts_for(agent) if a.kind == "callback_due"]
    _callback_falls_due(order)
    [alert] = [a for a in alerts_for(agent) if a.kind == "callback_due"]
    assert alert.order_id == order.pk and order.number in alert.body
    assert alert.pk == Notification.objects.get(kind="callback_due").pk  # one row, once
    assert not [a for a in alerts_for(dispatcher) if a.kind == "callback_due"]
    # a second agent sees the same alert and acknowledges it for themselves
    other = type(agent).objects.create_user("cora", password="x", is_staff=True)
    other.groups.set(agent.groups.all())
    assert acknowledge(agent, [alert.pk]) == 1
    assert unread_count(agent) == 0 and unread_count(other) == 1
    client.force_login(other)
    html = client.get(ALERTS, HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "Callback due" in html
    assert reverse("admin:workorders_workorder_change", args=[order.pk]) in html
    assert "待回访" in client.get(ALERTS, HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()


def test_no_callback_alert_before_the_callback_time(make_order, alice, agent):
    # R30: an answer is still awaited; nothing is due yet
    order = make_order(State.SURVEY_PENDING, technician=alice)
    survey = Survey.objects.get(order=order)
    with time_machine.travel(survey.callback_due_at - dt.timedelta(minutes=1), tick=False):
        assert callbacks_open_due() == 0
    assert not Notification.objects.filter(kind="callback_due").exists()
