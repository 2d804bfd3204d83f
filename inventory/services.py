"""Every write to the stock register (R45) and the van stock (R46).

Each service runs in one transaction: the order first (``lifecycle.lock_order``, as every
order change does), then the device or stock rows; a refusal is a ``RuleViolation`` with
the field and the rule, and nothing is half-written. What happens on an order is also a
fact on its event log (``record_event``: ``INSTALL_DEVICE``, ``SWAP_DEVICE``,
``TAKE_BACK_DEVICE``, ``USE_MATERIAL``), so the order's history shows it (R42).
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import F, Sum
from django.utils.translation import gettext as _

from fieldops import clock
from technicians.models import Technician
from workorders.access import PERM_DISPATCH, is_order_technician
from workorders.errors import NotPermitted, RuleViolation
from workorders.events import OrderAction
from workorders.lifecycle import User, lock_order, record_event
from workorders.models import State, WorkOrder
from workorders.visit_parts import check_work_may_start

from .models import (
    Condition,
    Device,
    DeviceAllowance,
    DeviceModel,
    DeviceMovement,
    MaterialItem,
    MaterialNorm,
    MaterialUse,
    MovementAction,
    NormReview,
    Owner,
    Restock,
    Unit,
    VanStock,
    normalise_serial,
)

PERM_ALLOW_DEVICE = "inventory.allow_device"
PERM_RESTOCK = "inventory.restock_van"

#: R46: the most one row may say, per unit (anything above is a typing slip).
MAX_QUANTITY = {Unit.PIECE: Decimal(50), Unit.METRE: Decimal(500)}


# --- Common --------------------------------------------------------------------------------

def _lock_visit(order: WorkOrder, by: User, action: OrderAction) -> WorkOrder:
    """R45/R46: the order, locked; only its own technician (R41), only while on site; once
    the customer has signed nothing here changes (R26); at height, not before the second
    person is named and the warning sign is up (R49, ``visit_parts.check_work_may_start``)."""
    locked = lock_order(order)
    if locked.state != State.ON_SITE:
        if locked.signatures.exists() or locked.state in (
                State.SIGNED_OFF, State.COMPLETED, State.SURVEY_PENDING, State.CLOSED):
            raise RuleViolation(
                _("The customer has signed; equipment and materials can no longer change."),
                field="order", rule="R26")
        raise RuleViolation(
            _("Equipment and materials are recorded on site, after check-in."),
            field="order", rule="R45" if action != OrderAction.USE_MATERIAL else "R46")
    if by is None or not is_order_technician(locked, by):
        raise NotPermitted(_("Only the order's technician can do this."), action=action)
    check_work_may_start(locked)
    return locked


def _move(device: Device, *, action: str, by: User, order: WorkOrder | None,
          to_owner: str, technician: Technician | None = None, reason: str = "",
          condition: str | None = None) -> DeviceMovement:
    """Change the device's owner and append the movement (from, to, order, who, when)."""
    movement = DeviceMovement(
        device=device, action=action, at=clock.now(), by=by, order=order,
        from_owner=device.owner, from_technician=device.technician,
        from_account=device.account, to_owner=to_owner, reason=reason)
    device.owner = to_owner
    device.technician = technician if to_owner == Owner.VAN else None
    if to_owner == Owner.CUSTOMER:
        assert order is not None
        device.order = order
        device.account = order.account
    else:
        device.order = None
        device.account = None
    if condition is not None:
        device.condition = condition
    device.save()
    movement.to_technician = device.technician
    movement.to_account = device.account
    movement.save()
    return movement


def _find(serial: str, *, field: str) -> Device:
    """R45: the device by its normalised serial, locked; an unknown serial is refused."""
    wanted = normalise_serial(serial)
    if not wanted:
        raise RuleViolation(_("Type or scan the serial number."), field=field, rule="R45")
    if len(wanted) > 64:
        raise RuleViolation(_("A serial number has at most 64 characters."), field=field,
                            rule="R45")
    device = (Device.objects.select_for_update(of=("self",))
              .select_related("model", "technician", "account").filter(serial=wanted).first())
    if device is None:
        raise RuleViolation(
            _("Stock does not know the serial %(serial)s; check it and scan again.")
            % {"serial": wanted}, field=field, rule="R45")
    return device


def _at_this_customer(device: Device, order: WorkOrder) -> bool:
    if device.owner != Owner.CUSTOMER:
        return False
    if order.account_id is not None:
        return device.account_id == order.account_id
    return device.order_id == order.pk


