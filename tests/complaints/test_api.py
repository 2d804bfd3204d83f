"""R51 through the API: record (idempotent, problem+json on a bad tier, nothing written),
detail reads recorded (R40), handling and closing, and technicians kept out."""

from __future__ import annotations

import pytest
from django.test import Client

from api import services as api_services
from api.models import ApiClient, ClientRole
from complaints.models import Complaint, ComplaintDeadline
from workorders.models import PiiAccess, WorkOrderEvent

from .conftest import COMPLAINT_TEXT

pytestmark = pytest.mark.django_db


def token_client(role: str = ClientRole.CALL_CENTRE) -> tuple[Client, dict[str, str]]:
    api_client: ApiClient = api_services.api_client_create(name=f"crm-{role}", role=role)
    _row, plain = api_services.api_token_issue(client=api_client)
    return Client(), {"Authorization": f"Bearer {plain}"}


def post(client: Client, url: str, body: dict, headers: dict, key: str | None = None):
    extra = {**headers, **({"Idempotency-Key": key} if key else {})}
    return client.post(url, body, content_type="application/json", headers=extra)


def test_the_call_centre_records_a_complaint_once_per_key(completed_order):
    # R51: recorded through the API, at most once per Idempotency-Key
    client, headers = token_client()
    body = {"tier": "escalated", "channel": "phone", "text": COMPLAINT_TEXT,
            "order": completed_order.pk}
    first = post(client, "/api/v1/complaints/", body, headers, key="c-1")
    assert first.status_code == 201, first.content
    data = first.json()
    assert data["tier"] == "escalated" and data["text"] == COMPLAINT_TEXT
    assert {d["kind"] for d in data["deadlines"]} == {"response", "resolution"}
    assert all(d["words"] for d in data["deadlines"])
    again = post(client, "/api/v1/complaints/", body, headers, key="c-1")
    assert again.status_code == 201 and again["Idempotent-Replayed"] == "true"
    assert again.json()["id"] == data["id"]
    assert Complaint.objects.count() == 1


def test_a_bad_tier_is_a_clear_422_and_nothing_is_written(completed_order):
    # R51 (bad input)
    client, headers = token_client()
    events = WorkOrderEvent.objects.count()
    response = post(client, "/api/v1/complaints/",
                    {"tier": "angry", "channel": "phone", "text": "x",
                     "order": completed_order.pk}, headers, key="c-2")
    assert response.status_code == 422
    assert response["Content-Type"].startswith("application/problem+json")
    problem = response.json()
    assert problem["errors"][0]["field"] == "tier"
    for tier in ("complaint", "escalated", "regulator"):
        assert tier in problem["detail"]
    assert not Complaint.objects.exists() and not ComplaintDeadline.objects.exists()
    assert WorkOrderEvent.objects.count() == events


def test_every_read_of_a_complaint_is_recorded(completed_order, record, agent):
    # R51, R40: each detail read is attributable
    complaint = record(completed_order)
    client = Client()
    client.force_login(agent)
    for _ in range(2):
        response = client.get(f"/api/v1/complaints/{complaint.pk}/")
        assert response.status_code == 200
        assert response.json()["text"] == COMPLAINT_TEXT
    reads = PiiAccess.objects.filter(user=agent, where="api:complaint", what="complaint")
    assert reads.count() == 2
    assert {(r.order_id, r.customer_id) for r in reads} == {
        (completed_order.pk, completed_order.customer_id)}
    listed = client.get("/api/v1/complaints/")
    assert listed.status_code == 200 and "text" not in listed.json()["results"][0]


def test_the_admin_page_of_a_complaint_records_its_read(completed_order, record, supervisor):
    # R51, R40
    complaint = record(completed_order)
    client = Client()
    client.force_login(supervisor)
    response = client.get(f"/admin/complaints/complaint/{complaint.pk}/change/")
    assert response.status_code == 200
    assert COMPLAINT_TEXT in response.content.decode()
    assert PiiAccess.objects.filter(user=supervisor, where="admin:complaint").count() == 1


def test_handling_and_closing_through_the_api(completed_order, record, agent, supervisor):
    # R51: contact, solution and compensation; decided; closed on the customer's word
    complaint = record(completed_order)
    client = Client()
    client.force_login(agent)
    url = f"/api/v1/complaints/{complaint.pk}"
    early = post(client, f"{url}/close/", {}, {})
    assert early.status_code == 422 and early.json()["errors"][0]["field"] == "solution"
    handled = post(client, f"{url}/handle/",
                   {"kind": "call", "note": "已致歉", "solution": "退还50元",
                    "compensation": "50.00", "customer_confirmed": True}, {}, key="h-1")
    assert handled.status_code == 200, handled.content
    assert handled.json()["compensation"] == "50.00"
    boss = Client()
    boss.force_login(supervisor)
    decided = post(boss, f"{url}/decide/", {"upheld": True, "note": "属实",
                                             "released_note": "注意收费"}, {})
    assert decided.status_code == 200, decided.content
    twice = post(boss, f"{url}/decide/", {"upheld": False, "note": "改判"}, {})
    assert twice.status_code == 409
    closed = post(client, f"{url}/close/", {"note": "客户满意"}, {})
    assert closed.status_code == 200 and closed.json()["closure"] == "confirmed"


def test_a_technician_cannot_read_complaints_through_the_api(completed_order, record,
                                                           alice_client):
    # R51: no retaliation; the technician concerned has no way to the complainant
    complaint = record(completed_order)
    for url in ("/api/v1/complaints/", f"/api/v1/complaints/{complaint.pk}/"):
        response = alice_client.get(url)
        assert response.status_code in (403, 404)
        assert COMPLAINT_TEXT not in response.content.decode()
    assert not PiiAccess.objects.filter(what="complaint").exists()


def test_a_reporting_client_cannot_read_complaints(completed_order, record):
    complaint = record(completed_order)
    client, headers = token_client(ClientRole.REPORTING)
    response = client.get(f"/api/v1/complaints/{complaint.pk}/", headers=headers)
    assert response.status_code == 403


def test_the_technician_sees_that_a_complaint_exists_and_its_outcome_only(
        completed_order, record, agent, supervisor, alice_client):
    # R51: the order page says a complaint exists and its outcome, never the complainant
    # or their words beyond what the supervisor released
    from complaints import services

    complaint = record(completed_order)
    page = alice_client.get(f"/tech/orders/{completed_order.pk}/").content.decode()
    assert complaint.number in page
    assert COMPLAINT_TEXT not in page
    services.complaint_decide(complaint=complaint, by=supervisor, upheld=True, note="核实属实",
                              released_note="注意收费规范")
    page = alice_client.get(f"/tech/orders/{completed_order.pk}/").content.decode()
    assert "注意收费规范" in page and "核实属实" not in page
    assert COMPLAINT_TEXT not in page
    assert not PiiAccess.objects.filter(what="complaint").exists()
