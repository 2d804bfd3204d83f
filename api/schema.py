"""OpenAPI details drf-spectacular can't infer: the bearer-token scheme and the links
from a created order to what can be done with it (used by stateful API testing)."""

from __future__ import annotations

from typing import Any

from drf_spectacular.extensions import OpenApiAuthenticationExtension


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


def postprocess(result: dict[str, Any], generator: Any, request: Any, public: bool) -> dict:
    """Declare OpenAPI links from POST /work-orders/ (201) to the order's operations, and
    say that request bodies take no other fields (the API refuses unknown ones)."""
    for name, component in result.get("components", {}).get("schemas", {}).items():
        if name.endswith("Request") and component.get("type") == "object":
            component["additionalProperties"] = False
    operations = {op.get("operationId"): op for item in result.get("paths", {}).values()
                  for op in item.values() if isinstance(op, dict)}
    create = operations.get("work_orders_create")
    if create is not None and "201" in create.get("responses", {}):
        create["responses"]["201"]["links"] = {
            op_id: {"operationId": op_id, "parameters": {"id": "$response.body#/id"}}
            for op_id in ORDER_LINKS if op_id in operations}
    return result