def _check_installable(device: Device, order: WorkOrder, by: User, *, field: str) -> None:
    """R45: refusals for a device about to go to this order's customer, with the reason."""
    if DeviceMovement.objects.filter(order=order, device=device,
                                     action__in=(MovementAction.INSTALL,
                                                 MovementAction.SWAP_IN)).exists() \
            and _at_this_customer(device, order):
        raise RuleViolation(
            _("Serial %(serial)s is already recorded on this order.")
            % {"serial": device.serial}, field=field, rule="R45")
    if device.owner == Owner.CUSTOMER:
        raise RuleViolation(
            _("Serial %(serial)s is installed at another customer; it cannot be installed "
              "here.") % {"serial": device.serial}, field=field, rule="R45")
    if device.condition != Condition.GOOD:
        raise RuleViolation(
            _("Serial %(serial)s is marked %(condition)s; take another device.")
            % {"serial": device.serial, "condition": device.get_condition_display()},
            field=field, rule="R45")
    own_van = device.owner == Owner.VAN and device.technician_id == order.technician_id
    if not own_van and not DeviceAllowance.objects.filter(device=device, order=order).exists():
        raise RuleViolation(
            _("Serial %(serial)s is not in your van. Ask a dispatcher to allow it for this "
              "order.") % {"serial": device.serial}, field=field, rule="R45")
    if not device.model.fits(order):
        raise RuleViolation(
            _("A %(model)s does not fit this order's service (%(service)s, %(access)s).")
            % {"model": device.model.name, "service": order.get_service_display(),
               "access": order.get_access_type_display()}, field=field, rule="R45")


def _device_facts(device: Device) -> dict[str, Any]:
    return {"serial": device.serial, "model": device.model.code}


# --- Equipment (R45) -----------------------------------------------------------------------

def device_install(*, order: WorkOrder, by: User, serial: str) -> DeviceMovement:
    """R45: install a device from the technician's van at the order's customer: bound to
    the order and the order's service account. Two installs of one serial at once: the
    device's row lock lets one win; the other then finds it installed and is refused."""
    with transaction.atomic():
        locked = _lock_visit(order, by, OrderAction.INSTALL_DEVICE)
        device = _find(serial, field="serial")
        _check_installable(device, locked, by, field="serial")
        movement = _move(device, action=MovementAction.INSTALL, by=by, order=locked,
                         to_owner=Owner.CUSTOMER)
        record_event(order=locked, by=by, action=OrderAction.INSTALL_DEVICE,
                     from_state=locked.state, to_state=locked.state,
                     payload=_device_facts(device), at=movement.at)
    return movement


def device_swap(*, order: WorkOrder, by: User, old_serial: str, new_serial: str,
                reason: str = "") -> tuple[DeviceMovement, DeviceMovement]:
    """R45 repair swap: the old device (at this customer) goes back to the van as faulty,
    the new one (from the van) to the customer; both recorded."""
    if normalise_serial(old_serial) == normalise_serial(new_serial):
        raise RuleViolation(_("The new serial is the same as the old one."),
                            field="serial", rule="R45")
    with transaction.atomic():
        locked = _lock_visit(order, by, OrderAction.SWAP_DEVICE)
        # Both devices locked in serial order, so two swaps of one pair cannot deadlock.
        first, second = sorted([("old_serial", old_serial), ("serial", new_serial)],
                               key=lambda pair: normalise_serial(pair[1]))
        found = {first[0]: _find(first[1], field=first[0]),
                 second[0]: _find(second[1], field=second[0])}
        old, new = found["old_serial"], found["serial"]
        if not _at_this_customer(old, locked):
            raise RuleViolation(
                _("Serial %(serial)s is not installed at this customer.")
                % {"serial": old.serial}, field="old_serial", rule="R45")
        _check_installable(new, locked, by, field="serial")
        technician = locked.technician
        out = _move(old, action=MovementAction.SWAP_OUT, by=by, order=locked,
                    to_owner=Owner.VAN, technician=technician, reason=reason,
                    condition=Condition.FAULTY)
        into = _move(new, action=MovementAction.SWAP_IN, by=by, order=locked,
                     to_owner=Owner.CUSTOMER, reason=reason)
        record_event(order=locked, by=by, action=OrderAction.SWAP_DEVICE,
                     from_state=locked.state, to_state=locked.state, reason=reason,
                     payload={"old": _device_facts(old), "new": _device_facts(new)},
                     at=into.at)
    return out, into


def device_take_back(*, order: WorkOrder, by: User, serial: str,
                     reason: str = "") -> DeviceMovement:
    """R45: take a device back from this order's customer into the technician's van."""
    with transaction.atomic():
        locked = _lock_visit(order, by, OrderAction.TAKE_BACK_DEVICE)
        device = _find(serial, field="serial")
        if not _at_this_customer(device, locked):
            raise RuleViolation(
                _("Serial %(serial)s is not installed at this customer.")
                % {"serial": device.serial}, field="serial", rule="R45")
        movement = _move(device, action=MovementAction.TAKE_BACK, by=by, order=locked,
                         to_owner=Owner.VAN, technician=locked.technician, reason=reason,
                         condition=Condition.RETURNED)
        record_event(order=locked, by=by, action=OrderAction.TAKE_BACK_DEVICE,
                     from_state=locked.state, to_state=locked.state, reason=reason,
                     payload=_device_facts(device), at=movement.at)
    return movement


