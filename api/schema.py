"""OpenAPI details drf-spectacular can't infer: the bearer-token scheme, the links from a
created order to what can be done with it (used by stateful API testing), and what strict
tools need (issue 18: openapi-spec-validator, Redocly's linter, response validators and
code generators): a type beside every ``nullable``, named enum members, the headers every
refusal may carry, and descriptions that are the views' own."""

from __future__ import annotations

import inspect
import re
from typing import Any

from django.utils.translation import gettext_lazy as _
from drf_spectacular.extensions import (
    OpenApiAuthenticationExtension,
    OpenApiSerializerFieldExtension,
)
from drf_spectacular.openapi import AutoSchema
from drf_spectacular.plumbing import get_doc

from fieldops import phones

from .serializers import PHONE_OR_BLANK_PATTERN, PHONE_PATTERN, YEARS


class ApiAutoSchema(AutoSchema):
    """An operation's description is its method's or its view's own docstring, never one
    inherited from a base view (``ApiView``'s is about the code, not the API)."""

    def get_description(self) -> str:  # type: ignore[override]
        method = getattr(self.view, getattr(self.view, "action", self.method.lower()), None)
        own = type(self.view).__dict__.get("__doc__")
        return get_doc(method) or (inspect.cleandoc(own) if own else "")


class PhoneFieldSchema(OpenApiSerializerFieldExtension):
    """A phone's pattern; a phone that may be blank also admits ``""`` (its default)."""

    target_class = "api.serializers.PhoneField"

    def map_serializer_field(self, auto_schema: Any, direction: Any) -> dict[str, Any]:
        blank = bool(getattr(self.target, "allow_blank", False))
        return {"type": "string", "maxLength": phones.MAX_LENGTH,
                "pattern": PHONE_OR_BLANK_PATTERN if blank else PHONE_PATTERN}


class TokenAuthenticationScheme(OpenApiAuthenticationExtension):
    target_class = "api.authentication.TokenAuthentication"
    name = "clientToken"

    def get_security_definition(self, auto_schema: Any) -> dict[str, Any]:
        return {"type": "http", "scheme": "bearer", "bearerFormat": "fo_<prefix>_<secret>",
                "description": "A client token issued in the admin (API clients)."}


#: Operations reachable from a created order, by operationId.
ORDER_LINKS = ("work_orders_retrieve", "work_orders_timeline", "work_orders_cancel",
               "work_orders_park", "work_orders_resolve_remotely",
               "work_orders_appointment_change_requests_create",
               "work_orders_follow_ups_create", "work_orders_follow_ups_list")


#: Years the API takes in dates and times (``api.serializers.YEARS``: 2000 to 2100).
YEAR_PATTERN = r"^(20[0-9]{2}|2100)-"
assert YEARS == (2000, 2100), "YEAR_PATTERN says 2000 to 2100"


class StrictDateSchema(OpenApiSerializerFieldExtension):
    """A date the API takes: ISO 8601, in the years 2000 to 2100."""

    target_class = "api.serializers.StrictDateField"

    def map_serializer_field(self, auto_schema: Any, direction: Any) -> dict[str, Any]:
        return {"type": "string", "format": "date", "pattern": YEAR_PATTERN}


class StrictDateTimeSchema(OpenApiSerializerFieldExtension):
    """A time the API takes: RFC 3339, in the years 2000 to 2100."""

    target_class = "api.serializers.StrictDateTimeField"

    def map_serializer_field(self, auto_schema: Any, direction: Any) -> dict[str, Any]:
        return {"type": "string", "format": "date-time", "pattern": YEAR_PATTERN}


#: Headers every refusal of that status may carry (``api.errors.exception_handler``).
PROBLEM_HEADERS: dict[str, dict[str, dict[str, Any]]] = {
    "401": {"WWW-Authenticate": {
        "schema": {"type": "string"}, "required": True,
        "description": _("The scheme to authenticate with: Bearer.")}},
    "429": {"Retry-After": {
        "schema": {"type": "integer", "minimum": 1}, "required": True,
        "description": _("Seconds until the rate limit's next window.")}},
}


def _walk(node: Any) -> Any:
    """Every schema-like dict in the document, depth first."""
    if isinstance(node, dict):
        yield node
        for value in node.values():
            yield from _walk(value)
    elif isinstance(node, list):
        for value in node:
            yield from _walk(value)


