"""The "Quality and exceptions" section of the compliance page, on a crafted small set whose
answer is known by construction: inspections and suspicion signals (R52), the assessment
ledger (R53), complaints by tier with their deadlines (R51) and outages (R54), with the
page's filters, the page itself and the exports."""

from __future__ import annotations

import csv
import datetime as dt
import io
from decimal import Decimal

import pytest
from django.urls import reverse

from assessment.models import Entry, EntryKind
from complaints.models import (
    Complaint,
    ComplaintChannel,
    ComplaintDeadline,
    DeadlineKind,
    DeadlineStatus,
    Outcome,
    Tier,
)
from dashboards import selectors
from dashboards.selectors import Filters
from fieldops import clock
from outages.models import Link, Outage, OutageOrder
from quality.models import Inspection, InspectionReason, InspectionStatus, Signal, SignalKind
from technicians.models import Team
from workorders.models import Kind, State, WorkOrder

pytestmark = pytest.mark.django_db


def _inspect(order: WorkOrder, status: str, *, day: dt.date | None = None) -> Inspection:
    now = clock.now()
    return Inspection.objects.create(
        order=order, area=order.area, technician=order.technician,
        day=day or clock.today_local(), completed_at=now, reason=InspectionReason.SAMPLE,
        status=status)


def _entry(technician, points: int, amount: str, *, when: dt.datetime, source: str) -> Entry:
    return Entry.objects.create(
        technician=technician, kind=EntryKind.BREACH_ARRIVAL, points=points,
        amount=Decimal(amount), period=when.date().replace(day=1), occurred_at=when,
        source_type="test", source_id=source, reason="crafted")


def _complaint(order: WorkOrder, tier: str, by, *, outcome: str = Outcome.PENDING,
               response: str = "", resolution: str = "",
               recorded_at: dt.datetime | None = None) -> Complaint:
    """``response`` / ``resolution``: "met", "breached" or "" (still running)."""
    now = recorded_at or clock.now()
    complaint = Complaint.objects.create(
        tier=tier, channel=ComplaintChannel.PHONE, text="crafted", order=order,
        customer=order.customer, technician=order.technician, recorded_at=now,
        recorded_by=by, outcome=outcome)
    for kind, how in ((DeadlineKind.RESPONSE, response), (DeadlineKind.RESOLUTION, resolution)):
        ComplaintDeadline.objects.create(
            complaint=complaint, kind=kind, started_at=now, target_minutes=60,
            due_at=now + dt.timedelta(hours=1),
            status=DeadlineStatus.MET if how else DeadlineStatus.ARMED,
            met_at=now if how else None,
            breached_at=now + dt.timedelta(hours=1) if how == "breached" else None)
    return complaint


