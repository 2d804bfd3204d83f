"""The role matrix of the quality and exception endpoints (R50, R52; R41): every endpoint
for every role, by session (staff and technicians) and by token (API clients). Inspectors
and supervisors work the inspections; dispatchers declare force majeure (a technician for
their own order), supervisors decide it. A new endpoint is added to ``ENDPOINTS``.
Complaints have their own matrix (tests/complaints/test_roles.py)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest

from fieldops import clock
from quality import services as quality_services
from quality.models import Inspection, InspectionStatus
from sla import force_majeure
from sla.exemptions import Exemption, ExemptionState
from workorders.models import State

from .. import roles

pytestmark = pytest.mark.django_db


@dataclass(frozen=True)
class Endpoint:
    name: str
    method: str
    url: str  # {inspection}, {exemption}, {order}, {area}: filled per call
    body: dict[str, Any] | None = None


ENDPOINTS = [
    Endpoint("inspections", "get", "/api/v1/inspections/"),
    Endpoint("inspection-decision", "post", "/api/v1/inspections/{inspection}/decision/",
             {"passed": True}),
    Endpoint("force-majeure", "get", "/api/v1/force-majeure/"),
    Endpoint("declare-for-area", "post", "/api/v1/force-majeure/",
             {"kind": "weather", "reason": "暴雨", "area": "{area}"}),
    Endpoint("declare-for-order", "post", "/api/v1/force-majeure/",
             {"kind": "road_closure", "reason": "道路封闭", "order": "{order}"}),
    Endpoint("force-majeure-decision", "post", "/api/v1/force-majeure/{exemption}/decision/",
             {"approve": False, "reason": "不属实"}),
]
NAMES = {e.name for e in ENDPOINTS}
READERS = {"force-majeure"}  # sla.view_exemption: the office's read roles

#: Who may: role → endpoint names allowed (everything else is refused).
ALLOWED = {
    "admin": NAMES,
    "agent": READERS,
    "supervisor": {"inspections", "inspection-decision", "force-majeure",
                   "force-majeure-decision"},
    # R52: an inspector works the inspection list; reads force majeure, decides nothing else
    "inspector": {"inspections", "inspection-decision", "force-majeure"},
    "dispatcher": {"force-majeure", "declare-for-area", "declare-for-order"},
    # R41: the order's technician declares for it, nothing more
    "technician": {"declare-for-order"},
    "other technician": set(),
    "call-centre API client": READERS,
    "reporting API client": READERS,
    "dispatcher API client": {"force-majeure", "declare-for-area", "declare-for-order"},
}


@pytest.fixture
def ways_in(dispatcher, agent, supervisor, inspector, alice, bob) -> dict[str, roles.WayIn]:
    return roles.ways_in(dispatcher=dispatcher, agent=agent, supervisor=supervisor,
                         inspector=inspector, alice=alice, bob=bob)


@pytest.fixture
def scene(make_order, alice, east, dispatcher, inspector) -> Callable[[str], dict[str, Any]]:
    """``scene(url)``: what the URL needs; an inspection or a declaration is made anew once
    a call decided it (they are decided once), alice's scheduled order is shared."""
    shared: dict[str, Any] = {}

    def booked() -> int:
        if "order" not in shared:
            shared["order"] = make_order(State.SCHEDULED, technician=alice).pk
        return shared["order"]

    def make(url: str) -> dict[str, Any]:
        objects: dict[str, Any] = {"area": east.code, "order": booked()}
        open_one = Inspection.objects.filter(status=InspectionStatus.OPEN).first()
        exemption = Exemption.objects.filter(state=ExemptionState.DECLARED).first()
        if "{inspection}" in url and open_one is not None:
            objects["inspection"] = open_one.pk
        elif "{inspection}" in url:
            done = make_order(State.COMPLETED, technician=alice)
            objects["inspection"] = quality_services.inspection_open(order=done,
                                                                     by=inspector).pk
        if "{exemption}" in url and exemption is not None:
            objects["exemption"] = exemption.pk
        elif "{exemption}" in url:
            now = clock.now()
            objects["exemption"] = force_majeure.declare(
                by=dispatcher, kind="weather", reason="暴雨", area=east,
                starts_at=now - dt.timedelta(hours=1), ends_at=now).pk
        return objects

    return make


def _fill(value: Any, objects: dict[str, Any]) -> Any:
    if isinstance(value, str) and "{" in value:
        filled = value.format(**objects)
        return int(filled) if value == "{order}" else filled
    return value


def _refused(endpoint: Endpoint, response: Any) -> bool:
    if response.status_code in (302, 401, 403, 404):
        return True
    # R41: another technician's order is as if it did not exist (a 422 naming ``order``).
    return (endpoint.name == "declare-for-order" and response.status_code == 422
            and [e.get("field") for e in response.json()["errors"]] == ["order"])


@pytest.mark.parametrize("endpoint", ENDPOINTS, ids=[e.name for e in ENDPOINTS])
def test_the_role_matrix(endpoint, ways_in, scene):
    # R50, R52, R41: each role gets exactly the endpoints of its work
    assert set(ALLOWED) == set(ways_in)
    wrong = []
    now = clock.now()
    for role, way in ways_in.items():
        _user, client, headers = way
        objects = scene(endpoint.url)
        url = _fill(endpoint.url, objects)
        if endpoint.method == "get":
            response = client.get(url, headers=headers)
        else:
            body = {k: _fill(v, objects) for k, v in (endpoint.body or {}).items()}
            if endpoint.name.startswith("declare"):
                body |= {"starts_at": (now - dt.timedelta(hours=1)).isoformat(),
                         "ends_at": now.isoformat()}
            response = roles.post(way, role, url, body)
        assert response.status_code < 500, (role, response.content[:300])
        if (not _refused(endpoint, response)) != (endpoint.name in ALLOWED[role]):
            wrong.append(f"{role}: {response.status_code}")
    assert not wrong, f"{endpoint.name}: {wrong}"
