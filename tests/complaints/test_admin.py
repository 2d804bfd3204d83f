"""R51 in the admin: the call-centre records a complaint there too (through the service:
deadlines armed, the order's log written), a supervisor decides it once and releases a note;
the page shows the deadlines in words."""

from __future__ import annotations

import pytest
from django.test import Client

from assessment.models import Entry, EntryKind
from complaints.models import Complaint, Outcome
from workorders.events import OrderAction
from workorders.models import WorkOrderEvent

from .conftest import COMPLAINT_TEXT

pytestmark = pytest.mark.django_db


def logged_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_the_call_centre_records_a_complaint_in_the_admin(completed_order, agent):
    # R51
    response = logged_in(agent).post("/admin/complaints/complaint/add/", {
        "tier": "regulator", "channel": "regulator", "text": COMPLAINT_TEXT,
        "order": completed_order.pk, "customer": ""})
    assert response.status_code == 302, response.content.decode()[:2000]
    complaint = Complaint.objects.get()
    assert (complaint.customer_id, complaint.recorded_by) == (completed_order.customer_id, agent)
    assert complaint.deadlines.count() == 2
    assert WorkOrderEvent.objects.filter(order=completed_order,
                                         action=OrderAction.RECORD_COMPLAINT).exists()


def test_the_admin_refuses_a_complaint_about_nothing(agent):
    response = logged_in(agent).post("/admin/complaints/complaint/add/", {
        "tier": "complaint", "channel": "phone", "text": "x", "order": "", "customer": ""})
    assert response.status_code == 200
    assert "请说明投诉针对哪张工单或哪位客户" in response.content.decode()  # zh-Hans: the default
    assert not Complaint.objects.exists()


def test_a_supervisor_decides_once_in_the_admin_and_the_deadlines_read_as_words(
        completed_order, record, supervisor, alice):
    # R51 → R53
    complaint = record(completed_order)
    client = logged_in(supervisor)
    url = f"/admin/complaints/complaint/{complaint.pk}/change/"
    page = client.get(url).content.decode()
    assert "响应客户:时限" in page  # the response deadline, in words (zh-Hans)
    response = client.post(url, {"outcome": Outcome.UPHELD, "decision_note": "属实",
                                 "released_note": "注意态度"})
    assert response.status_code == 302
    complaint.refresh_from_db()
    assert (complaint.outcome, complaint.decided_by) == (Outcome.UPHELD, supervisor)
    assert Entry.objects.filter(kind=EntryKind.COMPLAINT_UPHELD, technician=alice).count() == 1
    # changing the outcome afterwards is refused; the released note may change
    client.post(url, {"outcome": Outcome.NOT_UPHELD, "decision_note": "改判",
                      "released_note": "注意态度"})
    complaint.refresh_from_db()
    assert complaint.outcome == Outcome.UPHELD and complaint.decision_note == "属实"
    client.post(url, {"outcome": Outcome.UPHELD, "decision_note": "属实",
                      "released_note": "注意收费"})
    complaint.refresh_from_db()
    assert complaint.released_note == "注意收费"
