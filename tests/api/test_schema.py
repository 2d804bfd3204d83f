"""The OpenAPI schema: committed, current, and honoured by the live API (schemathesis)."""

from __future__ import annotations

import contextlib
import itertools
import json
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from django.conf import settings
from django.core.management import call_command
from hypothesis import HealthCheck, Phase
from hypothesis import settings as hypothesis_settings
from schemathesis.core.parameters import ParameterLocation
from schemathesis.specs.openapi.checks import ignored_auth, positive_data_acceptance

from api import services as api_services
from api.models import ClientRole
from fieldops import clock
from technicians.models import Area
from tests.conftest import make_technician
from workorders.models import State

COMMITTED = Path(settings.BASE_DIR) / "docs" / "openapi.yaml"
REGENERATE = "python manage.py spectacular --lang en --file docs/openapi.yaml"


def test_the_committed_schema_is_the_generated_one(tmp_path):
    fresh = tmp_path / "openapi.yaml"
    call_command("spectacular", "--lang", "en", "--file", str(fresh))
    assert fresh.read_text() == COMMITTED.read_text(), (
        f"docs/openapi.yaml is stale; run `{REGENERATE}` and commit it")


def test_the_live_schema_and_the_docs_page_are_served(client, reference_data):
    schema = client.get("/api/v1/schema/", headers={"Accept-Language": "en"})
    assert schema.status_code == 200 and b"work_orders_create" in schema.content
    assert client.get("/api/v1/docs/").status_code == 200


# --- Schemathesis against the live WSGI app -------------------------------------------------

#: What schema-valid data may get besides 2xx, beside schemathesis' own list: 412, an
#: If-Match that is not the order's version now, and 422, a rule of the service refusing
#: it (a day in the past, a webhook URL on a private address): no schema can say either.
ACCEPTED = ["2xx", "401", "403", "404", "409", "412", "422", "429"]


#: What a missing required header may get: schemathesis' own list, and 428 (RFC 6585,
#: "Precondition Required": the documented answer to an action on an order without its
#: If-Match, R4). Only a run whose ids reach real orders meets it: the dispatcher's below.
MISSING_HEADER = ["400", "401", "403", "406", "415", "422", "428"]


#: Schema-valid values the server can't know without looking: an opaque cursor (only a
#: ``next`` link's is valid), an area code (``GET /areas/`` lists them) and a technician's
#: id (``GET /technicians/`` lists them; a dispatch to a made-up one is a 400 naming it).
LOOKED_UP = {"cursor", "area", "technician"}


#: Refused by design in schema-valid strings: a control or invisible character in a name,
#: a phone number, an address or a URL (issue 18 #4, ``fieldops.text``). The rule goes by
#: Unicode category, which the schema's regular expressions cannot say; docs/api.md does.
#: And a phone number that cannot exist (``fieldops.phones``: the numbering plan of each
#: region, which no regular expression of a sane size says either). A NUL is one of those
#: hidden characters; DRF's own check names it too (``null_characters_not_allowed``).
REFUSED_CODES = {"hidden_character", "phone", "null_characters_not_allowed"}


def positive_data_acceptance_but_lookups(ctx, response, case):
    """Schemathesis' positive_data_acceptance, except a 400 whose every error names a field
    in ``LOOKED_UP`` (a made-up cursor or area code) or has a code in ``REFUSED_CODES``."""
    if response.status_code == 400:
        errors = (response.json() or {}).get("errors", [])
        if errors and all(e.get("field") in LOOKED_UP or e.get("code") in REFUSED_CODES
                          for e in errors):
            return True
    return positive_data_acceptance(ctx, response, case)


#: Every check of schemathesis (its default set) runs; this one with the lookups' exception.
ALL_CHECKS = {"excluded_checks": [positive_data_acceptance],
              "additional_checks": [positive_data_acceptance_but_lookups]}


