"""POST /work-orders/: intake from any channel (R1, R3), once per Idempotency-Key."""

from __future__ import annotations

import datetime as dt

import pytest

from api.models import ClientReference, IdempotencyKey
from appointments.models import Appointment
from fieldops import clock
from workorders.events import OrderAction
from workorders.models import State, WorkOrder, WorkOrderEvent


def test_the_call_centre_creates_an_order_and_the_event_log_names_the_client(cc, intake):
    # R1, R42
    response = cc.create(intake(channel="app", external_ref="CC-1"))
    assert response.status_code == 201, response.body
    order = WorkOrder.objects.get()
    assert response.body["id"] == order.pk and response.body["state"] == State.ACCEPTED
    assert response["Location"] == f"/api/v1/work-orders/{order.pk}/"
    assert response["ETag"] == '"1"'
    assert order.channel == "app" and order.external_ref == "CC-1"
    event = WorkOrderEvent.objects.get(order=order)
    assert event.action == "create" and event.actor_label == "10010 呼叫中心"
    # R3: the first visit is agreed to the day
    assert Appointment.objects.get(order=order).precision == "day"


def test_a_retry_with_the_same_key_returns_the_first_order_not_a_second(cc, intake):
    body = intake()
    first = cc.create(body, key="retry-1")
    again = cc.create(body, key="retry-1")
    assert first.status_code == again.status_code == 201
    assert again.body == first.body
    assert again["Idempotent-Replayed"] == "true"
    assert WorkOrder.objects.count() == 1


def test_the_same_key_with_a_different_body_is_a_422(cc, intake):
    cc.create(intake(), key="k-1")
    response = cc.create(intake(address="另一个地址 1 号"), key="k-1")
    assert response.status_code == 422
    assert response.body["code"] == "idempotency_key_reused"
    assert WorkOrder.objects.count() == 1


def test_key_order_and_spacing_in_the_body_do_not_make_a_different_request(cc, intake):
    import json

    body = intake()
    cc.create(body, key="k-2")
    shuffled = json.dumps(dict(reversed(list(body.items()))), indent=2)
    response = cc.post("work-orders/", raw=shuffled.encode(),
                       headers={"Idempotency-Key": "k-2"})
    assert response.status_code == 201 and response["Idempotent-Replayed"] == "true"


def test_the_replay_is_the_first_answer_even_after_the_order_moved_on(cc, intake, agent):
    from workorders import services

    first = cc.create(intake(), key="k-3")
    order = WorkOrder.objects.get()
    services.work_order_cancel(order=order, by=agent, reason="客户取消")
    again = cc.create(intake(), key="k-3")
    assert again.body["state"] == State.ACCEPTED == first.body["state"]


def test_a_key_is_forgotten_after_its_time_to_live(cc, intake, settings):
    import time_machine

    settings.API_IDEMPOTENCY_TTL_SECONDS = 3600
    start = clock.now()
    with time_machine.travel(start, tick=False):
        cc.create(intake(), key="k-4")
    with time_machine.travel(start + dt.timedelta(hours=2), tick=False):
        response = cc.create(intake(), key="k-4")
    assert response.status_code == 201 and "Idempotent-Replayed" not in response
    assert WorkOrder.objects.count() == 2


def test_creating_needs_an_idempotency_key(cc, intake):
    response = cc.post("work-orders/", intake())
    assert response.status_code == 400
    assert response.body["code"] == "idempotency_key_missing"
    assert not WorkOrder.objects.exists()


def test_a_malformed_idempotency_key_is_refused(cc, intake):
    response = cc.create(intake(), key="x" * 256)
    assert response.status_code == 400
    assert not WorkOrder.objects.exists()


def test_the_call_centre_reference_is_unique_per_client(cc, intake, call_centre):
    first = cc.create(intake(external_ref="CC-9"))
    response = cc.create(intake(external_ref="CC-9"))
    assert response.status_code == 409
    assert response.body["code"] == "duplicate_reference"
    assert response.body["existing_order"] == first.body["id"]
    assert WorkOrder.objects.count() == 1
    assert ClientReference.objects.get().user == call_centre.user


