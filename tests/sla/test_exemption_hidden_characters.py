"""Control and invisible characters in force-majeure exemptions (issue 18 item 4; R50):
the declaration's reason (on the desk and the phone page) and the decision's reason lose
them; a NUL in the list's search or filter is a 400.

Defect: the desk's declaration and decision forms stored a bidi override or a NUL as
typed."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.test import Client
from django.urls import reverse

from sla.exemptions import Exemption, ExemptionState
from workorders.models import State

T0 = dt.datetime(2026, 11, 24, 9, 0, tzinfo=ZoneInfo("Asia/Shanghai"))
RLO, ZWSP = "\u202e", "\u200b"


def client_for(user) -> Client:
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    client.force_login(user)
    return client


@pytest.fixture
def at_t0():
    with time_machine.travel(T0, tick=False) as traveller:
        yield traveller


@pytest.mark.django_db
def test_the_reasons_on_the_desk_lose_them(at_t0, dispatcher, supervisor, east):
    response = client_for(dispatcher).post(reverse("admin:sla_exemption_add"), {
        "kind": "weather", "reason": f"暴雨{RLO}封路{ZWSP}\x00", "area": east.pk,
        "starts_at_0": "2026-11-24", "starts_at_1": "07:00", "ends_at_0": "2026-11-24",
        "ends_at_1": "09:00"})
    assert response.status_code == 302, response.content.decode()[:2000]
    exemption = Exemption.objects.get()
    assert exemption.reason == "暴雨封路"
    decided = client_for(supervisor).post(
        reverse("admin:sla_exemption_decide", args=[exemption.pk]),
        {"decision": "reject", "reason": f"证据{ZWSP}不足{RLO}"})
    assert decided.status_code == 302
    exemption.refresh_from_db()
    assert exemption.state == ExemptionState.REJECTED
    assert exemption.decision_reason == "证据不足"


@pytest.mark.django_db
def test_a_reason_of_hidden_characters_only_is_no_reason(at_t0, dispatcher, east):
    response = client_for(dispatcher).post(reverse("admin:sla_exemption_add"), {
        "kind": "weather", "reason": f"{ZWSP}{RLO}", "area": east.pk,
        "starts_at_0": "2026-11-24", "starts_at_1": "07:00", "ends_at_0": "2026-11-24",
        "ends_at_1": "09:00"})
    assert response.status_code == 200
    assert "reason" in response.context["adminform"].form.errors
    assert not Exemption.objects.exists()


@pytest.mark.django_db
def test_the_phone_page_strips_them_too(at_t0, alice_client, make_order, alice):
    order = make_order(State.SCHEDULED, technician=alice)
    response = alice_client.post(reverse("tech:step", args=[order.pk, "force-majeure"]), {
        "version": order.version, "kind": "weather", "reason": f"积水{RLO}封路",
        "since": "60", "lasts": "120"})
    assert response.status_code == 302
    assert Exemption.objects.get().reason == "积水封路"


@pytest.mark.django_db
@pytest.mark.parametrize("params", [{"state__exact": "\x00"}, {"kind__exact": "weather\x00"},
                                    {"area__id__exact": "\x00"}])
def test_a_nul_in_the_lists_filter_is_a_400(supervisor, params):
    response = client_for(supervisor).get(reverse("admin:sla_exemption_changelist"), params)
    assert response.status_code == 400
    assert "NUL character" in response.content.decode()