def _typed_nullables(result: dict[str, Any]) -> None:
    """OpenAPI 3.0 ignores ``nullable`` without a ``type`` beside it, and ``allOf`` of one
    ``$ref`` (as drf-spectacular writes a nullable nested serializer) refuses null anyway: a
    null technician would be invalid to strict validators. Such a property becomes "the
    component, or null": ``oneOf`` the component and a typed null (the OpenAPI 3.0.3 way;
    3.1 would say ``type: 'null'``)."""
    schemas = result.get("components", {}).get("schemas", {})
    for node in _walk(result):
        if node.get("nullable") is not True or "type" in node:
            continue
        parts = node.get("allOf", [])
        ref = parts[0].get("$ref", "") if len(parts) == 1 else ""
        kind = schemas.get(ref.rsplit("/", 1)[-1], {}).get("type") if ref else None
        if kind is None:
            continue
        del node["allOf"], node["nullable"]
        node["oneOf"] = [{"$ref": ref}, {"type": kind, "nullable": True, "enum": [None]}]


def enum_varname(value: Any) -> str:
    """A code generator's name for an enum member: ``order.created`` ORDER_CREATED, ``-id``
    ID_DESC (an ordering), ``""`` BLANK."""
    text = str(value)
    name = re.sub(r"[^0-9A-Za-z]+", "_", text.lstrip("-")).strip("_").upper() or "BLANK"
    if text.startswith("-"):
        name += "_DESC"
    return name if name[0].isalpha() else f"N_{name}"


def _named_enums(result: dict[str, Any]) -> None:
    """Every enum says its type and names its members (``x-enum-varnames``, read by
    openapi-generator, oapi-codegen, openapi-typescript...), instead of VALUE_0."""
    for node in _walk(result):
        if "enum" in node and isinstance(node["enum"], list):
            values = [v for v in node["enum"] if v is not None]
            if not values:
                continue  # a typed null (see _typed_nullables)
            if all(isinstance(v, str) for v in values):
                node.setdefault("type", "string")
            node["x-enum-varnames"] = [enum_varname(v) for v in values]


def _problem_headers(result: dict[str, Any]) -> None:
    for item in result.get("paths", {}).values():
        for operation in item.values():
            if not isinstance(operation, dict):
                continue
            for status, headers in PROBLEM_HEADERS.items():
                response = operation.get("responses", {}).get(status)
                if response is not None:
                    response.setdefault("headers", {}).update(
                        {name: {**h, "description": str(h["description"])}
                         for name, h in headers.items()})


#: A string that must not be blank has a character that is not white space: the API trims
#: what it receives (DRF's ``trim_whitespace``), so ``" "`` or a no-break space alone is a
#: blank field, which ``minLength: 1`` alone would admit.
NOT_BLANK = r"\S"


#: A webhook's URL: HTTPS, a host name, an optional port and path (a lone U+001F passed
#: ``NOT_BLANK``, which is ECMA's ``\S``, and was trimmed to a blank URL by the server).
WEBHOOK_URL = r"^https://[A-Za-z0-9.-]+(:[0-9]{1,5})?(/[A-Za-z0-9._~/-]*)?$"


def _webhook_url(result: dict[str, Any]) -> None:
    """The webhook registration's URL as the server takes it (``WEBHOOK_URL``); it has a
    pattern of its own, so ``_not_blank`` leaves it."""
    webhook = result.get("components", {}).get("schemas", {}).get("WebhookEndpointInRequest")
    if webhook is not None and "url" in webhook.get("properties", {}):
        webhook["properties"]["url"]["pattern"] = WEBHOOK_URL


def _not_blank(result: dict[str, Any]) -> None:
    """Give every request string with ``minLength`` and no pattern of its own ``NOT_BLANK``:
    the request bodies' components and the operations' parameters."""
    requests = [c for name, c in result.get("components", {}).get("schemas", {}).items()
                if name.endswith("Request")]
    parameters = [p.get("schema", {}) for item in result.get("paths", {}).values()
                  for op in item.values() if isinstance(op, dict)
                  for p in op.get("parameters", [])]
    for node in _walk([requests, parameters]):
        if (node.get("type") == "string" and node.get("minLength", 0) >= 1
                and not {"pattern", "enum", "format"} & node.keys()):
            node["pattern"] = NOT_BLANK


def postprocess(result: dict[str, Any], generator: Any, request: Any, public: bool) -> dict:
    """Declare OpenAPI links from POST /work-orders/ (201) to the order's operations, say
    that request bodies take no other fields (the API refuses unknown ones), and make the
    document as strict as the server (see the module's docstring)."""
    for name, component in result.get("components", {}).get("schemas", {}).items():
        if name.endswith("Request") and component.get("type") == "object":
            component["additionalProperties"] = False
    _typed_nullables(result)
    _named_enums(result)
    _problem_headers(result)
    _webhook_url(result)
    _not_blank(result)
    operations = {op.get("operationId"): op for item in result.get("paths", {}).values()
                  for op in item.values() if isinstance(op, dict)}
    create = operations.get("work_orders_create")
    if create is not None and "201" in create.get("responses", {}):
        create["responses"]["201"]["links"] = {
            op_id: {"operationId": op_id, "parameters": {"id": "$response.body#/id"}}
            for op_id in ORDER_LINKS if op_id in operations}
    return result