def test_another_client_may_use_the_same_reference(cc, intake, reference_data):
    from api import services as api_services
    from tests.api.conftest import Caller

    other = api_services.api_client_create(name="Other call-centre")
    _t, token = api_services.api_token_issue(client=other)
    assert cc.create(intake(external_ref="SAME")).status_code == 201
    assert Caller(token).create(intake(external_ref="SAME")).status_code == 201


def test_a_broken_rule_is_a_422_with_the_field_and_leaves_nothing(cc, intake):
    # R3: an install needs the day of the first visit, not in the past
    yesterday = (clock.today_local() - dt.timedelta(days=1)).isoformat()
    response = cc.create(intake(preferred_day=yesterday), key="k-5")
    assert response.status_code == 422
    assert response.body["code"] == "rule_violation" and response.body["rule"] == "R3"
    assert response.body["errors"] == [{"field": "preferred_day", "code": "R3",
                                        "message": response.body["detail"]}]
    assert not WorkOrder.objects.exists() and not IdempotencyKey.objects.exists()
    # the corrected request may reuse the key: nothing was remembered
    assert cc.create(intake(), key="k-5").status_code == 201


def test_a_repair_needs_symptoms(cc, intake):
    response = cc.create(intake(kind="repair", preferred_day=None))
    assert response.status_code == 422
    assert response.body["errors"][0]["field"] == "symptoms"


def test_invalid_fields_are_400_with_their_paths(cc, intake):
    body = intake(channel="fax", customer={"name": 7, "phone": "call me"}, area="NOPE",
                  colour="red")
    response = cc.create(body)
    assert response.status_code == 400
    assert response["Content-Type"] == "application/problem+json"
    fields = {e["field"] for e in response.body["errors"]}
    assert fields == {"colour"}  # unknown fields are reported first, alone
    del body["colour"]
    response = cc.create(body)
    fields = {e["field"] for e in response.body["errors"]}
    assert fields == {"channel", "customer.name", "customer.phone", "area"}
    assert not WorkOrder.objects.exists()


def test_unknown_nested_fields_are_refused(cc, intake):
    response = cc.create(intake(customer={"name": "张伟", "phone": "13812345678",
                                          "email": "x@example.com"}))
    assert response.status_code == 400
    assert response.body["errors"][0]["field"] == "customer.email"


def test_wrong_json_types_are_400_not_coerced(cc, intake):
    response = cc.create(intake(preferred_day=20261201, external_ref=123))
    assert response.status_code == 400
    assert {e["field"] for e in response.body["errors"]} == {"preferred_day", "external_ref"}


def test_a_reporting_client_cannot_create(bi, intake):
    response = bi.create(intake())
    assert response.status_code == 403
    assert response.body["code"] == "permission_denied"
    assert not WorkOrder.objects.exists()


def test_a_technician_cannot_create_orders(as_session, alice, intake):
    response = as_session(alice.user).create(intake())
    assert response.status_code == 403
    assert not WorkOrder.objects.exists()


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_identical_requests_racing_create_one_order(reference_data, east, intake):
    """Two connections send the same key at the same moment: one order, two equal answers."""
    from api import services as api_services
    from tests.api.conftest import Caller
    from tests.concurrency import race

    client = api_services.api_client_create(name="racer")
    _t, token = api_services.api_token_issue(client=client)
    body = intake()
    results = race([lambda: Caller(token).create(body, key="race-1") for _ in range(4)])
    statuses = [r.status_code for r in results]
    assert statuses == [201] * 4, [getattr(r, "body", r) for r in results]
    assert WorkOrder.objects.count() == 1
    assert len({r.body["id"] for r in results}) == 1
    assert sum("Idempotent-Replayed" in r for r in results) == 3
    assert WorkOrderEvent.objects.filter(action=OrderAction.CREATE).count() == 1


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_keys_racing_with_one_reference_create_one_order(reference_data, east, intake):
    from api import services as api_services
    from tests.api.conftest import Caller
    from tests.concurrency import race

    client = api_services.api_client_create(name="racer")
    _t, token = api_services.api_token_issue(client=client)
    body = intake(external_ref="REF-RACE")
    results = race([lambda i=i: Caller(token).create(body, key=f"race-{i}")
                     for i in range(3)])
    assert sorted(r.status_code for r in results) == [201, 409, 409]
    assert WorkOrder.objects.count() == 1


