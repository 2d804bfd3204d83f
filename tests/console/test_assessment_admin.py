"""The ledger on the desk (R53): supervisors read entries and appeals, decide appeals, and
export the monthly statements (CSV parsed, XLSX opened) with exact totals; dispatchers and
technicians cannot decide."""

from __future__ import annotations

import csv
import datetime as dt
import io
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.urls import reverse
from openpyxl import load_workbook

from assessment import services
from assessment.models import Appeal, AppealStatus, Entry, EntryKind
from technicians.models import Team
from tests.assessment.helpers import entry

SH = ZoneInfo("Asia/Shanghai")
T0 = dt.datetime(2026, 11, 10, 9, 0, tzinfo=SH)

pytestmark = pytest.mark.django_db


@pytest.fixture
def month(alice, bob, east, west):
    """November: alice -1 -2 -5 (one -2 reversed on appeal), bob -1; December: alice -1."""
    east_team = Team.objects.create(name="东城一班", area=east)
    west_team = Team.objects.create(name="门头沟班", area=west)
    alice.team, bob.team = east_team, west_team
    alice.save(update_fields=["team"])
    bob.save(update_fields=["team"])
    with time_machine.travel(T0, tick=False):
        entry(alice, kind=EntryKind.BREACH_CONTACT, source="1", at=T0)
        appealed = entry(alice, kind=EntryKind.BREACH_VISIT, source="2", at=T0)
        entry(alice, kind=EntryKind.SECOND_MISS, source="3", at=T0, source_type="appointment")
        entry(bob, kind=EntryKind.BREACH_ARRIVAL, source="4", at=T0)
        entry(alice, kind=EntryKind.BREACH_CONTACT, source="5", at=T0 + dt.timedelta(days=30))
        appeal = services.appeal_file(entry_id=appealed.pk, by=alice.user, text="改约了")
    return appeal


def test_a_supervisor_reverses_an_appeal_on_the_desk(client, supervisor, month):
    # R53: the decision is a new entry; the appeal page shows the decide form
    client.force_login(supervisor)
    page = client.get(reverse("admin:assessment_appeal_change", args=[month.pk]))
    assert page.status_code == 200 and b"decide-form" in page.content
    response = client.post(reverse("admin:assessment_appeal_decide", args=[month.pk]),
                           {"decision": "reverse", "note": "属实"})
    assert response.status_code == 302
    assert Appeal.objects.get().status == AppealStatus.REVERSED
    assert Entry.objects.filter(kind=EntryKind.REVERSAL, reverses=month.entry).count() == 1
    # Deciding again is refused with a message; nothing more is written.
    client.post(reverse("admin:assessment_appeal_decide", args=[month.pk]),
                {"decision": "uphold", "note": "改主意"})
    assert Appeal.objects.get().status == AppealStatus.REVERSED
    assert Entry.objects.filter(kind=EntryKind.REVERSAL).count() == 1


def test_a_dispatcher_cannot_read_or_decide_appeals(client, dispatcher, alice, month):
    # R53: supervisors decide
    client.force_login(dispatcher)
    url = reverse("admin:assessment_appeal_decide", args=[month.pk])
    assert client.post(url, {"decision": "reverse"}).status_code == 403
    assert client.get(reverse("admin:assessment_appeal_changelist")).status_code == 403
    assert client.get(reverse("admin:assessment_entry_statement")).status_code == 403
    client.force_login(alice.user)  # a technician is no staff: the admin's login page
    assert client.post(url, {"decision": "reverse"}).status_code == 302
    assert Appeal.objects.get().status == AppealStatus.PENDING


def test_the_statement_exports_have_exact_totals(client, supervisor, month):
    # R53: per technician and per team, net of the reversal, November only
    services.appeal_decide(appeal_id=month.pk, by=supervisor, reverse=True, note="属实")
    client.force_login(supervisor)
    page = client.get(reverse("admin:assessment_entry_statement") + "?month=2026-11")
    assert page.status_code == 200
    url = reverse("admin:assessment_entry_export", args=["csv"])
    text = client.get(url + "?month=2026-11&by=technician").content.decode("utf-8-sig")
    rows = list(csv.reader(io.StringIO(text)))
    header, body = rows[0], rows[1:]
    by_no = {row[1]: dict(zip(header, row, strict=True)) for row in body}
    assert set(by_no) == {"T-alice", "T-bob"}
    net = header[-2]
    assert by_no["T-alice"][net] == "-6"  # -1 -2 -5 +2 (reversal)
    assert by_no["T-alice"][header[-1]] == "-220.00"  # -20 -50 -200 +50
    assert by_no["T-alice"][header[-3]] == "4"  # entries, the reversal included
    assert by_no["T-bob"][net] == "-1"
    teams = list(csv.reader(io.StringIO(client.get(url + "?month=2026-11&by=team")
                                        .content.decode("utf-8-sig"))))
    assert {row[1]: row[-2] for row in teams[1:]} == {"东城一班": "-6", "门头沟班": "-1"}
    book = load_workbook(io.BytesIO(client.get(
        reverse("admin:assessment_entry_export", args=["xlsx"]) + "?month=2026-11").content))
    sheet = book.worksheets[0]
    values = list(sheet.iter_rows(values_only=True))
    alice_row = next(r for r in values[1:] if r[1] == "T-alice")
    assert alice_row[-2] == -6 and alice_row[-1] == -220.0
    team_rows = list(book.worksheets[1].iter_rows(values_only=True))
    assert {r[1]: r[-2] for r in team_rows[1:]} == {"东城一班": -6, "门头沟班": -1}
    # December has alice's one entry only.
    dec = client.get(url + "?month=2026-12").content.decode("utf-8-sig")
    assert [row[-2] for row in list(csv.reader(io.StringIO(dec)))[1:]] == ["-1"]


def test_the_entries_admin_is_read_only(client, supervisor, month):
    # R53: append-only, even on the desk
    client.force_login(supervisor)
    e = Entry.objects.first()
    listing = client.get(reverse("admin:assessment_entry_changelist"))
    assert listing.status_code == 200
    assert reverse("admin:assessment_entry_statement") in listing.content.decode()
    assert client.get(reverse("admin:assessment_entry_change", args=[e.pk])).status_code == 200
    assert client.post(reverse("admin:assessment_entry_delete", args=[e.pk]),
                       {"post": "yes"}).status_code == 403
