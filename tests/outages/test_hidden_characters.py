"""Control and invisible characters on the outage desk (issue 18 item 4; R54): access
nodes', areas' and policies' names and codes refuse them with a message naming the
character; the explanation texted to customers and the repair note lose them; a NUL in
the desk's search or filter is a 400.

Defect: the outage forms and the node's name took a bidi override, a zero-width space or
a NUL and stored them; the explanation went out in the customers' SMS as typed."""

from __future__ import annotations

from typing import Any

import pytest
from django.core.exceptions import ValidationError
from django.test import Client
from django.urls import reverse

from outages.models import AccessNode, Outage, OutagePolicy
from technicians.models import Area

from .conftest import ETA, sms

RLO, ZWSP = "\u202e", "\u200b"


def client_for(user: Any) -> Client:
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    client.force_login(user)
    return client


@pytest.mark.django_db
def test_a_node_name_or_code_with_a_hidden_character_is_refused_on_the_desk(dispatcher,
                                                                             east):
    response = client_for(dispatcher).post(reverse("admin:outages_accessnode_add"), {
        "code": f"OLT{ZWSP}-DC-09", "name": f"东四{RLO}OLT", "kind": "olt",
        "area": east.pk})
    assert response.status_code == 200
    errors = response.context["adminform"].form.errors
    assert set(errors) == {"code", "name"}
    assert "U+200B ZERO WIDTH SPACE" in errors["code"][0]
    assert "U+202E RIGHT-TO-LEFT OVERRIDE" in errors["name"][0]
    assert not AccessNode.objects.exists()


@pytest.mark.django_db
def test_areas_and_policies_refuse_them_in_their_names_and_codes(east):
    with pytest.raises(ValidationError) as refused:
        Area(code=f"BJ{ZWSP}-09", name="东城", area_type=east.area_type).full_clean()
    assert set(refused.value.message_dict) == {"code"}
    with pytest.raises(ValidationError) as refused:
        Area(code="BJ-09", name=f"东{RLO}城", area_type=east.area_type).full_clean()
    assert set(refused.value.message_dict) == {"name"}
    policy = OutagePolicy.objects.get()
    policy.name = "默认\x00"
    with pytest.raises(ValidationError) as refused:
        policy.full_clean()
    assert set(refused.value.message_dict) == {"name"}


@pytest.mark.django_db
def test_the_explanation_and_the_repair_note_lose_them(at_t0, repair, dispatcher, east):
    order = repair("accepted")
    client = client_for(dispatcher)
    response = client.post(reverse("admin:outages_outage_add"), {
        "area": east.pk, "explanation": f"光缆{RLO}中断{ZWSP}.\x00",
        "eta_0": "2026-11-24", "eta_1": "16:00"})
    assert response.status_code == 302, response.content.decode()[:2000]
    outage = Outage.objects.get()
    assert outage.explanation == "光缆中断."
    (text,) = sms("outage")
    assert text.order_id == order.pk
    assert "光缆中断." in text.body and RLO not in text.body and ZWSP not in text.body
    repaired = client.post(reverse("admin:outages_outage_repair", args=[outage.pk]),
                           {"note": f"熔接{RLO}完成"})
    assert repaired.status_code == 302
    assert Outage.objects.get().repair_note == "熔接完成"


@pytest.mark.django_db
def test_the_service_strips_the_explanation_too(at_t0, repair, dispatcher, east):
    from outages import services

    outage = services.declare(by=dispatcher, area=east, eta=ETA,
                              explanation=f"{ZWSP}光缆中断{RLO}")
    assert outage.explanation == "光缆中断"


@pytest.mark.django_db
@pytest.mark.parametrize(("page", "params"), [
    ("admin:outages_outage_changelist", {"state__exact": "\x00"}),
    ("admin:outages_outage_changelist", {"area__id__exact": "1\x00"}),
    ("admin:outages_accessnode_changelist", {"q": "OLT\x00"}),
    ("admin:outages_accessnode_changelist", {"kind__exact": "\x00"}),
    ("admin:outages_accountnode_changelist", {"q": "\x00"}),
])
def test_a_nul_in_the_desks_search_or_filter_is_a_400(dispatcher, page, params):
    response = client_for(dispatcher).get(reverse(page), params)
    assert response.status_code == 400
    assert "NUL character" in response.content.decode()
