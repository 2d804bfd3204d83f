"""The hot paths' shortcuts keep the documented behaviour: the order list read by hand-built
SQL renders as the documented serializer and selects as the ORM does, a new Idempotency-Key
costs no lookup, the token is found with one statement, the rate counter expires."""

from __future__ import annotations

import datetime as dt
import json
from urllib.parse import urlencode

import pytest
from django.db import connection
from django.http import QueryDict
from django.test.utils import CaptureQueriesContext

from api import authentication, readers, selectors
from api import serializers as s
from api import services as api_services
from api.models import ApiToken
from tests.api.conftest import Caller
from tests.conftest import make_technician
from workorders.models import State


def _documented(orders):
    """The rows as WorkOrderListItemSerializer renders them (the schema's source)."""
    return json.loads(json.dumps([s.WorkOrderListItemSerializer(o).data for o in orders]))


@pytest.fixture
def mixed_orders(make_order, alice, east):
    nameless = make_technician("nameless", areas=[east])  # display name: the user name
    return [
        make_order(),
        make_order(State.DISPATCHED, technician=alice, kind="repair", external_ref="CC-9"),
        make_order(State.SCHEDULED, technician=nameless, contact_phone="+8613900001111"),
        make_order(State.CANCELLED),
        make_order(kind="repair", preferred_day=None),
    ]


@pytest.mark.parametrize("query", [
    {}, {"ordering": "id"}, {"state": "dispatched,scheduled"}, {"kind": "repair"},
    {"external_ref": "CC-9"}, {"customer_phone": "+8613900001111"}, {"page_size": "2"},
])
def test_the_list_rows_are_what_the_documented_serializer_gives(cc, agent, mixed_orders,
                                                                 query):
    filters = s.OrderFilterSerializer(data=QueryDict(urlencode(query)))
    assert filters.is_valid(), filters.errors
    v = filters.validated_data
    expected = list(selectors.orders_for(agent, v)
                    .order_by("pk" if v["ordering"] == "id" else "-pk")[:v.get("page_size", 50)])
    response = cc.get("work-orders/", **query)
    assert response.status_code == 200, response.body
    assert expected
    assert response.body["results"] == _documented(expected)


def test_a_technician_lists_only_their_own_orders_r41(as_session, alice, mixed_orders):
    response = as_session(alice.user).get("work-orders/")
    own = [o for o in reversed(mixed_orders) if o.technician_id == alice.pk]
    assert response.body["results"] == _documented(own)


def test_the_cursor_pages_match_the_orm_keyset_pages(agent, mixed_orders):
    for descending in (True, False):
        cursor = None
        while True:
            fast = readers.order_list_page(agent, {}, descending=descending, cursor=cursor,
                                           page_size=2)
            orm = selectors.keyset_page(selectors.orders_for(agent, {}), descending=descending,
                                        cursor=cursor, page_size=2)
            assert [row[0] for row in fast.items] == [o.pk for o in orm.items]
            assert fast.next_cursor == orm.next_cursor
            if not fast.next_cursor:
                break
            cursor = fast.next_cursor


def test_a_list_page_costs_two_queries_however_many_rows(cc, mixed_orders):
    cc.get("work-orders/")  # the client's permissions are cached per process
    with CaptureQueriesContext(connection) as queries:
        response = cc.get("work-orders/", page_size=200)
    assert len(response.body["results"]) == len(mixed_orders)
    assert len(queries) == 2, [q["sql"] for q in queries]  # the token, the page


def test_a_new_idempotency_key_is_written_without_being_looked_up_first(cc, intake):
    with CaptureQueriesContext(connection) as queries:
        response = cc.create(intake(), key="new-key-1")
    assert response.status_code == 201
    idempotency = [q["sql"] for q in queries if "api_idempotencykey" in q["sql"]]
    # One statement, the insert with the answer (with the R40 read records before it).
    assert len(idempotency) == 1 and 'INSERT INTO "api_idempotencykey"' in idempotency[0]
    assert not idempotency[0].startswith("SELECT")


def test_the_intake_answer_shows_the_new_timers_without_reading_them_back(cc, intake):
    # R34: a repair starts its 24-hour visit timer at intake.
    with CaptureQueriesContext(connection) as queries:
        response = cc.create(intake(kind="repair", symptoms="no dial tone"), key="k-timers")
    assert response.status_code == 201
    assert "visit" in [t["kind"] for t in response.body["sla"]["timers"]]
    assert [q["sql"] for q in queries if 'FROM "sla_timer" ' in q["sql"]] == []
    again = cc.get(f"work-orders/{response.body['id']}/")
    assert again.body["sla"] == response.body["sla"] | {"timers": [
        t | {"remaining_seconds": again.body["sla"]["timers"][i]["remaining_seconds"]}
        for i, t in enumerate(response.body["sla"]["timers"])]}


