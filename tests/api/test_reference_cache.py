"""Reference data (areas, SLA policies and calendars, webhook endpoints) is cached per
process under the reference stamp that the database renews on every write to those tables
(fieldops.refdata): an API request reads the stamp with its token and then no reference
row. Whatever way a change is made (a model save, ``QuerySet.update``, another
connection), the next request sees it; a rolled-back change is never served."""

from __future__ import annotations

import uuid

import psycopg
import pytest
from django.db import connection, transaction
from django.db.models import F
from django.test.utils import CaptureQueriesContext

from api.models import WebhookDelivery, WebhookEndpoint
from dashboards.models import StaleFact
from fieldops import refdata
from planning.models import OrderLocation
from sla.timers import Timer, TimerEvent, TimerRule
from technicians.models import Area
from workorders.models import WorkOrderEvent

#: The statements of one intake through the API (besides the savepoint of the test's
#: transaction): the token with the stamp; the customer found or added, the order and its
#: event (R42), in one; its first booking (R3); and the PII read record (R40) with the
#: idempotency key and the answer, which also writes the facts mark (R39) and the order's
#: place for the ranked dispatch (planning, one upsert). A repair adds its timers with
#: their events (R34), in one.
INTAKE_STATEMENTS = {"install": 4, "repair": 5}


def _statements(queries: CaptureQueriesContext) -> list[str]:
    return [q["sql"] for q in queries.captured_queries
            if not q["sql"].startswith(("SAVEPOINT", "RELEASE SAVEPOINT"))]


@pytest.mark.parametrize("kind", ["install", "repair"])
def test_an_intake_costs_a_pinned_number_of_statements(cc, intake, kind):
    cc.create(intake(kind=kind, symptoms="无法上网"))  # this process's caches are filled
    with CaptureQueriesContext(connection) as queries:
        response = cc.create(intake(kind=kind, symptoms="无法上网"))
    assert response.status_code == 201, response.body
    statements = _statements(queries)
    assert len(statements) <= INTAKE_STATEMENTS[kind], "\n".join(s[:120] for s in statements)
    for table in ("technicians_area", "sla_slapolicy", "sla_businesscalendar",
                  "api_webhookendpoint"):
        assert not [s for s in statements if f'FROM "{table}"' in s or f"FROM {table}" in s]
    if kind == "repair":  # R34: the repair's timers and their events, in one statement
        assert len([s for s in statements if 'INSERT INTO "sla_timer" ' in s]) == 1
        timers = Timer.objects.filter(order_id=response.body["id"])
        assert timers.count() >= 1
        assert TimerEvent.objects.filter(timer__in=timers, kind="started").count() == (
            timers.count())
    order_id = response.body["id"]
    assert WorkOrderEvent.objects.filter(order_id=order_id, action="create").count() == 1
    assert StaleFact.objects.filter(order_id=order_id).exists()  # R39, with the last statement
    assert OrderLocation.objects.filter(order_id=order_id).exists()


def test_me_costs_one_statement(cc):
    cc.get("me/")
    with CaptureQueriesContext(connection) as queries:
        response = cc.get("me/")
    assert response.status_code == 200
    assert len(queries) == 1  # the token, its client and user, the stamp


def test_a_change_made_without_model_signals_is_seen_by_the_next_request(cc, intake, east):
    first = cc.create(intake(kind="repair", symptoms="无法上网"))
    assert first.body["area"]["name"] == "东城片区"
    Area.objects.filter(pk=east.pk).update(name="东城新片区")  # no save(), no signal
    TimerRule.objects.filter(kind="visit").update(target_minutes=F("target_minutes") + 60)
    WebhookEndpoint.objects.bulk_create([WebhookEndpoint(
        client=cc_client(cc), url="https://cc.example/hook", event_types=[],
        secret="whsec_x")])
    assert not WebhookDelivery.objects.exists()
    second = cc.create(intake(kind="repair", symptoms="无法上网"))
    assert second.body["area"]["name"] == "东城新片区"
    timers = {t.order_id: t.target_seconds for t in Timer.objects.filter(kind="visit")}
    assert timers[second.body["id"]] == timers[first.body["id"]] + 3600
    assert WebhookDelivery.objects.filter(event_type="order.created").exists()


def cc_client(cc):
    from api.models import ApiToken

    prefix = cc.headers["Authorization"].split("_")[1]
    return ApiToken.objects.get(prefix=prefix).client


def test_a_rolled_back_change_is_never_served(cc, intake, east):
    cc.create(intake())
    with pytest.raises(RuntimeError), transaction.atomic():
        Area.objects.filter(pk=east.pk).update(name="回滚的名字")
        response = cc.create(intake())
        assert response.body["area"]["name"] == "回滚的名字"  # its own change, seen
        raise RuntimeError
    assert cc.create(intake()).body["area"]["name"] == "东城片区"


def test_every_write_to_a_reference_table_renews_the_stamp(east):
    before = refdata.read()
    assert before is not None
    Area.objects.filter(pk=east.pk).update(name="x")
    after_update = refdata.read()
    WebhookEndpoint.objects.filter(pk=-1).update(url="x")  # a statement touching no row
    assert len({before, after_update, refdata.read()}) == 3


def test_outside_a_request_reference_data_is_read_from_the_database(east):
    from api.selectors import area_by_code

    assert refdata.current() is None
    area_by_code(east.code)
    with CaptureQueriesContext(connection) as queries:
        assert area_by_code(east.code).name == "东城片区"
    assert len(queries) == 1


@pytest.mark.django_db(transaction=True)
def test_a_change_committed_by_another_process_is_seen_by_the_next_request(cc, intake, east):
    assert cc.create(intake()).body["area"]["name"] == "东城片区"
    settings = connection.settings_dict
    with psycopg.connect(host=settings["HOST"] or None, port=settings["PORT"] or None,
                         user=settings["USER"], password=settings["PASSWORD"] or None,
                         dbname=settings["NAME"], autocommit=True) as other:
        other.execute("UPDATE technicians_area SET name = %s WHERE id = %s",
                      ["另一进程改的名", east.pk])
    again = cc.create(intake(customer={"name": "李四", "phone": "13912345678"}),
                      key=str(uuid.uuid4()))
    assert again.body["area"]["name"] == "另一进程改的名"


def test_the_intakes_pii_read_record_is_written_with_its_key_r40(cc, intake):
    from api.models import IdempotencyKey
    from workorders.models import PiiAccess

    response = cc.create(intake(), key="k-pii")
    assert response.status_code == 201
    key = IdempotencyKey.objects.get(key="k-pii")
    assert key.order_id == response.body["id"] and key.response_body == response.body
    read = PiiAccess.objects.get(order_id=response.body["id"])
    assert (read.where, read.user_id) == ("api:order-create", key.user_id)