@contextlib.contextmanager
def _served(token: str, settings: Any) -> Iterator[Any]:
    """The schema as the running app serves it, with ``token`` as the run's explicit auth
    (checks like ignored_auth then know it is valid, not generated). The run sends
    generated, bad keys on purpose, by the thousand: the per-address bad-key limit (issue
    18 #1, tests/api/test_auth.py) is lifted for it, and its counts are forgotten
    afterwards so they reach no later test."""
    from django.core.cache import cache
    from django.core.handlers.wsgi import WSGIHandler
    from django.core.signals import request_finished, request_started
    from django.db import close_old_connections

    from api import authentication, throttling

    settings.API_KEY_FAILURES_PER_MINUTE = 10**9

    def window() -> int:
        return int(clock.now().timestamp() // throttling.WINDOW_SECONDS)

    first = window()
    config = schemathesis.Config.from_dict({
        "generation": {"max-examples": 8, "mode": "all"},
        "checks": {"positive_data_acceptance": {"expected-statuses": ACCEPTED},
                   "missing_required_header": {"expected-statuses": MISSING_HEADER}},
        "headers": {"Authorization": f"Bearer {token}"},
    })
    # As Django's test client does: the app must not close the test's database connection.
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    try:
        yield schemathesis.openapi.from_wsgi("/api/v1/schema/", WSGIHandler(), config=config)
    finally:
        request_started.connect(close_old_connections)
        request_finished.connect(close_old_connections)
        cache.delete_many([f"{throttling.NAMESPACE}:badkey:{address}:{w}"
                           for address in ("127.0.0.1", "unknown")
                           for w in range(first, window() + 1)])
        authentication._BLOCKED.clear()


@pytest.fixture
def live_schema(db, reference_data, make_order, alice, token, settings):
    """The schema served to the call-centre's token, with orders in interesting states so
    the generated ids sometimes hit real orders."""
    for state in (State.ACCEPTED, State.SCHEDULED, State.ABNORMAL, State.SURVEY_PENDING):
        make_order(state, technician=alice)
    with _served(token, settings) as served:
        yield served


schema = schemathesis.pytest.from_fixture("live_schema")


@pytest.fixture
def token(reference_data):
    client = api_services.api_client_create(name="schemathesis", rate_limit_per_minute=10**6)
    return api_services.api_token_issue(client=client)[1]


@schema.parametrize()
@hypothesis_settings(deadline=None, derandomize=True, database=None,
                     phases=[Phase.explicit, Phase.generate],
                     suppress_health_check=list(HealthCheck))
def test_every_operation_answers_as_documented_and_never_5xx(case, token):
    """Issue 18, item 8: every check of schemathesis, not only "no server errors": status
    codes, content types, headers and bodies as the schema says, invalid data refused,
    valid data accepted, required headers and auth enforced, unsupported methods 405."""
    case.call_and_validate(headers={"Authorization": f"Bearer {token}"}, **ALL_CHECKS)


# --- The same run as a dispatcher (issue 14, item 9) ---------------------------------------
#
# The call-centre's token meets the dispatcher's operations (dispatch, reassign, unassign,
# candidates, day plans) only as 403. The same checks run again with a dispatcher's token,
# and the generated ids and versions are pointed at real orders and a real day plan often
# enough that those operations answer for real: 200 and 201 with the documented bodies and
# headers, 409, 412 and 422 as the rules say (R4, R10, R11, R14, R15, R16).

#: Where the dispatcher works: generated for every operation, aimed at real things.
DISPATCHER_PATHS = (r"^/api/v1/(work-orders/\{id\}/(dispatch/|reassign/|unassign/|candidates/)?$"
                    r"|day-plans/|technicians/|me/)")


@pytest.fixture
def dispatcher_token(reference_data):
    client = api_services.api_client_create(name="schemathesis 调度", role=ClientRole.DISPATCHER,
                                            rate_limit_per_minute=10**6)
    return api_services.api_token_issue(client=client)[1]


def _aim_at_real_things(served: Any, plan_id: int) -> None:
    """Three in four generated order and day-plan ids become a real open order's or the
    real proposal's (the rest stay, mostly a 404), and a schema-valid If-Match their
    version now (else nearly every call would be a 404 or a 412); a proposal's area code
    becomes a real one, every other time the planned area's today (generated days are
    mostly past: 422), and half the technician ids in bodies a real technician's. Parts generated as
    invalid on purpose (negative mode) are left as they are."""
    from planning.dayplans import proposal_version
    from planning.models import DayPlanProposal
    from technicians.models import Technician
    from workorders.models import WorkOrder

    areas = sorted(Area.objects.values_list("code", flat=True))
    planned_area = DayPlanProposal.objects.get(pk=plan_id).area.code
    turns = itertools.count()
    technicians = sorted(Technician.objects.values_list("pk", flat=True))

    @served.hook
    def map_case(context, case):
        def negative(where: ParameterLocation) -> bool:
            return case.meta is not None and case.meta.is_negative_at(where)

        path = case.operation.path
        ident = (case.path_parameters or {}).get("id")
        # the coverage phase sends its ids as strings ("0")
        number = int(ident) if isinstance(ident, str) and ident.isdigit() else ident
        real = None
        if (isinstance(number, int) and not isinstance(number, bool) and number % 4 != 3
                and not negative(ParameterLocation.PATH)):
            if path.startswith("/api/v1/work-orders/{id}/"):
                open_ids = sorted(WorkOrder.objects.exclude(
                    state__in=(State.CLOSED, State.CANCELLED)).values_list("pk", flat=True))
                if open_ids:
                    real = WorkOrder.objects.get(pk=open_ids[number % len(open_ids)])
            elif path.startswith("/api/v1/day-plans/{id}/"):
                real = DayPlanProposal.objects.get(pk=plan_id)
            if real is not None:
                case.path_parameters = {**case.path_parameters, "id": type(ident)(real.pk)}
        headers = case.headers or {}
        if real is not None and "If-Match" in headers and not negative(
                ParameterLocation.HEADER):
            version = (proposal_version(real) if isinstance(real, DayPlanProposal)
                       else real.version)
            case.headers = {**headers, "If-Match": f'"{version}"'}
        body = case.body
        if isinstance(body, dict) and not negative(ParameterLocation.BODY):
            if path == "/api/v1/day-plans/" and isinstance(body.get("area"), str):
                turn = next(turns)
                case.body = {**body, "area": areas[turn % len(areas)]}
                if turn % 2 == 0 and isinstance(body.get("day"), str):
                    case.body.update(area=planned_area, day=clock.today_local().isoformat())
            given = body.get("technician")
            if (isinstance(given, int) and not isinstance(given, bool) and given % 2 == 0
                    and technicians):
                case.body = {**case.body,
                             "technician": technicians[(given // 2) % len(technicians)]}
        return case


@pytest.fixture
def dispatcher_schema(db, reference_data, make_order, alice, bob, dispatcher,
                      dispatcher_token, settings, west):
    """The schema served to a dispatcher's token, with orders to dispatch (east and west),
    orders on a technician to reassign or take back, one booked for today and a day plan
    proposed for the east area."""
    from planning import dayplans

    settings.DAY_PLAN = {"seconds": 0.1}  # the solver's time limit: these plans are small
    for state in (State.ACCEPTED, State.ACCEPTED, State.DISPATCHED, State.SCHEDULED,
                  State.ABNORMAL, State.SURVEY_PENDING):
        make_order(state, technician=alice)
    make_order(State.ACCEPTED, area=west)
    make_order(State.DISPATCHED, technician=bob, area=west)
    make_technician("wen", areas=[west], full_name="Wen Shan")  # bob's orders can move (R4)
    east = Area.objects.get(pk=alice.areas.get().pk)
    plan = dayplans.propose(area=east, day=clock.today_local(), by=dispatcher)
    with _served(dispatcher_token, settings) as served:
        _aim_at_real_things(served, plan.pk)
        yield served


# (The operations are chosen here: a fixture's own filters are replaced by these.)
as_dispatcher = schemathesis.pytest.from_fixture("dispatcher_schema").include(
    path_regex=DISPATCHER_PATHS)


@as_dispatcher.parametrize()
@hypothesis_settings(max_examples=12, deadline=None, derandomize=True, database=None,
                     phases=[Phase.explicit, Phase.generate],
                     suppress_health_check=list(HealthCheck))
def test_every_dispatcher_operation_answers_as_documented_for_a_dispatcher(
        case, dispatcher_token):
    """Issue 14, item 9: the dispatcher's operations with a dispatcher's token, every check
    of schemathesis as above (R4: only a dispatcher dispatches, reassigns, takes back)."""
    case.call_and_validate(headers={"Authorization": f"Bearer {dispatcher_token}"},
                           **ALL_CHECKS)


def test_stateful_links_from_a_created_order_answer_as_documented(live_schema, token, client):
    """The links declared on 201 of POST /work-orders/ (detail, timeline, actions...) are
    followed with the id of the order just created; every step must conform, none 5xx."""
    headers = {"Authorization": f"Bearer {token}"}
    created: set[int] = set()
    followed: list[tuple[str, int]] = []

    area = Area.objects.order_by("code").first().code
    today = clock.today_local().isoformat()

    class Workflow(live_schema.as_state_machine()):  # type: ignore[misc]
        def before_call(self, case):
            # Valid by the schema is not enough to create an order (a real area, a day from
            # today on, symptoms for a repair...), and the per-operation test above fuzzes
            # creation already. Here creations succeed, so the links are always followed.
            if case.operation.label == "POST /api/v1/work-orders/":
                case.body = {"channel": "hotline", "kind": "install", "service": "iptv",
                             "access_type": "ftth", "area": area, "preferred_day": today,
                             "customer": {"name": "张伟", "phone": "13812345678"},
                             "address": "北京市东城区东四十条 88 号"}
                case.headers = {**(case.headers or {}), "Idempotency-Key": uuid.uuid4().hex}

        def get_call_kwargs(self, case):
            return {"headers": headers}

        def after_call(self, response, case):
            if case.operation.label == "POST /api/v1/work-orders/":
                created.add(response.json().get("id"))
            elif (case.path_parameters or {}).get("id") in created:
                followed.append((case.operation.label, response.status_code))

        def validate_response(self, response, case, additional_checks=None, **kwargs):
            # ignored_auth runs on every operation above; here the token travels as a call
            # header, which that check takes for a generated (invalid) one.
            case.validate_response(
                response, transport_kwargs=kwargs, additional_checks=ALL_CHECKS[
                    "additional_checks"],
                excluded_checks=[*ALL_CHECKS["excluded_checks"], ignored_auth])

    # Each example is a short random walk; some walks end right after their creation, so
    # enough of them run that links are followed whatever the walks' order.
    Workflow.run(settings=hypothesis_settings(
        max_examples=30, stateful_step_count=10, deadline=None, derandomize=True,
        database=None, suppress_health_check=list(HealthCheck)))
    # Which links a random walk follows depends on the walk, and which operations it
    # starts from depends on how many the document has (with the complaints and day-plan
    # operations, the derandomized walk no longer reaches the creation); every step it
    # took was checked against the document above. The read links lead somewhere for
    # sure: each answers 200 for an order the walk created, or one created here.
    if not created - {None}:
        made = client.post("/api/v1/work-orders/", data=json.dumps({
            "channel": "hotline", "kind": "install", "service": "iptv",
            "access_type": "ftth", "area": area, "preferred_day": today,
            "customer": {"name": "张伟", "phone": "13812345678"},
            "address": "北京市东城区东四十条 88 号"}), content_type="application/json",
            HTTP_AUTHORIZATION=headers["Authorization"],
            HTTP_IDEMPOTENCY_KEY=uuid.uuid4().hex)
        assert made.status_code == 201, made.content[:300]
        created.add(made.json()["id"])
    order_id = min(created - {None})
    for path in ("", "timeline/", "follow-ups/"):
        answer = client.get(f"/api/v1/work-orders/{order_id}/{path}",
                            HTTP_AUTHORIZATION=headers["Authorization"])
        assert answer.status_code == 200, (path, answer.content[:300])
