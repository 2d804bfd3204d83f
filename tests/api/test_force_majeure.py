"""Force majeure in the API (R50): a dispatcher declares for an area and a range (each
customer texted once, R15), a technician for their own order (R41), a supervisor decides
once; bad input is refused with problem+json naming the field, nothing written. Who may:
tests/api/test_roles.py."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
import time_machine

from notifications.models import Notification
from sla.exemptions import Exemption, ExemptionOrder, ExemptionState
from workorders.models import State

pytestmark = pytest.mark.django_db

SH = ZoneInfo("Asia/Shanghai")
T0 = dt.datetime(2026, 11, 24, 9, 0, tzinfo=SH)


@pytest.fixture
def at_t0():
    with time_machine.travel(T0, tick=False) as traveller:
        yield traveller


def declaration(**overrides):
    body = {"kind": "weather", "reason": "暴雨, 道路积水",
            "starts_at": (T0 - dt.timedelta(hours=2)).isoformat(),
            "ends_at": T0.isoformat()}
    body.update(overrides)
    return {k: v for k, v in body.items() if v is not None}


def key(name: str) -> dict[str, str]:
    return {"Idempotency-Key": name}


def test_a_dispatcher_declares_for_an_area_and_a_supervisor_approves(
        at_t0, make_order, alice, east, dispatcher, supervisor, as_session):
    # R50, R15: the area's open orders are affected, each customer texted once
    first = make_order(State.SCHEDULED, technician=alice)
    second = make_order(State.DISPATCHED, technician=alice)
    dora = as_session(dispatcher)
    made = dora.post("force-majeure/", declaration(area=east.code), headers=key("fm-1"))
    assert made.status_code == 201, made.body
    assert made.body["state"] == "declared" and made.body["area"] == east.code
    assert made.body["orders_affected"] == 2 and made.body["declared_by"] == "Dora Diao"
    texts = Notification.objects.filter(kind__startswith="force_majeure")
    assert sorted(texts.values_list("order_id", flat=True)) == sorted([first.pk, second.pk])
    again = dora.post("force-majeure/", declaration(area=east.code), headers=key("fm-1"))
    assert again.status_code == 201 and again["Idempotent-Replayed"] == "true"
    assert Exemption.objects.count() == 1 and texts.count() == 2
    listed = dora.get("force-majeure/", state="declared")
    assert [r["id"] for r in listed.body["results"]] == [made.body["id"]]
    assert dora.get("force-majeure/", order=first.pk).body["results"][0]["id"] == made.body["id"]
    sam = as_session(supervisor)
    decided = sam.post(f"force-majeure/{made.body['id']}/decision/",
                       {"approve": True, "reason": "气象局红色预警"})
    assert decided.status_code == 200, decided.body
    assert decided.body["state"] == "approved" and decided.body["decided_by"] == "Sam Banzhang"
    twice = sam.post(f"force-majeure/{made.body['id']}/decision/",
                     {"approve": False, "reason": "改主意"})
    assert twice.status_code == 422 and twice.body["errors"][0]["field"] == "state"
    assert Exemption.objects.get().state == ExemptionState.APPROVED


def test_a_technician_declares_for_their_own_order_only(at_t0, make_order, alice, bob,
                                                       as_session):
    # R41, R50
    own = make_order(State.SCHEDULED, technician=alice)
    made = as_session(alice.user).post("force-majeure/", declaration(order=own.pk),
                                       headers=key("alice-1"))
    assert made.status_code == 201 and made.body["order"] == own.pk
    other = as_session(bob.user).post("force-majeure/", declaration(order=own.pk),
                                      headers=key("bob-1"))
    assert other.status_code == 422 and other.body["errors"][0]["field"] == "order"
    assert Exemption.objects.count() == 1


@pytest.mark.parametrize(("body", "status", "field"), [
    (declaration(), 422, "area"),  # neither an order nor an area
    (declaration(area="NOWHERE"), 422, "area"),
    (declaration(area="{east}", starts_at=(T0 + dt.timedelta(hours=1)).isoformat(),
                 ends_at=(T0 + dt.timedelta(hours=3)).isoformat()), 422, "starts_at"),
    (declaration(area="{east}", starts_at=(T0 - dt.timedelta(days=5)).isoformat()),
     422, "ends_at"),  # longer than the policy allows
    (declaration(area="{east}", ends_at=(T0 - dt.timedelta(hours=3)).isoformat()),
     422, "ends_at"),
    (declaration(area="{east}", kind="alien_invasion"), 400, "kind"),
    (declaration(area="{east}", reason=""), 400, "reason"),
    (declaration(area="{east}", ends_at=None), 400, "ends_at"),
    (declaration(area="{east}", colour="red"), 400, "colour"),
])
def test_bad_declarations_are_refused_naming_the_field(at_t0, make_order, alice, east,
                                                       dispatcher, as_session, body, status,
                                                       field):
    # R50: a clear message naming the field; nothing half-written, nobody texted
    make_order(State.SCHEDULED, technician=alice)
    body = {k: (east.code if v == "{east}" else v) for k, v in body.items()}
    answer = as_session(dispatcher).post("force-majeure/", body, headers=key("bad"))
    assert answer.status_code == status, answer.body
    assert answer["Content-Type"] == "application/problem+json"
    assert field in [e["field"] for e in answer.body["errors"]], answer.body
    assert answer.body["detail"]
    assert not Exemption.objects.exists() and not ExemptionOrder.objects.exists()
    assert not Notification.objects.filter(kind__startswith="force_majeure").exists()


def test_a_declaration_needs_an_idempotency_key(at_t0, east, dispatcher, as_session):
    answer = as_session(dispatcher).post("force-majeure/", declaration(area=east.code))
    assert answer.status_code == 400 and answer.body["code"] == "idempotency_key_missing"
    assert not Exemption.objects.exists()