@pytest.fixture
def crafted(make_order, alice, bob, east, west, dispatcher, agent):
    """East: alice (team East crew); west: bob (team West crew).

    R52: alice has 3 inspections (2 passed, 1 failed) and 1 open; bob 1 failed. Signals:
    2 far check-ins on alice's orders, 1 reused photo on bob's; 1 last month (not counted).
    R53: alice -5 points / ¥50 and +2 / ¥0 this period, -3 last month (not counted); bob -1.
    R51: alice's orders: 2 complaints (response met, breached; resolution met, running),
    one upheld, one not; bob's: 1 escalated complaint, response met, upheld; one of
    last month (not counted).
    R54: east 1 outage with 3 orders, 2 closed without a visit; west 1 with 1 order
    released; one declared last month (not counted).
    """
    Team.objects.create(name="East crew", area=east).technicians.add(alice)
    Team.objects.create(name="West crew", area=west).technicians.add(bob)
    now = clock.now()
    old = now - dt.timedelta(days=60)
    a = [make_order(State.SCHEDULED, technician=alice) for _ in range(4)]
    b = [make_order(State.SCHEDULED, technician=bob, area=west) for _ in range(2)]
    _inspect(a[0], InspectionStatus.PASSED)
    _inspect(a[1], InspectionStatus.PASSED)
    _inspect(a[2], InspectionStatus.FAILED)
    _inspect(a[3], InspectionStatus.OPEN)
    _inspect(b[0], InspectionStatus.FAILED)
    _inspect(b[1], InspectionStatus.PASSED, day=old.date())  # before the period
    Signal.objects.create(order=a[0], kind=SignalKind.FAR_CHECK_IN, found_at=now)
    Signal.objects.create(order=a[1], kind=SignalKind.FAR_CHECK_IN, found_at=now)
    Signal.objects.create(order=b[0], kind=SignalKind.PHOTO_REUSED, found_at=now)
    Signal.objects.create(order=b[1], kind=SignalKind.FAST_SIGNATURE, found_at=old)
    _entry(alice, -5, "-50.00", when=now, source="1")
    _entry(alice, 2, "0.00", when=now, source="2")
    _entry(alice, -3, "-30.00", when=old, source="3")
    _entry(bob, -1, "-10.00", when=now, source="4")
    _complaint(a[0], Tier.COMPLAINT, agent, outcome=Outcome.UPHELD, response="met",
               resolution="met")
    _complaint(a[1], Tier.COMPLAINT, agent, outcome=Outcome.NOT_UPHELD, response="breached")
    _complaint(b[0], Tier.ESCALATED, agent, outcome=Outcome.UPHELD, response="met")
    _complaint(b[1], Tier.REGULATOR, agent, outcome=Outcome.UPHELD, response="met",
               recorded_at=old)
    repairs = [make_order(kind=Kind.REPAIR) for _ in range(3)]
    west_repair = make_order(kind=Kind.REPAIR, area=west)
    outage = Outage.objects.create(area=east, explanation="fibre cut", eta=now,
                                   declared_by=dispatcher, declared_at=now, due_at=now,
                                   warn_at=now)
    for order, state in zip(repairs, (Link.RESOLVED, Link.RESOLVED, Link.RELEASED),
                            strict=True):
        OutageOrder.objects.create(outage=outage, order=order, state=state, attached_at=now)
    other = Outage.objects.create(area=west, explanation="power cut", eta=now,
                                  declared_by=dispatcher, declared_at=now, due_at=now,
                                  warn_at=now)
    OutageOrder.objects.create(outage=other, order=west_repair, state=Link.RELEASED,
                               attached_at=now)
    Outage.objects.create(area=east, explanation="last month", eta=old, declared_by=dispatcher,
                          declared_at=old, due_at=old, warn_at=old)
    return {"a": a, "b": b}


def test_inspections_pass_rate_open_and_signals_by_kind(crafted, alice, bob, east):
    # R52: decided 4 (2 passed of alice's 3, bob's 1 failed): 2 / 4 passed; 1 open
    figures = selectors.inspection_figures(Filters.last_days())
    summary = figures["summary"]
    assert (summary["inspections"], summary["open"], summary["passed"], summary["failed"]) \
        == (5, 1, 2, 2)
    assert summary["pass_rate"] == pytest.approx(0.5)
    signals = {row["kind"]: row["count"] for row in figures["signals"]}
    assert signals == {SignalKind.FAR_CHECK_IN: 2, SignalKind.PHOTO_REUSED: 1,
                       SignalKind.QUICK_COMPLETION: 0, SignalKind.FAST_SIGNATURE: 0,
                       SignalKind.SURVEY_FROM_TECHNICIAN: 0}
    by_tech = {row["key"]: row for row in figures["technicians"]}
    assert by_tech[alice.pk]["pass_rate"] == pytest.approx(2 / 3)
    assert by_tech[bob.pk]["pass_rate"] == 0.0
    # the area filter: east only
    east_only = selectors.inspection_figures(Filters.last_days(area=east.pk))
    assert east_only["summary"]["decided"] == 3
    assert {row["kind"]: row["count"] for row in east_only["signals"]}[
        SignalKind.PHOTO_REUSED] == 0


def test_ledger_totals_per_technician_and_team(crafted, alice, bob):
    # R53: the period's entries, net: alice -5 + 2 = -3 points, ¥-50; bob -1, ¥-10
    figures = selectors.ledger_figures(Filters.last_days())
    assert figures["summary"]["points"] == -4
    assert figures["summary"]["amount"] == Decimal("-60.00")
    by_tech = {row["key"]: (row["entries"], row["points"], row["amount"])
               for row in figures["technicians"]}
    assert by_tech == {alice.pk: (2, -3, Decimal("-50.00")), bob.pk: (1, -1, Decimal("-10.00"))}
    teams = {row["name"]: row["points"] for row in figures["teams"]}
    assert teams == {"East crew": -3, "West crew": -1}
    team = Team.objects.get(name="West crew")
    assert selectors.ledger_figures(Filters.last_days(team=team.pk))["summary"]["points"] == -1


