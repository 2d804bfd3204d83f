"""R51 role matrix: the call-centre records, handles and closes, supervisors decide and
release, technicians see nothing of a complaint but what their order page shows, and
inspectors (R52) nothing at all. Every endpoint and admin page of the complaints app, for
every role; a new one is added to ``ENDPOINTS``."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest

from complaints.models import Complaint, ComplaintStatus

from .. import roles
from .conftest import COMPLAINT_TEXT, settle

pytestmark = pytest.mark.django_db


@dataclass(frozen=True)
class Endpoint:
    name: str
    method: str
    url: str  # {pk}: the complaint, {order}: its order
    body: dict[str, Any] | None = None
    #: Handled and decided first, so that closing it is only a matter of who asks.
    settled: bool = False


ENDPOINTS = [
    Endpoint("api:list", "get", "/api/v1/complaints/"),
    Endpoint("api:detail", "get", "/api/v1/complaints/{pk}/"),
    Endpoint("api:create", "post", "/api/v1/complaints/",
             {"tier": "complaint", "channel": "phone", "text": "又一次投诉", "order": "{order}"}),
    Endpoint("api:handle", "post", "/api/v1/complaints/{pk}/handle/",
             {"kind": "call", "note": "已联系"}),
    Endpoint("api:decide", "post", "/api/v1/complaints/{pk}/decide/",
             {"upheld": False, "note": "不属实"}),
    Endpoint("api:rework", "post", "/api/v1/complaints/{pk}/rework/", {"reason": "返工"}),
    Endpoint("api:close", "post", "/api/v1/complaints/{pk}/close/", {"note": "客户确认"},
             settled=True),
    Endpoint("admin:list", "get", "/admin/complaints/complaint/"),
    Endpoint("admin:detail", "get", "/admin/complaints/complaint/{pk}/change/"),
    Endpoint("admin:add", "get", "/admin/complaints/complaint/add/"),
]

#: Who may: role → endpoint names allowed (everything else is refused).
ALLOWED = {
    "admin": {e.name for e in ENDPOINTS},
    "agent": {"api:list", "api:detail", "api:create", "api:handle", "api:rework",
              "api:close", "admin:list", "admin:detail", "admin:add"},
    # R51: a supervisor decides; closing is the call-centre's, with the customer.
    "supervisor": {"api:list", "api:detail", "api:decide", "admin:list", "admin:detail"},
    # R52, R51: an inspector works inspections and reads no complaint.
    "inspector": set(),
    "dispatcher": set(),
    "technician": set(),
    "other technician": set(),
    "call-centre API client": {"api:list", "api:detail", "api:create", "api:handle",
                               "api:rework", "api:close"},
    "reporting API client": set(),
}


@pytest.fixture
def ways_in(dispatcher, agent, supervisor, inspector, alice, bob) -> dict[str, roles.WayIn]:
    return roles.ways_in(dispatcher=dispatcher, agent=agent, supervisor=supervisor,
                         inspector=inspector, alice=alice, bob=bob,
                         api_clients=("call-centre API client", "reporting API client"))


def _fill(value: Any, complaint: Complaint) -> Any:
    if isinstance(value, str):
        filled = value.format(pk=complaint.pk, order=complaint.order_id)
        return int(filled) if value == "{order}" else filled
    return value


@pytest.mark.parametrize("endpoint", ENDPOINTS, ids=[e.name for e in ENDPOINTS])
def test_the_role_matrix(endpoint, ways_in, completed_order, record, agent, supervisor):
    # R51, R41: each role gets exactly the endpoints of its work
    assert set(ALLOWED) == set(ways_in)
    wrong = []
    for role, way in ways_in.items():
        _user, client, headers = way
        complaint = record(completed_order)
        if endpoint.settled:
            settle(complaint, agent, supervisor)
        url = _fill(endpoint.url, complaint)
        if endpoint.method == "get":
            response = client.get(url, headers=headers)
        else:
            body = {k: _fill(v, complaint) for k, v in (endpoint.body or {}).items()}
            response = roles.post(way, role, url, body)
        allowed = endpoint.name in ALLOWED[role]
        # Let in: anything but a refusal (a rule may still say no: the order of an earlier
        # role's rework is no longer completed); an admin page's 302 is the login page.
        ok = response.status_code not in (302, 401, 403, 404)
        assert response.status_code < 500, (role, response.content[:300])
        if ok != allowed:
            wrong.append(f"{role}: {response.status_code}")
        if not allowed:
            assert COMPLAINT_TEXT not in response.content.decode(errors="replace"), role
        if endpoint.settled:  # R51: the roles allowed really close it; no one else does
            closed = Complaint.objects.get(pk=complaint.pk).status == ComplaintStatus.CLOSED
            if closed != allowed:
                wrong.append(f"{role}: closed={closed}")
    assert not wrong, f"{endpoint.name}: {wrong}"
