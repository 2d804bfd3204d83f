"""How equipment (R45) and materials (R46) join the visit's sign-off (R26).

Sealed parts: what the customer signs includes the serials with their model and action,
and each material's net quantity with its unit; a row changed in the database after
signing no longer matches the signature's hash (``Signature.content_intact``). Visit
steps: ``equipment`` and ``materials`` are done with at least one row, or when the order's
kind needs none.
"""

from __future__ import annotations

from typing import Any

from workorders import visit_parts
from workorders.models import WorkOrder

from . import selectors


def sealed_equipment(order: WorkOrder) -> list[dict[str, Any]]:
    rows = selectors.order_equipment(order)
    return sorted(({"serial": r["serial"], "model": r["model"], "action": str(r["action"])}
                   for r in rows), key=lambda r: (r["serial"], r["action"]))


def sealed_materials(order: WorkOrder) -> list[dict[str, Any]]:
    return [{"item": r["item"], "quantity": str(r["quantity"]), "unit": str(r["unit"])}
            for r in selectors.order_materials(order)]


def equipment_done(order: WorkOrder) -> bool:
    return (order.kind not in selectors.KINDS_NEEDING_EQUIPMENT
            or selectors.has_equipment(order))


def materials_done(order: WorkOrder) -> bool:
    return selectors.has_materials(order) or not selectors.needs_materials(order)


def register() -> None:
    visit_parts.register_sealed_part("equipment", sealed_equipment)
    visit_parts.register_sealed_part("materials", sealed_materials)
    visit_parts.register_visit_step("equipment", equipment_done)
    visit_parts.register_visit_step("materials", materials_done)
