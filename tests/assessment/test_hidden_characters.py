"""Control and invisible characters on the ledger's desk pages (issue 18 item 4; R53): the
note of an appeal's decision (read by the technician) and a policy row's note lose them;
a NUL in the entries' or appeals' search or filter is a 400.

Defect: the decision form took a bidi override or a NUL and stored it as typed."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.test import Client
from django.urls import reverse

from assessment import services
from assessment.models import Appeal, AppealStatus, AssessmentRule

from .helpers import entry

T0 = dt.datetime(2026, 11, 10, 9, 0, tzinfo=ZoneInfo("Asia/Shanghai"))
RLO, ZWSP = "\u202e", "\u200b"

pytestmark = pytest.mark.django_db


def client_for(user) -> Client:
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    client.force_login(user)
    return client


def test_the_decision_note_loses_them(alice, supervisor):
    with time_machine.travel(T0, tick=False):
        e = entry(alice, at=T0)
        appeal = services.appeal_file(entry_id=e.pk, by=alice.user, text="不是我的责任")
        response = client_for(supervisor).post(
            reverse("admin:assessment_appeal_decide", args=[appeal.pk]),
            {"decision": "uphold", "note": f"证据{RLO}不足{ZWSP}\x00"})
    assert response.status_code == 302
    appeal = Appeal.objects.get()
    assert appeal.status == AppealStatus.UPHELD and appeal.decision_note == "证据不足"


def test_a_policy_rows_note_loses_them(admin_client):
    response = admin_client.post(reverse("admin:assessment_assessmentrule_add"), {
        "kind": AssessmentRule.objects.values_list("kind", flat=True).first(),
        "effective_from": "2027-01-01", "points": "-2", "amount": "20.00",
        "appeal_window_days": "7", "note": f"新{ZWSP}标准{RLO}"})
    assert response.status_code == 302, response.content.decode()[:3000]
    assert AssessmentRule.objects.get(effective_from="2027-01-01").note == "新标准"


@pytest.mark.parametrize(("page", "params"), [
    ("admin:assessment_entry_changelist", {"q": "\x00"}),
    ("admin:assessment_entry_changelist", {"kind__exact": "\x00"}),
    ("admin:assessment_appeal_changelist", {"status__exact": "pending\x00"}),
    ("admin:assessment_entry_statement", {"month": "2026-11\x00"}),
])
def test_a_nul_in_a_search_or_filter_is_a_400(supervisor, page, params):
    response = client_for(supervisor).get(reverse(page), params)
    assert response.status_code == 400
    assert "NUL character" in response.content.decode()
