"""Reads of the stock register (R45) and the materials (R46) for the faces."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.db.models import Count, Prefetch, Q, QuerySet, Sum

from workorders.models import WorkOrder

from .models import (
    Device,
    DeviceMovement,
    MaterialItem,
    MaterialNorm,
    MaterialUse,
    MovementAction,
    VanStock,
    normalise_serial,
)

#: R45: the kinds of work that install a device (a move or a repair may need none).
KINDS_NEEDING_EQUIPMENT = frozenset({"install"})


def device_by_serial(serial: str) -> Device | None:
    """R45: "which customer has ONU ZTEG12345678?" The device with its model, owner and
    history (van → customer → back), in three statements."""
    wanted = normalise_serial(serial)
    if not wanted:
        return None
    history = Prefetch("movements", queryset=DeviceMovement.objects.select_related(
        "order", "by", "from_technician", "from_account", "to_technician", "to_account"))
    return (Device.objects.select_related("model", "technician", "account", "order")
            .prefetch_related(history).filter(serial=wanted).first())


def order_equipment(order: WorkOrder) -> list[dict[str, Any]]:
    """R45: what happened to devices on this order, in order: serial, model, action."""
    rows = (DeviceMovement.objects.filter(order=order)
            .select_related("device__model").order_by("at", "id"))
    return [{"serial": row.device.serial, "model": row.device.model.code,
             "model_name": row.device.model.name, "kind": row.device.model.kind,
             "action": row.action, "at": row.at} for row in rows]


def order_materials(order: WorkOrder) -> list[dict[str, Any]]:
    """R46: the net quantity of each material used on this order (corrections counted),
    with its unit and whether the order went above the norm for it."""
    rows = (MaterialUse.objects.filter(order=order)
            .values("item__code", "item__name", "item__unit")
            .annotate(total=Sum("quantity"), flagged=Count("id", filter=Q(above_norm=True)))
            .order_by("item__code"))
    return [{"item": row["item__code"], "name": row["item__name"], "unit": row["item__unit"],
             "quantity": Decimal(str(row["total"])).quantize(Decimal("0.1")),
             "above_norm": row["flagged"] > 0}
            for row in rows if row["total"] != 0]


def has_equipment(order: WorkOrder) -> bool:
    return DeviceMovement.objects.filter(order=order).exists()


def has_materials(order: WorkOrder) -> bool:
    return MaterialUse.objects.filter(order=order).exists()


def needs_materials(order: WorkOrder) -> bool:
    return MaterialNorm.objects.filter(kind=order.kind, item__active=True).exists()


def normed_items(order: WorkOrder) -> list[dict[str, Any]]:
    """R46: the catalogue items for the order's kind of work, each with its norm, what the
    technician's van holds and what this order has used so far (for the steppers)."""
    norms = {n.item_id: n.quantity for n in MaterialNorm.objects.filter(kind=order.kind)}
    items = MaterialItem.objects.filter(active=True, pk__in=list(norms)).order_by("code")
    stock = ({s.item_id: s.quantity for s in VanStock.objects.filter(
        technician_id=order.technician_id)} if order.technician_id else {})
    used = {row["item"]: row["total"] for row in MaterialUse.objects.filter(order=order)
            .values("item").annotate(total=Sum("quantity")).order_by("item")}
    return [{"item": item, "norm": norms[item.pk], "in_van": stock.get(item.pk, Decimal(0)),
             "used": used.get(item.pk, Decimal(0))} for item in items]


def van_devices(technician_id: int) -> QuerySet[Device]:
    return (Device.objects.filter(owner="van", technician_id=technician_id)
            .select_related("model").order_by("model__code", "serial"))


def installed_here(order: WorkOrder) -> list[Device]:
    """R45: the devices now at this order's customer (to swap or take back)."""
    qs = Device.objects.filter(owner="customer").select_related("model")
    qs = qs.filter(account_id=order.account_id) if order.account_id else qs.filter(
        order=order)
    return list(qs.order_by("serial"))


INSTALL_ACTIONS = (MovementAction.INSTALL, MovementAction.SWAP_IN)