def test_complaints_by_tier_deadlines_and_upheld(crafted, alice, west):
    # R51: the period's complaints: 2 complaints, 1 escalated, 0 regulator appeals
    figures = selectors.complaint_figures(Filters.last_days())
    tiers = {row["tier"]: row for row in figures["tiers"]}
    assert [tiers[t]["complaints"] for t in Tier.values] == [2, 1, 0]
    plain = tiers[Tier.COMPLAINT]
    assert plain["response_rate"] == pytest.approx(0.5)  # one met, one breached
    assert (plain["resolution_met"], plain["resolution_judged"]) == (1, 1)  # one running
    assert plain["upheld_rate"] == pytest.approx(0.5)
    assert tiers[Tier.ESCALATED]["response_rate"] == 1.0
    assert tiers[Tier.REGULATOR]["response_rate"] is None
    summary = figures["summary"]
    assert (summary["complaints"], summary["upheld"], summary["decided"]) == (3, 2, 3)
    # the technician filter: alice's complaints only; the area filter: west's only
    assert selectors.complaint_figures(Filters.last_days(technician=alice.pk))[
        "summary"]["complaints"] == 2
    assert selectors.complaint_figures(Filters.last_days(area=west.pk))[
        "summary"]["complaints"] == 1


def test_outages_orders_attached_and_closed_without_a_visit(crafted, east, alice):
    # R54: 2 outages in the period, 4 orders attached, 2 closed without a visit (east)
    figures = selectors.outage_figures(Filters.last_days())
    assert figures["summary"] == {"outages": 2, "orders": 4, "resolved": 2,
                                  "resolved_rate": 0.5}
    east_only = selectors.outage_figures(Filters.last_days(area=east.pk))
    assert (east_only["summary"]["outages"], east_only["summary"]["orders"]) == (1, 3)
    # outages have no technician: that filter counts none and says so
    by_tech = selectors.outage_figures(Filters.last_days(technician=alice.pk))
    assert by_tech["summary"]["outages"] == 0 and not by_tech["applies"]


def test_a_dispatcher_reads_only_the_areas_they_run(crafted, west):
    scope = Filters.last_days(scope=(west.pk,))
    assert selectors.inspection_figures(scope)["summary"]["inspections"] == 1
    assert selectors.ledger_figures(scope)["summary"]["points"] == -1
    assert selectors.complaint_figures(scope)["summary"]["complaints"] == 1
    assert selectors.outage_figures(scope)["summary"]["outages"] == 1


def test_the_page_shows_the_section_and_the_exports(crafted, client, supervisor):
    client.force_login(supervisor)
    page = client.get(reverse("dashboard:compliance"), HTTP_ACCEPT_LANGUAGE="en")
    assert page.status_code == 200
    html = page.content.decode()
    assert "Quality and exceptions" in html
    assert page.context["quality"]["inspections"]["summary"]["pass_rate"] == 0.5
    assert 'data-figure="pass_rate"' in html and "50.0" in html
    assert 'data-table="complaints"' in html and 'data-table="ledger_teams"' in html
    assert "East crew" in html
    response = client.get(reverse("dashboard:export_csv", args=["complaints"]),
                          HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 200
    rows = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))
    assert rows[0][:2] == ["Tier (R51)", "Complaints"]
    assert [row[1] for row in rows[1:]] == ["2", "1", "0", "3"]
    ledger = client.get(reverse("dashboard:export_csv", args=["ledger_teams"]),
                        HTTP_ACCEPT_LANGUAGE="en")
    body = list(csv.reader(io.StringIO(ledger.content.decode("utf-8-sig"))))
    assert sorted(row[:3] for row in body[1:]) == [["East crew", "2", "-3"],
                                                   ["West crew", "1", "-1"]]
    outages = client.get(reverse("dashboard:export_csv", args=["outages"]),
                         HTTP_ACCEPT_LANGUAGE="en")
    assert outages.status_code == 200 and b"closed without a visit" in outages.content.lower()


def test_the_page_in_chinese(crafted, client, supervisor):
    client.force_login(supervisor)
    page = client.get(reverse("dashboard:compliance"), HTTP_ACCEPT_LANGUAGE="zh-hans")
    assert page.status_code == 200
    html = page.content.decode()
    assert "Quality and exceptions" not in html and "质量与异常" in html and "巡视通过率" in html