def device_allow(*, order: WorkOrder, by: User, serial: str,
                 reason: str = "") -> DeviceAllowance:
    """R45: a dispatcher allows a serial that is not in the order's technician's van (the
    warehouse, another van) for this one order; who and when are recorded."""
    if by is None or not (by.has_perm(PERM_ALLOW_DEVICE) or by.has_perm(PERM_DISPATCH)):
        raise NotPermitted(_("Only a dispatcher can allow a device from another van."))
    with transaction.atomic():
        device = _find(serial, field="serial")
        if device.owner == Owner.CUSTOMER:
            raise RuleViolation(
                _("Serial %(serial)s is installed at a customer; it cannot be allowed.")
                % {"serial": device.serial}, field="serial", rule="R45")
        allowance, _created = DeviceAllowance.objects.get_or_create(
            device=device, order=order,
            defaults={"allowed_by": by, "allowed_at": clock.now(), "reason": reason})
    return allowance


def device_receive(*, serial: str, model: DeviceModel, by: User,
                   technician: Technician | None = None, warranty_until: Any = None,
                   reason: str = "") -> Device:
    """A new device into stock (the warehouse, or straight into a van), recorded."""
    wanted = normalise_serial(serial)
    if not wanted:
        raise RuleViolation(_("Type or scan the serial number."), field="serial", rule="R45")
    with transaction.atomic():
        if Device.objects.filter(serial=wanted).exists():
            raise RuleViolation(_("Serial %(serial)s is already in stock.")
                                % {"serial": wanted}, field="serial", rule="R45")
        device = Device.objects.create(serial=wanted, model=model,
                                       warranty_until=warranty_until, created_at=clock.now())
        DeviceMovement.objects.create(device=device, action=MovementAction.RECEIVE,
                                      at=clock.now(), by=by, to_owner=Owner.WAREHOUSE,
                                      reason=reason)
        if technician is not None:
            _move(device, action=MovementAction.TO_VAN, by=by, order=None,
                  to_owner=Owner.VAN, technician=technician, reason=reason)
    return device


# --- Materials (R46) -----------------------------------------------------------------------

def parse_quantity(item: MaterialItem, value: Any, *, field: str = "quantity",
                   allow_negative: bool = False, limit: Decimal | None = None) -> Decimal:
    """R46: a quantity for this item: a number, whole for pieces, one decimal place for
    metres, not zero, positive unless a correction, and not absurd."""
    try:
        quantity = Decimal(str(value).strip())
    except (InvalidOperation, ValueError):
        raise RuleViolation(_("Enter a number."), field=field, rule="R46") from None
    if not quantity.is_finite():
        raise RuleViolation(_("Enter a number."), field=field, rule="R46")
    if quantity == 0:
        raise RuleViolation(_("Enter a quantity other than zero."), field=field, rule="R46")
    if quantity < 0 and not allow_negative:
        raise RuleViolation(_("A quantity used cannot be negative."), field=field, rule="R46")
    if item.unit == Unit.PIECE and quantity != quantity.to_integral_value():
        raise RuleViolation(_("%(item)s is counted in whole pieces.") % {"item": item.name},
                            field=field, rule="R46")
    if quantity != quantity.quantize(Decimal("0.1"), rounding=ROUND_HALF_UP):
        raise RuleViolation(_("Give metres with at most one decimal place."), field=field,
                            rule="R46")
    limit = limit if limit is not None else MAX_QUANTITY[Unit(item.unit)]
    if abs(quantity) > limit:
        raise RuleViolation(
            _("%(quantity)s %(unit)s of %(item)s is too much for one visit (at most "
              "%(limit)s); check the number.")
            % {"quantity": quantity, "unit": item.get_unit_display(), "item": item.name,
               "limit": limit}, field=field, rule="R46")
    return quantity.quantize(Decimal("0.1"))


def used_on(order: WorkOrder, item: MaterialItem | None = None) -> dict[int, Decimal]:
    """The order's net use per item id (uses and corrections added up)."""
    rows = MaterialUse.objects.filter(order=order)
    if item is not None:
        rows = rows.filter(item=item)
    return {row["item"]: row["total"] for row in
            rows.values("item").annotate(total=Sum("quantity")).order_by("item")}


def norm_for(order: WorkOrder, item: MaterialItem) -> Decimal | None:
    norm = MaterialNorm.objects.filter(item=item, kind=order.kind).first()
    return norm.quantity if norm is not None else None


