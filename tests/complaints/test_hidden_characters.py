"""Control and invisible characters in complaints (issue 18 item 4; R51): refused in the
API's one-line values with a 400 naming the field, removed from the free text (what the
customer says, notes, the solution, the note released to the technician) on the API and on
the desk, like the orders' symptoms and notes (``fieldops.text``).

Defect: ``POST /api/v1/complaints/`` took text with U+202E and U+200B (201) and stored it
unchanged; the desk's forms did the same."""

from __future__ import annotations

import pytest
from django.test import Client

from complaints.models import Complaint, ComplaintDeadline, Outcome

from .test_api import post, token_client

pytestmark = pytest.mark.django_db

RLO, ZWSP = "\u202e", "\u200b"


def test_a_hidden_character_in_the_tier_is_a_400_naming_the_field(completed_order):
    client, headers = token_client()
    response = post(client, "/api/v1/complaints/",
                    {"tier": f"escalated{ZWSP}", "channel": "phone", "text": "多收费",
                     "order": completed_order.pk}, headers | {"Accept-Language": "en"},
                    key="h-1")
    assert response.status_code == 400, response.content
    assert response["Content-Type"].startswith("application/problem+json")
    (error,) = response.json()["errors"]
    assert error["field"] == "tier" and error["code"] == "hidden_character"
    assert "U+200B ZERO WIDTH SPACE" in error["message"]
    assert not Complaint.objects.exists() and not ComplaintDeadline.objects.exists()


def test_the_customers_words_lose_their_hidden_characters(completed_order):
    client, headers = token_client()
    response = post(client, "/api/v1/complaints/",
                    {"tier": "complaint", "channel": "phone",
                     "text": f"师傅{RLO}多收了50元{ZWSP}\n材料费\x00", "order": completed_order.pk},
                    headers, key="h-2")
    assert response.status_code == 201, response.content
    assert response.json()["text"] == "师傅多收了50元\n材料费"
    assert Complaint.objects.get().text == "师傅多收了50元\n材料费"


def test_notes_sent_to_the_actions_lose_their_hidden_characters(completed_order, record,
                                                                agent, supervisor):
    complaint = record(completed_order)
    desk, boss = Client(), Client()
    desk.force_login(agent)
    boss.force_login(supervisor)
    url = f"/api/v1/complaints/{complaint.pk}"
    handled = post(desk, f"{url}/handle/",
                   {"kind": "call", "note": f"已致歉{RLO}", "solution": f"退还{ZWSP}50元",
                    "compensation": "50.00", "compensation_note": "现金\x00",
                    "customer_confirmed": True}, {})
    assert handled.status_code == 200, handled.content
    decided = post(boss, f"{url}/decide/", {"upheld": True, "note": f"属实{ZWSP}",
                                             "released_note": f"注意{RLO}收费"}, {})
    assert decided.status_code == 200, decided.content
    complaint.refresh_from_db()
    assert (complaint.solution, complaint.compensation_note) == ("退还50元", "现金")
    assert (complaint.decision_note, complaint.released_note) == ("属实", "注意收费")
    assert complaint.contacts.get().note == "已致歉"


def test_the_desk_strips_them_from_the_text_and_the_decision(completed_order, record, agent,
                                                             supervisor):
    desk = Client()
    desk.force_login(agent)
    response = desk.post("/admin/complaints/complaint/add/", {
        "tier": "complaint", "channel": "phone", "text": f"{ZWSP}多收费{RLO}\x00",
        "order": completed_order.pk, "customer": ""})
    assert response.status_code == 302, response.content.decode()[:2000]
    complaint = Complaint.objects.get()
    assert complaint.text == "多收费"
    boss = Client()
    boss.force_login(supervisor)
    response = boss.post(f"/admin/complaints/complaint/{complaint.pk}/change/", {
        "outcome": Outcome.UPHELD, "decision_note": f"属实{RLO}",
        "released_note": f"注意{ZWSP}收费"})
    assert response.status_code == 302
    complaint.refresh_from_db()
    assert (complaint.decision_note, complaint.released_note) == ("属实", "注意收费")


@pytest.mark.parametrize("params", [{"q": "\x00"}, {"tier__exact": "\x00"},
                                    {"status__exact": "open\x00"}])
def test_a_nul_in_the_desks_search_or_filter_is_a_400(agent, params):
    desk = Client()
    desk.force_login(agent)
    response = desk.get("/admin/complaints/complaint/", params, HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 400
    assert "NUL character" in response.content.decode()
