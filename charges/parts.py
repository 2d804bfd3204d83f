"""How the charges join the visit's sign-off (R26, R47), through ``workorders.visit_parts``.

Sealed part ``charges``: the fee lines the customer is shown before signing and their
total, ``{"lines": [{"code", "name_zh", "name_en", "unit_price", "quantity", "amount",
"serial"}, ...], "total": "123.00"}`` (no ids or times). A line or a price changed in the
database after signing no longer matches the signature's hash
(``Signature.content_intact``). Refunds are not in it: they come later, by a supervisor,
as their own lines and events, and must not break the customer's seal; nor is the payment
(the customer may pay after signing; its time is on the receipt).

Visit step ``charges``: done once the order has a fee line (a visit with nothing to
charge declines the step with that reason, like any optional step).
"""

from __future__ import annotations

from typing import Any

from workorders import visit_parts
from workorders.models import WorkOrder

from .models import ZERO, FeeLine, LineKind


def sealed_charges(order: WorkOrder) -> dict[str, Any] | None:
    rows = list(FeeLine.objects.filter(order=order, kind=LineKind.CHARGE).order_by("at", "id"))
    if not rows:
        return None
    return {"lines": [{"code": r.code, "name_zh": r.name_zh, "name_en": r.name_en,
                       "unit_price": str(r.unit_price), "quantity": str(r.quantity),
                       "amount": str(r.amount), "serial": r.serial} for r in rows],
            "total": str(sum((r.amount for r in rows), ZERO))}


def charges_done(order: WorkOrder) -> bool:
    return FeeLine.objects.filter(order=order).exists()


def register() -> None:
    visit_parts.register_sealed_part("charges", sealed_charges)
    visit_parts.register_visit_step("charges", charges_done)
