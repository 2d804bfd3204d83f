"""The inspection list on the desk (R52): who may read it and decide (the role matrix of
the new pages), the evidence in words without raw data, a fail through the page, and a
hand-picked order that is not completed refused with the reason."""

from __future__ import annotations

import datetime as dt

import pytest
from django.urls import reverse

from assessment.models import Entry
from complaints import services as complaint_services
from fieldops import clock
from quality import sampling
from quality import services as quality_services
from quality.models import Inspection, InspectionStatus
from workorders.models import State, WorkOrder

from .helpers import complete

pytestmark = pytest.mark.django_db


@pytest.fixture
def drawn(make_order, alice):
    """Yesterday's completion with a 2-minute visit and a 0.2 s signature, drawn by the
    day's job."""
    day = clock.today_local() - dt.timedelta(days=1)
    at = dt.datetime.combine(day, dt.time(10, 0), tzinfo=clock.now().astimezone().tzinfo)
    order = complete(make_order, alice, check_in_at=at, minutes=2, signature_ms=200)
    sampling.run_day(day)
    return Inspection.objects.get(order=order)


PAGES = {
    "list": lambda i: reverse("admin:quality_inspection_changelist"),
    "detail": lambda i: reverse("admin:quality_inspection_change", args=[i.pk]),
    "decide": lambda i: reverse("admin:quality_inspection_decide", args=[i.pk]),
    "add": lambda i: reverse("admin:quality_inspection_add"),
    "records": lambda i: reverse("admin:quality_qualityrecord_changelist"),
    "policy": lambda i: reverse("admin:quality_inspectionpolicy_changelist"),
}
# R52: inspectors and supervisors work the list; the rest of the office does not see it.
ALLOWED = {"inspector": set(PAGES), "supervisor": set(PAGES),
           "dispatcher": set(), "agent": set()}


@pytest.mark.parametrize("role", sorted(ALLOWED))
def test_the_role_matrix_of_the_inspection_pages(client, request, drawn, role):
    user = request.getfixturevalue(role)
    client.force_login(user)
    for name, url in PAGES.items():
        status = client.get(url(drawn)).status_code
        if name in ALLOWED[role]:
            assert status == 200, (role, name, status)
        else:
            assert status == 403, (role, name, status)


def test_a_technician_is_kept_out_of_the_desk(client, drawn, alice):
    client.force_login(alice.user)
    for url in PAGES.values():
        response = client.get(url(drawn))
        assert response.status_code == 302 and "/login/" in response["Location"]


def test_the_evidence_reads_in_words(client, drawn, inspector):
    client.force_login(inspector)
    page = client.get(PAGES["decide"](drawn), HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "2 minutes after checking in" in page
    assert "0.2 s" in page
    assert drawn.order.number in page
    assert '"ms"' not in page and "limit_minutes" not in page  # no raw evidence


def test_an_inspector_fails_an_order_on_the_page(client, drawn, inspector):
    # R52 → R31
    client.force_login(inspector)
    point = "The customer confirms the visit, the try-out and the signature"
    response = client.post(PAGES["decide"](drawn), {
        "outcome": "fail", "method": "review", "failed_points": [point],
        "notes": "customer says nobody came"})
    assert response.status_code == 302
    drawn.refresh_from_db()
    assert drawn.status == InspectionStatus.FAILED
    assert WorkOrder.objects.get(pk=drawn.order_id).state == State.REWORK


def test_a_fail_with_nothing_found_is_sent_back_with_the_reason(client, drawn, inspector):
    client.force_login(inspector)
    response = client.post(PAGES["decide"](drawn), {"outcome": "fail", "method": "review"},
                           HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 200
    assert "write what was wrong" in response.content.decode()
    drawn.refresh_from_db()
    assert drawn.status == InspectionStatus.OPEN


def test_picking_an_order_that_is_not_completed_is_refused(client, make_order, alice,
                                                          inspector):
    # R52
    order = make_order(State.SCHEDULED, technician=alice)
    client.force_login(inspector)
    response = client.post(reverse("admin:quality_inspection_add"), {"number": order.number},
                           HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 200
    assert "is not completed" in response.content.decode()
    assert not Inspection.objects.exists()


def test_an_inspector_reads_no_complaint_and_no_ledger(client, drawn, inspector, agent,
                                                       alice):
    # R52, R51, R53, R40: the inspector works inspections only; a complaint's text and the
    # technicians' ledger entries stay with the call-centre and the supervisors
    secret = "投诉人李四说师傅收了红包"
    complaint = complaint_services.complaint_record(by=agent, tier="complaint", channel="phone",
                                                    text=secret, order=drawn.order)
    quality_services.inspection_decide(inspection=drawn, by=inspector, passed=False,
                                       method="review", notes="nobody came")
    entry = Entry.objects.get(technician=alice)  # the failed inspection's entry (R53)
    client.force_login(inspector)
    refused = {
        "complaints": reverse("admin:complaints_complaint_changelist"),
        "complaint": reverse("admin:complaints_complaint_change", args=[complaint.pk]),
        "ledger": reverse("admin:assessment_entry_changelist"),
        "entry": reverse("admin:assessment_entry_change", args=[entry.pk]),
        "statement": reverse("admin:assessment_entry_statement"),
        "appeals": reverse("admin:assessment_appeal_changelist"),
        "api complaints": "/api/v1/complaints/",
        "api complaint": f"/api/v1/complaints/{complaint.pk}/",
        "my assessment": reverse("tech:assessment"),  # a technician's own page only (R41)
    }
    for name, url in refused.items():
        response = client.get(url)
        assert response.status_code == 403, (name, response.status_code)
        assert secret not in response.content.decode(errors="replace"), name
    # ... while the inspection list and its decisions stay theirs
    assert client.get(PAGES["list"](drawn)).status_code == 200
    assert client.get("/api/v1/inspections/").status_code == 200