def material_use(*, order: WorkOrder, by: User, uses: dict[MaterialItem, Any],
                 reason: str = "") -> list[MaterialUse]:
    """R46: record what was used on the order, each item drawn from the technician's van
    (a conditional UPDATE: never below zero, exact under concurrent visits). A negative
    quantity corrects an earlier entry of this visit (given back to the van), never below
    what the order has recorded. A total far above the norm for the kind
    (``MATERIAL_NORM_FACTOR`` times) flags the order for review."""
    parsed: list[tuple[MaterialItem, Decimal]] = []
    for item, value in uses.items():
        if value in (None, ""):
            continue
        parsed.append((item, parse_quantity(item, value, field=f"item-{item.pk}",
                                            allow_negative=True)))
    if not parsed:
        raise RuleViolation(_("Enter a quantity for at least one material."),
                            field="quantity", rule="R46")
    factor = Decimal(str(getattr(settings, "MATERIAL_NORM_FACTOR", 2.0)))
    rows: list[MaterialUse] = []
    with transaction.atomic():
        locked = _lock_visit(order, by, OrderAction.USE_MATERIAL)
        technician = locked.technician
        assert technician is not None
        now = clock.now()
        flagged: list[dict[str, str]] = []
        for item, quantity in sorted(parsed, key=lambda pair: pair[0].pk):
            field = f"item-{item.pk}"
            before = used_on(locked, item).get(item.pk, Decimal(0))
            if before + quantity < 0:
                raise RuleViolation(
                    _("Only %(used)s %(unit)s of %(item)s is recorded on this order; a "
                      "correction cannot take back more.")
                    % {"used": before, "unit": item.get_unit_display(), "item": item.name},
                    field=field, rule="R46")
            drawn = VanStock.objects.filter(technician=technician, item=item,
                                            quantity__gte=quantity).update(
                quantity=F("quantity") - quantity)
            if not drawn:
                if quantity < 0:  # a correction into a van that never held the item
                    VanStock.objects.create(technician=technician, item=item,
                                            quantity=-quantity)
                else:
                    stock = VanStock.objects.filter(technician=technician, item=item).first()
                    raise RuleViolation(
                        _("Your van has %(left)s %(unit)s of %(item)s; you entered "
                          "%(quantity)s.")
                        % {"left": stock.quantity if stock else 0,
                           "unit": item.get_unit_display(), "item": item.name,
                           "quantity": quantity}, field=field, rule="R46")
            total = before + quantity
            norm = norm_for(locked, item)
            above = norm is not None and quantity > 0 and total > norm * factor
            rows.append(MaterialUse.objects.create(
                order=locked, item=item, technician=technician, quantity=quantity, at=now,
                by=by, above_norm=above, reason=reason))
            if above:
                flagged.append({"item": item.code, "total": str(total),
                                "norm": str(norm)})
        if flagged:
            review, created = NormReview.objects.get_or_create(
                order=locked, defaults={"flagged_at": now, "items": flagged})
            if not created:
                known = {entry["item"]: entry for entry in review.items}
                known.update({entry["item"]: entry for entry in flagged})
                review.items = sorted(known.values(), key=lambda entry: entry["item"])
                review.reviewed_at = None
                review.reviewed_by = None
                review.save(update_fields=["items", "reviewed_at", "reviewed_by"])
        record_event(
            order=locked, by=by, action=OrderAction.USE_MATERIAL, from_state=locked.state,
            to_state=locked.state, reason=reason, at=now,
            payload={"materials": [{"item": row.item.code, "quantity": str(row.quantity),
                                    "unit": row.item.unit} for row in rows],
                     "above_norm": flagged})
    return rows


def van_restock(*, technician: Technician, item: MaterialItem, quantity: Any, by: User,
                reason: str = "") -> Restock:
    """R46: put material into a van (a dispatcher or warehouse keeper); recorded."""
    if by is not None and not (by.has_perm(PERM_RESTOCK) or by.is_superuser):
        raise NotPermitted(_("Only a dispatcher or the warehouse restocks vans."))
    # A van holds a drum of fibre or a box of connectors: twenty visits' worth at most.
    amount = parse_quantity(item, quantity, limit=MAX_QUANTITY[Unit(item.unit)] * 20)
    with transaction.atomic():
        stock, _created = VanStock.objects.select_for_update().get_or_create(
            technician=technician, item=item)
        VanStock.objects.filter(pk=stock.pk).update(quantity=F("quantity") + amount)
        return Restock.objects.create(technician=technician, item=item, quantity=amount,
                                      at=clock.now(), by=by, reason=reason)


def norm_review_done(*, review: NormReview, by: User) -> NormReview:
    """A supervisor or dispatcher has looked at an order flagged above the norm (R46)."""
    review.reviewed_at = clock.now()
    review.reviewed_by = by
    review.save(update_fields=["reviewed_at", "reviewed_by"])
    return review