def test_a_retry_a_rule_would_refuse_now_still_gets_its_first_answer(cc, intake):
    # R3: the preferred day was today; just after midnight it is in the past, and the key
    # is still remembered (IDEMPOTENCY_TTL_SECONDS, a day).
    import time_machine
    from django.utils import timezone

    from fieldops import clock

    body = intake()
    first = cc.create(body, key="k-day-passed")
    tomorrow = clock.today_local() + dt.timedelta(days=1)
    just_after_midnight = dt.datetime.combine(tomorrow, dt.time(0, 1),
                                              tzinfo=timezone.get_current_timezone())
    with time_machine.travel(just_after_midnight, tick=False):
        again = cc.create(body, key="k-day-passed")
        fresh = cc.create(body, key="k-day-passed-new")
    assert again.status_code == 201 and again["Idempotent-Replayed"] == "true"
    assert again.body == first.body
    assert fresh.status_code in (400, 422)


def test_the_intake_answer_shows_the_first_booking_without_reading_it_back(cc, intake):
    with CaptureQueriesContext(connection) as queries:
        response = cc.create(intake(), key="k-booking")
    assert response.body["appointment"]["precision"] == "day"
    assert response.body["appointment"]["status"] == "booked"
    rows_read = [q["sql"] for q in queries
                 if q["sql"].startswith('SELECT "appointments_appointment"."id", ')]
    assert rows_read == []


def test_a_retry_is_answered_even_if_its_body_would_no_longer_pass(cc, intake, east):
    body = intake()
    first = cc.create(body, key="k-renamed-area")
    east.code = "BJ-DC-99"  # the area's code changed since: the body names an unknown area
    east.save()
    again = cc.create(body, key="k-renamed-area")
    assert again.status_code == 201 and again["Idempotent-Replayed"] == "true"
    assert again.body == first.body


def test_a_new_body_that_does_not_pass_is_still_a_400(cc, intake):
    response = cc.create(intake(area="NOPE"), key="k-bad-area")
    assert response.status_code == 400
    assert response.body["errors"][0]["field"] == "area"


def test_the_token_is_read_with_its_client_and_user_in_one_statement(call_centre):
    token, plain = api_services.api_token_issue(client=call_centre, label="night shift")
    with CaptureQueriesContext(connection) as queries:
        found = authentication.token_by_prefix(token.prefix)
    assert len(queries) == 1
    orm = ApiToken.objects.select_related("client__user").get(pk=token.pk)
    assert found is not None
    for mine, theirs in ((found, orm), (found.client, orm.client),
                         (found.client.user, orm.client.user)):
        fields = type(theirs)._meta.concrete_fields
        assert ([getattr(mine, f.attname) for f in fields]
                == [getattr(theirs, f.attname) for f in fields])
    assert authentication.token_by_prefix("nosuchprefix") is None
    assert Caller(plain).get("me/").status_code == 200


@pytest.mark.redis
def test_the_rate_counter_is_one_round_trip_and_expires(call_centre):
    from django.core.cache import caches

    from api import throttling

    key = f"{throttling.NAMESPACE}:probe"
    assert [throttling.count_request(key) for _ in range(3)] == [1, 2, 3]
    assert caches["default"].incr(key) == 4  # the cache's own counter: shared with it
    backend = caches["default"]
    client = backend._cache.get_client(write=True)
    assert 0 < client.ttl(backend.make_and_validate_key(key)) <= 2 * throttling.WINDOW_SECONDS


VALUES = ["scheduled", "accepted,dispatched", "closed,,parked", "nope", "Scheduled", "",
          " ", "install", "repair", "at_risk", "breached", "-id", "id", "0", "1", "7", "007",
          "200", "201", "-3", " 5", "5.0", "٥", "1_0", str(2**62), str(2**62 + 1),
          "BJ-DC-01", " BJ-DC-01", "x" * 32, "x" * 33, "x" * 64, "x" * 65, "x" * 201,
          "a\x00b", "13812345678", "aTQ", "2026-11-20T08:00:00+08:00"]
NAMES = ["state", "kind", "area", "technician", "customer_phone", "account", "external_ref",
         "sla_status", "ordering", "page_size", "cursor", "created_after", "typo"]


def _check_fast_reader_agrees(pairs):
    from api.filters import order_filters

    query = QueryDict(mutable=True)
    for name, values in pairs:
        query.setlist(name, values)
    fast = order_filters(query)
    if fast is None:
        return  # the serializer decides: nothing to compare
    form = s.OrderFilterSerializer(data=query)
    assert form.is_valid(), (dict(query.lists()), form.errors)
    assert dict(form.validated_data) == fast


