"""The on-site steps from the pages: consent (R22), can't finish (R24), questions for the
call-centre (R28), nobody home around midnight (R18)."""

from __future__ import annotations

import datetime as dt
import zoneinfo

import time_machine
from django.urls import reverse

from fieldapp.forms import NobodyHomeForm
from notifications.models import Notification
from workorders.events import OrderAction
from workorders.models import State

SHANGHAI = zoneinfo.ZoneInfo("Asia/Shanghai")


def post(client, order, name, **data):
    return client.post(reverse("tech:step", args=[order.pk, name]),
                       {"version": order.version, **data})


def test_the_customers_consent_for_a_risky_step_is_recorded(alice_client, make_order, alice):
    # R22
    order = make_order(State.ON_SITE, technician=alice)
    response = post(alice_client, order, "consent", risk="drilling",
                    description="客厅墙面打孔走线", customer_name="张伟", agreed="yes")
    assert response.status_code == 302
    consent = order.consents.get()
    assert consent.agreed and consent.recorded_by == alice.user
    assert order.events.filter(action=OrderAction.RECORD_CONSENT).exists()


def test_cant_finish_promises_a_time_and_tells_dispatch_and_the_customer(
        alice_client, make_order, alice, dispatcher):
    # R24
    order = make_order(State.ON_SITE, technician=alice)
    tomorrow = (dt.datetime.now(SHANGHAI) + dt.timedelta(days=1)).date()
    response = post(alice_client, order, "cant-finish", reason="需更换入户光缆",
                    promised_day=tomorrow.isoformat(), promised_time="10:00")
    assert response.status_code == 302
    order.refresh_from_db()
    assert order.state == State.AWAITING_REVISIT
    assert Notification.objects.filter(order=order, kind="cant_finish", channel="sms",
                                       address=order.contact_phone).exists()
    assert Notification.objects.filter(order=order, kind="cant_finish",
                                       recipient=dispatcher).exists()


def test_a_question_i_could_not_answer_goes_to_follow_up(alice_client, make_order, alice):
    # R28 (首问负责制): logged against the order and tracked until answered
    from surveys.models import FollowUp

    order = make_order(State.ON_SITE, technician=alice)
    response = post(alice_client, order, "question", question="IPTV 套餐能否改成年付?")
    assert response.status_code == 302
    follow_up = FollowUp.objects.get(order=order)
    assert follow_up.kind == "question" and follow_up.status == "open"


def test_nobody_home_times_just_before_midnight_are_yesterdays(make_order, alice):
    # R18: a visit from 23:50 to 00:05 is recorded in the right order
    order = make_order(State.EN_ROUTE, technician=alice)
    with time_machine.travel(dt.datetime(2026, 11, 24, 0, 6, tzinfo=SHANGHAI), tick=False):
        form = NobodyHomeForm({"version": order.version, "arrived_at": "23:50",
                               "left_at": "00:05"}, order=order)
        assert form.is_valid(), form.errors
    assert form.cleaned_data["arrived_at_dt"] == dt.datetime(2026, 11, 23, 23, 50,
                                                             tzinfo=SHANGHAI)
    assert form.cleaned_data["left_at_dt"] == dt.datetime(2026, 11, 24, 0, 5,
                                                          tzinfo=SHANGHAI)
