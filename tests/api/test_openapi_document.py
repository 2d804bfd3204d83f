"""The committed OpenAPI document (docs/openapi.yaml) as integrators' tools read it: valid,
lint-clean, and strict enough that a response validator accepts what the server sends."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml
from django.conf import settings
from openapi_schema_validator import OAS30Validator
from openapi_spec_validator import validate as validate_spec

from . import openapi_lint

COMMITTED = Path(settings.BASE_DIR) / "docs" / "openapi.yaml"


@pytest.fixture(scope="module")
def document() -> dict[str, Any]:
    return yaml.safe_load(COMMITTED.read_text())


def operations(document: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {op["operationId"]: op for item in document["paths"].values()
            for op in item.values() if isinstance(op, dict) and "operationId" in op}


def validator(document: dict[str, Any], component: str) -> OAS30Validator:
    """A strict OpenAPI 3.0 validator of one component, its $refs resolved in the document
    (as openapi-core and other response validators do)."""
    return OAS30Validator({"components": document["components"],
                           "$ref": f"#/components/schemas/{component}"})


def test_the_document_passes_openapi_spec_validator(document):
    """Issue 18, item 9: openapi-spec-validator rejected it (alt_phone's default '' failed
    its own pattern)."""
    validate_spec(document)


def test_alt_phone_defaults_to_nothing_its_pattern_refuses(document):
    alt = document["components"]["schemas"]["CustomerInRequest"]["properties"]["alt_phone"]
    if "default" in alt:
        assert re.search(alt["pattern"], alt["default"]), alt


def test_every_nullable_has_a_type_beside_it(document):
    """Issue 18, item 9: ``nullable`` next to an ``allOf`` without ``type`` is ignored, so
    technician/appointment (orders, timeline, callbacks) were not nullable at all."""
    bare: list[str] = []

    def walk(node: Any, where: str) -> None:
        if isinstance(node, dict):
            if node.get("nullable") is True and "type" not in node:
                bare.append(where)
            for key, value in node.items():
                walk(value, f"{where}/{key}")
        elif isinstance(node, list):
            for i, value in enumerate(node):
                walk(value, f"{where}/{i}")

    walk(document, "#")
    assert not bare, bare


@pytest.mark.django_db
def test_a_strict_validator_accepts_an_unassigned_order_and_its_timeline(cc, intake, document):
    created = cc.create(intake())
    assert created.status_code == 201, created.body
    assert created.body["technician"] is None
    order = validator(document, "WorkOrderDetail")
    order.validate(created.body)
    order.validate({**created.body, "appointment": None})  # before a first booking
    timeline = cc.get(f"work-orders/{created.body['id']}/timeline/")
    validator(document, "Timeline").validate(timeline.body)
    # ...and still refuses what the schema does not allow there.
    assert list(order.iter_errors({**created.body, "technician": "nobody"}))


def test_a_callback_without_a_technician_is_valid(document):
    survey = {"id": 1, "round": 0, "sent_at": "2026-01-05T10:00:00+08:00",
              "callback_due_at": "2026-01-06T10:00:00+08:00", "status": "sent",
              "satisfied": None, "punctuality": None, "conduct": None, "result": None,
              "comment": "", "channel": "", "answered_at": None}
    callback = {"id": 1, "status": "open", "created_at": "2026-01-06T10:00:00+08:00",
                "order": 1, "order_number": "WO1", "order_state": "survey_pending",
                "customer_name": "张伟", "contact_phone": "138****5678", "area": "BJ-DC-01",
                "technician": None, "survey": survey, "attempts": 0, "last_attempt_at": None,
                "note": "", "done_at": None, "done_by": None}
    validator(document, "Callback").validate(callback)


@pytest.mark.parametrize("member", ["existing_order", "original_order", "action", "field",
                                    "callback", "state", "allowed_actions", "current_version",
                                    "rule"])
def test_the_problem_schema_declares_the_members_the_server_sends(document, member):
    """Issue 18, item 9: members named in docs/api.md and sent by the server were missing."""
    assert member in document["components"]["schemas"]["Problem"]["properties"]


def test_the_headers_the_server_sends_are_declared(document):
    """Issue 18, item 9: Location, Idempotent-Replayed and Retry-After were undeclared."""
    ops = operations(document)
    created = ops["work_orders_create"]["responses"]["201"]["headers"]
    assert {"Location", "Idempotent-Replayed", "ETag"} <= set(created)
    for op_id, op in ops.items():
        if "429" in op["responses"]:
            assert "Retry-After" in op["responses"]["429"].get("headers", {}), op_id


def test_event_types_have_a_type(document):
    """Issue 18, item 9: ``event_types: {}`` in responses said nothing."""
    for name in ("WebhookEndpoint", "WebhookEndpointCreated"):
        prop = document["components"]["schemas"][name]["properties"]["event_types"]
        assert prop.get("type") == "array" and prop["items"], (name, prop)


def test_no_operation_describes_itself_with_an_internal_docstring(document):
    """Issue 18, item 9: 23 operations had "Common ground: no model-level queryset magic" as
    their description."""
    seen: dict[str, list[str]] = {}
    for op_id, op in operations(document).items():
        assert op.get("summary"), op_id
        if op.get("description"):
            seen.setdefault(op["description"], []).append(op_id)
    assert not [ids for ids in seen.values() if len(ids) > 1], seen


def test_enum_members_have_names_not_value_n(document):
    """Issue 18, item 9: generators named members of enums like ``''`` or ``-id``
    ``VALUE_0``; every enum carries a type and ``x-enum-varnames``."""
    enums: list[tuple[str, dict[str, Any]]] = []

    def walk(node: Any, where: str) -> None:
        if isinstance(node, dict):
            if "enum" in node and node["enum"] != [None]:  # [None]: a typed null
                enums.append((where, node))
            for key, value in node.items():
                walk(value, f"{where}/{key}")
        elif isinstance(node, list):
            for i, value in enumerate(node):
                walk(value, f"{where}/{i}")

    walk(document, "#")
    assert enums
    for where, enum in enums:
        names = enum.get("x-enum-varnames", [])
        assert enum.get("type") == "string", where
        assert len(names) == len(enum["enum"]) == len(set(names)), where
        assert all(re.fullmatch(r"[A-Z][A-Z0-9_]*", n) and not re.fullmatch(r"VALUE_\d+", n)
                   for n in names), (where, names)


def test_the_linter_runs_only_from_the_package_npm_toml_pins():
    # fieldops/npm.py checks the tarball's integrity before unpacking (tests/fieldops/test_npm.py)
    from django.conf import settings

    from fieldops import npm

    pinned = npm.load(settings.BASE_DIR)[openapi_lint.PACKAGE]
    assert pinned.integrity.startswith("sha512-")
    assert openapi_lint.fetch() == pinned.folder(settings.BASE_DIR) / "bin" / "cli.js"


def test_the_document_lints_clean_with_redocly(tmp_path):
    """Issue 18, item 9: Redocly's linter (recommended rules, Django's trailing slashes
    allowed, redocly.yaml) reports no error and no warning."""
    result = openapi_lint.redocly_lint(COMMITTED, tmp_path)
    report = result.stdout + result.stderr
    problems = re.findall(r"^\s*\d+:\d+\s+(?:error|warning)\s.*$", report, re.M)
    assert result.returncode == 0 and not problems, report


def test_without_node_the_lint_fails_in_ci_and_is_skipped_elsewhere(monkeypatch, tmp_path):
    monkeypatch.setattr(openapi_lint.shutil, "which", lambda name: None)
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception, match="node is not installed"):
        openapi_lint.redocly_lint(COMMITTED, tmp_path)
    monkeypatch.delenv("CI")
    monkeypatch.delenv("FIELDOPS_REQUIRE_SERVICES", raising=False)
    with pytest.raises(pytest.skip.Exception):
        openapi_lint.redocly_lint(COMMITTED, tmp_path)