def test_the_fast_query_reader_agrees_with_the_serializer_on_common_queries():
    for pairs in ([], [("state", ["scheduled"]), ("area", ["BJ-DC-01"]), ("page_size", ["20"])],
                  [("state", ["accepted", "dispatched,closed"]), ("ordering", ["id"])],
                  [("cursor", ["aTQ"]), ("technician", ["007"]), ("kind", ["repair"])]):
        _check_fast_reader_agrees(pairs)


def test_the_fast_query_reader_agrees_with_the_serializer_on_generated_queries():
    from hypothesis import given, settings
    from hypothesis import strategies as st

    pairs = st.lists(st.tuples(st.sampled_from(NAMES), st.lists(
        st.one_of(st.sampled_from(VALUES), st.text(max_size=6)), min_size=1, max_size=3)),
        max_size=4, unique_by=lambda p: p[0])

    @settings(max_examples=400, deadline=None)
    @given(pairs)
    def check(generated):
        _check_fast_reader_agrees(generated)

    check()


def test_active_webhook_endpoints_are_the_orm_ones_in_the_same_order(call_centre, reporting):
    from api.models import WebhookEndpoint

    def endpoint(client, url, types, active=True):
        return WebhookEndpoint.objects.create(client=client, url=url, event_types=types,
                                              is_active=active, secret="whsec_x")

    endpoint(reporting, "https://bi.example/hook", ["order.created"])
    endpoint(call_centre, "https://cc.example/b", [])
    endpoint(call_centre, "https://cc.example/a", ["sla.breached", "order.updated"])
    endpoint(call_centre, "https://cc.example/off", [], active=False)
    orm = list(WebhookEndpoint.objects.filter(is_active=True, client__is_active=True))
    mine = selectors.active_webhook_endpoints()
    fields = WebhookEndpoint._meta.concrete_fields
    assert ([[getattr(e, f.attname) for f in fields] for e in mine]
            == [[getattr(e, f.attname) for f in fields] for e in orm])
    assert mine[0].url == "https://cc.example/b"  # by client name, then id
    reporting.is_active = False
    reporting.save()
    assert "https://bi.example/hook" not in [e.url for e in selectors.active_webhook_endpoints()]


def test_the_list_page_is_planned_once_per_connection(cc, mixed_orders):
    """Planning the page cost PostgreSQL more than reading it: the page is a prepared
    statement of the connection, the same answers every time."""
    pages = [cc.get("work-orders/", state="accepted", page_size=2) for _ in range(7)]
    assert all(p.body == pages[0].body for p in pages)
    with CaptureQueriesContext(connection) as queries:
        cc.get("work-orders/", state="accepted", page_size=2)
    # Django's query log shows the page with its values, as for any other statement.
    assert queries[-1]["sql"].startswith("WITH page AS") and "'accepted'" in queries[-1]["sql"]
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM pg_prepared_statements "
                       "WHERE statement LIKE 'WITH page AS%%'")
        assert cursor.fetchone()[0] >= 1


def test_an_intake_writes_what_it_puts_off_with_its_last_statement(cc, intake):
    """The facts mark (R39) and the order's place go with the key row's statement: both
    written when the intake is answered, neither when a rule refuses it."""
    from dashboards.models import StaleFact
    from planning.models import OrderLocation

    with CaptureQueriesContext(connection) as queries:
        response = cc.create(intake(), key="k-later")
    assert response.status_code == 201
    last = [q["sql"] for q in queries if 'INSERT INTO "api_idempotencykey"' in q["sql"]]
    assert len(last) == 1 and "dashboards_stalefact" in last[0]
    assert "planning_orderlocation" in last[0]
    order_id = response.body["id"]
    assert StaleFact.objects.filter(order_id=order_id).exists()
    assert OrderLocation.objects.filter(order_id=order_id).exists()
    marks, places = StaleFact.objects.count(), OrderLocation.objects.count()
    refused = cc.create(intake(preferred_day="2000-01-01"), key="k-later-refused")
    assert refused.status_code in (400, 422)
    assert (StaleFact.objects.count(), OrderLocation.objects.count()) == (marks, places)


def test_an_intake_for_a_known_customer_reuses_the_oldest_record(cc, intake):
    from workorders.models import Customer, WorkOrder

    first = cc.create(intake(customer={"name": "王芳", "phone": "13911112222"}))
    second = cc.create(intake(customer={"name": "王芳", "phone": "13911112222"}))
    other = cc.create(intake(customer={"name": "王芳", "phone": "13911113333"}))
    orders = WorkOrder.objects.in_bulk([first.body["id"], second.body["id"],
                                        other.body["id"]])
    assert orders[first.body["id"]].customer_id == orders[second.body["id"]].customer_id
    assert orders[other.body["id"]].customer_id != orders[first.body["id"]].customer_id
    assert Customer.objects.filter(name="王芳").count() == 2
    assert second.body["customer"] == first.body["customer"]