def test_expired_keys_are_purged_and_their_orders_stay(cc, intake, settings):
    import time_machine

    from api.tasks import purge_idempotency_keys

    settings.API_IDEMPOTENCY_TTL_SECONDS = 3600
    start = clock.now()
    with time_machine.travel(start, tick=False):
        cc.create(intake(), key="old")
    with time_machine.travel(start + dt.timedelta(minutes=90), tick=False):
        cc.create(intake(), key="new")
        assert purge_idempotency_keys() == 1
        assert purge_idempotency_keys() == 0  # run it twice: nothing more
    assert list(IdempotencyKey.objects.values_list("key", flat=True)) == ["new"]
    assert WorkOrder.objects.count() == 2


def test_hidden_characters_in_a_name_phone_or_address_are_refused_by_name(cc, intake):
    # Defect: a customer name with a right-to-left override, an address with a zero-width
    # space or a phone with a NUL were stored as sent.
    response = cc.create(intake(customer={"name": "张\u202e伟", "phone": "13812345678",
                                          "alt_phone": "138\u200b12345678"},
                                address="北京市\u200b东城区", external_ref="CC\x00-9"))
    assert response.status_code == 400, response.body
    errors = {e["field"]: e["message"] for e in response.body["errors"]}
    assert set(errors) == {"customer.name", "customer.alt_phone", "address", "external_ref"}
    assert "U+202E RIGHT-TO-LEFT OVERRIDE" in errors["customer.name"]
    codes = {e["field"]: e["code"] for e in response.body["errors"]}
    assert codes["customer.name"] == codes["address"] == "hidden_character"
    assert "U+200B ZERO WIDTH SPACE" in errors["address"]
    assert not WorkOrder.objects.exists()


def test_hidden_characters_are_removed_from_free_text(cc, intake):
    response = cc.create(intake(kind="repair", preferred_day=None,
                                symptoms="光猫\u202e不亮\u200b\n从昨天起", notes="\x00备注\ufeff"))
    assert response.status_code == 201, response.body
    order = WorkOrder.objects.get()
    assert order.symptoms == "光猫不亮\n从昨天起" and order.notes == "备注"


def test_a_formatted_phone_number_is_stored_in_one_form_and_found_by_the_filter(cc, intake):
    # docs/api.md "Phone numbers": written as people say it, kept as 13812345678
    body = intake(customer={"name": "张伟", "phone": "+86 138-1234-5678",
                            "alt_phone": "(010) 6552 9988"})
    response = cc.create(body)
    assert response.status_code == 201, response.body
    order = WorkOrder.objects.select_related("customer").get()
    assert order.customer.phone == "13812345678" and order.contact_phone == "13812345678"
    assert order.customer.alt_phone == "01065529988"
    for written in ("138 1234 5678", "+8613812345678", "13812345678"):
        found = cc.get("work-orders/", customer_phone=written)
        assert found.status_code == 200, found.body
        assert [row["id"] for row in found.body["results"]] == [order.pk]


def test_an_impossible_phone_number_is_refused_with_what_to_write(cc, intake):
    response = cc.create(intake(customer={"name": "张伟", "phone": "1381234567"}))
    assert response.status_code == 400
    error = response.body["errors"][0]
    assert error["field"] == "customer.phone" and error["code"] == "phone"
    assert "13812345678" in error["message"]
    assert not WorkOrder.objects.exists()
    found = cc.get("work-orders/", customer_phone="12345")
    assert found.status_code == 400 and found.body["errors"][0]["code"] == "phone"
