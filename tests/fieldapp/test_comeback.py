"""Why an order came back, on the technician's pages (R31 after R29, R51, R52): the order
page says it in plain words and the Today list shows it as a badge, through the real pages.
A complaint's words and the call-centre's reason for the rework never reach the technician
(R51, no retaliation); only the outcome and the note a supervisor released."""

from __future__ import annotations

import datetime as dt

import pytest
from django.urls import reverse

from complaints import services as complaint_services
from complaints.models import ContactKind
from fieldops import clock
from quality import services as quality_services
from workorders.models import State, WorkOrder

from ..quality.helpers import complete

pytestmark = pytest.mark.django_db

POINT = "The photos show this order's site and equipment"
COMPLAINT_TEXT = "师傅态度恶劣, 还多收了50元材料费"
REWORK_REASON = "客户王芳投诉: 师傅骂人"


def pages(client, order):
    today = client.get(reverse("tech:today"), HTTP_ACCEPT_LANGUAGE="en")
    page = client.get(reverse("tech:order", args=[order.pk]), HTTP_ACCEPT_LANGUAGE="en")
    assert today.status_code == page.status_code == 200
    return today.content.decode(), page.content.decode()


def test_a_failed_inspection_says_what_the_inspector_found(make_order, alice, inspector,
                                                          alice_client):
    # R52 → R31
    done = complete(make_order, alice, check_in_at=clock.now() - dt.timedelta(hours=5))
    inspection = quality_services.inspection_open(order=done, by=inspector)
    quality_services.inspection_decide(inspection=inspection, by=inspector, passed=False,
                                       method="review", failed_points=[POINT],
                                       notes="no ONU at the address")
    order = WorkOrder.objects.get(pk=done.pk)
    assert order.state == State.REWORK
    today, page = pages(alice_client, order)
    assert 'data-back="inspection"' in today and "Inspection failed" in today
    assert 'data-back="inspection"' in page
    assert (f"Inspection failed: {POINT}; no ONU at the address".replace("'", "&#x27;")
            in page)


def test_an_upheld_complaint_says_so_and_nothing_of_the_complainant(make_order, alice,
                                                                   agent, supervisor,
                                                                   alice_client):
    # R51: the outcome and the released note; not the text, not the agent's reason
    order = make_order(State.COMPLETED, technician=alice, customer_name="王芳")
    complaint = complaint_services.complaint_record(by=agent, tier="complaint",
                                                    channel="phone", text=COMPLAINT_TEXT,
                                                    order=order)
    complaint_services.complaint_handle(complaint=complaint, by=agent, kind=ContactKind.CALL,
                                        note="已致电客户道歉")
    complaint_services.complaint_decide(complaint=complaint, by=supervisor, upheld=True,
                                        note="核实属实, 录音为证",
                                        released_note="注意服务态度")
    complaint_services.complaint_reopen_rework(complaint=complaint, by=agent,
                                               reason=REWORK_REASON)
    order = WorkOrder.objects.get(pk=order.pk)
    assert order.state == State.REWORK
    today, page = pages(alice_client, order)
    assert 'data-back="complaint"' in today
    assert "Complaint about the visit, upheld" in today
    assert "Complaint about the visit, upheld" in page and "注意服务态度" in page
    for html in (today, page):
        for secret in (COMPLAINT_TEXT, REWORK_REASON, "核实属实", "已致电客户道歉"):
            assert secret not in html


def test_a_complaint_not_yet_decided_says_only_that(make_order, alice, agent, alice_client):
    # R51: rework sent before the supervisor decided
    order = make_order(State.COMPLETED, technician=alice)
    complaint = complaint_services.complaint_record(by=agent, tier="escalated",
                                                    channel="phone", text=COMPLAINT_TEXT,
                                                    order=order)
    complaint_services.complaint_reopen_rework(complaint=complaint, by=agent,
                                               reason=REWORK_REASON)
    _today, page = pages(alice_client, WorkOrder.objects.get(pk=order.pk))
    assert "Complaint about the visit, not decided yet" in page
    assert COMPLAINT_TEXT not in page and REWORK_REASON not in page


def test_an_unsatisfied_callback_says_the_customer_was_not_satisfied(make_order, alice,
                                                                    alice_client):
    # R29 → R31
    order = make_order(State.REWORK, technician=alice)
    today, page = pages(alice_client, order)
    assert 'data-back="survey"' in today and "Customer not satisfied at callback" in today
    assert "Customer not satisfied at callback" in page


def test_an_order_not_in_rework_has_no_reason(make_order, alice, alice_client):
    order = make_order(State.SCHEDULED, technician=alice)
    today, page = pages(alice_client, order)
    assert "data-back" not in today and "data-back" not in page


def test_the_timeline_does_not_give_the_technician_the_complaints_reason(
        make_order, alice, agent, alice_client, client):
    # R51: the reason the call-centre wrote when the complaint sent the order back may
    # quote the complainant; the order's technician reads the event without it
    order = make_order(State.COMPLETED, technician=alice)
    complaint = complaint_services.complaint_record(by=agent, tier="complaint",
                                                    channel="phone", text=COMPLAINT_TEXT,
                                                    order=order)
    complaint_services.complaint_reopen_rework(complaint=complaint, by=agent,
                                               reason=REWORK_REASON)
    url = f"/api/v1/work-orders/{order.pk}/timeline/"
    seen = alice_client.get(url)
    assert seen.status_code == 200
    rework = [e for e in seen.json()["events"] if e["action"] == "start_rework"]
    assert len(rework) == 1 and rework[0]["reason"] == ""
    assert REWORK_REASON not in seen.content.decode() and COMPLAINT_TEXT not in (
        seen.content.decode())
    client.force_login(agent)  # the call-centre reads its own words
    assert REWORK_REASON in client.get(url).content.decode()
