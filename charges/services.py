"""Every write of the charges (R47).

Each service runs in one transaction, the order locked first (``lifecycle.lock_order``)
and the payment row after it; a refusal is a ``RuleViolation`` with the field and the
rule, and nothing is half-written. Every line and payment is a fact on the order's event
log (``ADD_CHARGE``, ``REFUND_CHARGE``, ``RECEIVE_PAYMENT``), so its history shows who,
when and how much (R42).
"""

from __future__ import annotations

import datetime as dt
import secrets
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

from django.db import transaction
from django.utils import formats, timezone
from django.utils.translation import gettext as _

from fieldops import clock
from inventory.models import Device, DeviceMovement, MaterialItem, Owner, normalise_serial
from inventory.services import used_on
from workorders.access import is_order_technician
from workorders.errors import NotPermitted, RuleViolation
from workorders.events import OrderAction
from workorders.lifecycle import User, lock_order, record_event
from workorders.messages import sms_customer
from workorders.models import State, WorkOrder

from . import links, selectors
from .models import (
    ZERO,
    Category,
    FeeLine,
    LineKind,
    Payment,
    PaymentStatus,
    PriceItem,
)
from .payments import Confirmation, backend

PERM_REFUND = "charges.refund_feeline"
#: R47: the most one line may say (anything above is a typing slip).
MAX_QUANTITY = Decimal(100)
#: States after the customer's signature: nothing more may be charged (R47).
SIGNED_STATES = (State.SIGNED_OFF, State.COMPLETED, State.SURVEY_PENDING, State.CLOSED,
                 State.REWORK)
CENT = Decimal("0.01")
#: A provider's clock may be a little off ours.
_SKEW = dt.timedelta(minutes=5)


def _signed(order: WorkOrder) -> bool:
    return order.state in SIGNED_STATES or order.signatures.exists()


def _lock_for_charge(order: WorkOrder, by: User) -> WorkOrder:
    """R47: the order, locked; only its own technician (R41), only on site, and never
    after the customer's signature."""
    locked = lock_order(order)
    if _signed(locked):
        raise RuleViolation(_("The customer has signed: nothing more can be charged on "
                              "this order."), field="order", rule="R47")
    if locked.state != State.ON_SITE:
        raise RuleViolation(_("Charges are added on site, after check-in."), field="order",
                            rule="R47")
    if by is None or not is_order_technician(locked, by):
        raise NotPermitted(_("Only the order's technician can do this."),
                           action=OrderAction.ADD_CHARGE)
    return locked


def parse_quantity(value: Any, *, field: str = "quantity") -> Decimal:
    """R47: a quantity: a number above zero, at most one decimal place, not absurd."""
    try:
        quantity = Decimal(str(value).strip())
    except (InvalidOperation, ValueError):
        raise RuleViolation(_("Enter a number."), field=field, rule="R47") from None
    if not quantity.is_finite():
        raise RuleViolation(_("Enter a number."), field=field, rule="R47")
    if quantity <= 0:
        raise RuleViolation(_("The quantity must be more than zero; a refund is made by a "
                              "supervisor."), field=field, rule="R47")
    if quantity != quantity.quantize(Decimal("0.1"), rounding=ROUND_HALF_UP):
        raise RuleViolation(_("Give the quantity with at most one decimal place."),
                            field=field, rule="R47")
    if quantity > MAX_QUANTITY:
        raise RuleViolation(_("%(quantity)s is too many for one line (at most %(limit)s); "
                              "check the number.")
                            % {"quantity": quantity, "limit": MAX_QUANTITY}, field=field,
                            rule="R47")
    return quantity.quantize(Decimal("0.1"))


def find_price(order: WorkOrder, code: str) -> PriceItem:
    """R47 (不准乱收费): the item of the price list in force today for this kind of work;
    anything else is refused with the reason."""
    wanted = str(code or "").strip().upper()
    if not wanted:
        raise RuleViolation(_("Choose an item from the price list."), field="code",
                            rule="R47")
    item = selectors.price_list(kind=order.kind).filter(code__iexact=wanted).first()
    if item is not None:
        return item
    elsewhere = selectors.price_list().filter(code__iexact=wanted).first()
    if elsewhere is not None:
        raise RuleViolation(
            _("%(code)s is not charged on a %(kind)s order.")
            % {"code": wanted, "kind": order.get_kind_display()}, field="code", rule="R47")
    raise RuleViolation(
        _("%(code)s is not on the price list in force today; only published prices may "
          "be charged.") % {"code": wanted}, field="code", rule="R47")


def _devices_involved(order: WorkOrder) -> list[Device]:
    """The equipment of this visit: devices moved on this order (installed, swapped in or
    out, taken back) and devices installed at the order's service account."""
    moved = set(DeviceMovement.objects.filter(order=order).values_list("device", flat=True))
    at_customer = Device.objects.filter(owner=Owner.CUSTOMER, order=order)
    if order.account_id is not None:
        at_customer = Device.objects.filter(owner=Owner.CUSTOMER, account=order.account)
    found = {device.pk: device for device in at_customer}
    found.update({device.pk: device for device in Device.objects.filter(pk__in=moved)})
    return sorted(found.values(), key=lambda device: device.serial)


def _warranty_checked(order: WorkOrder, serial: str) -> Device:
    """R47: repair labour only for equipment out of warranty; refused with the reason."""
    devices = _devices_involved(order)
    wanted = normalise_serial(serial)
    if wanted:
        device = next((d for d in devices if d.serial == wanted), None)
        if device is None:
            raise RuleViolation(
                _("Serial %(serial)s is not equipment of this customer or this visit.")
                % {"serial": wanted}, field="serial", rule="R47")
    elif len(devices) == 1:
        device = devices[0]
    elif not devices:
        raise RuleViolation(_("Record the equipment repaired first: its warranty decides "
                              "whether labour is charged."), field="serial", rule="R47")
    else:
        raise RuleViolation(_("Give the serial of the equipment repaired: its warranty "
                              "decides whether labour is charged."), field="serial",
                            rule="R47")
    if device.warranty_until is None:
        raise RuleViolation(
            _("Serial %(serial)s has no warranty date in stock; labour is not charged "
              "until the warehouse records it.") % {"serial": device.serial},
            field="serial", rule="R47")
    if device.in_warranty(clock.today_local()):
        raise RuleViolation(
            _("Serial %(serial)s is under warranty until %(date)s: repair labour is free.")
            % {"serial": device.serial,
               "date": formats.date_format(device.warranty_until, "Y-m-d")},
            field="serial", rule="R47")
    return device


def _material_checked(order: WorkOrder, item: PriceItem, quantity: Decimal) -> None:
    """R46/R47: a chargeable material, at most what the order used (net of corrections)."""
    material = MaterialItem.objects.filter(code=item.material_code).first()
    if material is None or not material.chargeable:
        raise RuleViolation(_("%(code)s is not a chargeable material.")
                            % {"code": item.code}, field="code", rule="R47")
    used = used_on(order, material).get(material.pk, ZERO)
    charged = sum((line.quantity for line in FeeLine.objects.filter(
        order=order, item__material_code=item.material_code, kind=LineKind.CHARGE)), ZERO)
    if charged + quantity > used:
        raise RuleViolation(
            _("Only %(used)s of %(item)s is recorded as used on this order (%(charged)s "
              "charged already); record the material first.")
            % {"used": used.normalize(), "item": material.name,
               "charged": charged.normalize()}, field="quantity", rule="R47")


def _cancel_pending(order: WorkOrder) -> None:
    """The amount changed: a QR code already shown no longer stands (its page says so)."""
    for payment in Payment.objects.select_for_update().filter(order=order,
                                                              status=PaymentStatus.PENDING):
        payment.status = PaymentStatus.CANCELLED
        payment.save(update_fields=["status"])


def fee_line_add(*, order: WorkOrder, by: User, code: str, quantity: Any = 1,
                 serial: str = "") -> FeeLine:
    """R47: charge an item of the price list in force, at its published price. Repair
    labour only when the equipment repaired is out of warranty; a material only up to
    what the order used; nothing after the customer's signature."""
    amount_of = parse_quantity(quantity)
    with transaction.atomic():
        locked = _lock_for_charge(order, by)
        item = find_price(locked, code)
        checked_serial = ""
        if item.category == Category.REPAIR_LABOUR:
            checked_serial = _warranty_checked(locked, serial).serial
        if item.category == Category.MATERIAL:
            _material_checked(locked, item, amount_of)
        now = clock.now()
        line = FeeLine.objects.create(
            order=locked, kind=LineKind.CHARGE, item=item, code=item.code,
            name_zh=item.name_zh, name_en=item.name_en, unit_price=item.unit_price,
            quantity=amount_of,
            amount=(item.unit_price * amount_of).quantize(CENT, rounding=ROUND_HALF_UP),
            serial=checked_serial, at=now, by=by)
        _cancel_pending(locked)
        record_event(order=locked, by=by, action=OrderAction.ADD_CHARGE,
                     from_state=locked.state, to_state=locked.state, at=now,
                     payload={"code": line.code, "quantity": str(line.quantity),
                              "unit_price": str(line.unit_price), "amount": str(line.amount),
                              "serial": line.serial, "total": str(selectors.total(locked))})
    return line


def fee_line_refund(*, line: FeeLine, by: User, reason: str,
                    amount: Any = None) -> FeeLine:
    """R47: a refund is a new negative line naming the charge, by a supervisor, with the
    reason; never more than what is left of that charge. Never an edit."""
    if by is None or not (by.is_superuser or by.has_perm(PERM_REFUND)):
        raise NotPermitted(_("Only a supervisor can refund a charge."),
                           action=OrderAction.REFUND_CHARGE)
    why = str(reason or "").strip()
    if not why:
        raise RuleViolation(_("Say why the charge is refunded."), field="reason", rule="R47")
    with transaction.atomic():
        # A supervisor acts on the line, not on a page of the order: the order as it is now.
        locked = lock_order(WorkOrder.objects.get(pk=line.order_id))
        charge = FeeLine.objects.get(pk=line.pk)
        if charge.kind != LineKind.CHARGE:
            raise RuleViolation(_("Only a charge can be refunded."), field="line",
                                rule="R47")
        left = charge.amount + sum((r.amount for r in charge.refunds.all()), ZERO)
        if amount in (None, ""):
            wanted = left
        else:
            try:
                wanted = Decimal(str(amount).strip())
            except (InvalidOperation, ValueError):
                raise RuleViolation(_("Enter an amount."), field="amount",
                                    rule="R47") from None
            if not wanted.is_finite() or wanted <= 0:
                raise RuleViolation(_("Enter an amount above zero."), field="amount",
                                    rule="R47")
            if wanted != wanted.quantize(CENT):
                raise RuleViolation(_("Give the amount in yuan and fen (two decimal "
                                      "places)."), field="amount", rule="R47")
        if left <= 0:
            raise RuleViolation(_("This charge is refunded in full already."),
                                field="line", rule="R47")
        if wanted > left:
            raise RuleViolation(_("At most ¥%(left)s of this charge is left to refund.")
                                % {"left": left}, field="amount", rule="R47")
        now = clock.now()
        refund = FeeLine.objects.create(
            order=locked, kind=LineKind.REFUND, item=charge.item, code=charge.code,
            name_zh=charge.name_zh, name_en=charge.name_en, unit_price=charge.unit_price,
            quantity=charge.quantity, amount=-wanted.quantize(CENT), refund_of=charge,
            serial=charge.serial, at=now, by=by, reason=why)
        record_event(order=locked, by=by, action=OrderAction.REFUND_CHARGE,
                     from_state=locked.state, to_state=locked.state, at=now, reason=why,
                     payload={"code": charge.code, "amount": str(refund.amount),
                              "refund_of": charge.pk, "total": str(selectors.total(locked))})
    return refund


def payment_request(*, order: WorkOrder, by: User) -> Payment:
    """R47: ask for what the customer owes now, by QR code (the payment backend); a code
    shown before for another amount is replaced. On site or after the signature (the
    customer may pay once they have signed), by the order's technician."""
    with transaction.atomic():
        locked = lock_order(order)
        if by is None or not is_order_technician(locked, by):
            raise NotPermitted(_("Only the order's technician can do this."),
                               action=OrderAction.RECEIVE_PAYMENT)
        if locked.state not in (State.ON_SITE, State.SIGNED_OFF):
            raise RuleViolation(_("Payment is taken during the visit."), field="order",
                                rule="R47")
        due = selectors.balance(locked)
        if due <= 0:
            raise RuleViolation(_("There is nothing to pay on this order."), field="order",
                                rule="R47")
        current = selectors.pending_payment(locked)
        if current is not None and current.amount == due:
            return current  # the same code again (a reload)
        _cancel_pending(locked)
        provider = backend()
        payment = Payment(order=locked, amount=due, backend=provider.name,
                          reference=f"P{locked.pk}-{secrets.token_hex(6).upper()}",
                          nonce=links.new_nonce(), created_at=clock.now(), created_by=by)
        payment.save()
        asked = provider.create(payment)
        payment.qr_payload = asked.qr_payload
        payment.provider_ref = asked.provider_ref
        payment.save(update_fields=["qr_payload", "provider_ref"])
    return payment


def payment_confirm(*, payment: Payment, confirmation: Confirmation | None = None,
                    via: str) -> Payment:
    """R47: the payment is made. Its time is the backend's confirmation (the demo page:
    the moment the customer confirms; a provider: the time its signed callback says), and
    that is the receipt's time. Safe to call twice (a provider repeats callbacks). The
    customer gets the receipt link by SMS."""
    with transaction.atomic():
        # The customer or the provider acts on the payment: the order as it is now.
        order = lock_order(WorkOrder.objects.get(pk=payment.order_id))
        locked = Payment.objects.select_for_update().get(pk=payment.pk)
        if locked.status == PaymentStatus.PAID:
            return locked
        now = clock.now()
        paid_at = confirmation.paid_at if confirmation is not None else now
        if confirmation is not None:
            if confirmation.amount != locked.amount:
                raise RuleViolation(
                    _("The provider confirms ¥%(paid)s, the payment asked ¥%(asked)s.")
                    % {"paid": confirmation.amount, "asked": locked.amount},
                    field="amount", rule="R47")
            if paid_at > now + _SKEW or paid_at < locked.created_at - _SKEW:
                raise RuleViolation(_("The provider's time of payment is not plausible."),
                                    field="paid_at", rule="R47")
        elif locked.status == PaymentStatus.CANCELLED:
            raise RuleViolation(_("The amount changed after this code was shown; scan the "
                                  "new code on the technician's phone."), field="payment",
                                rule="R47")
        # A cancelled payment confirmed by its provider was paid all the same: the money
        # arrived, so it is recorded (the balance shows any difference).
        locked.status = PaymentStatus.PAID
        locked.paid_at = paid_at
        locked.confirmed_via = via
        if confirmation is not None and confirmation.provider_ref:
            locked.provider_ref = confirmation.provider_ref
        locked.save(update_fields=["status", "paid_at", "confirmed_via", "provider_ref"])
        record_event(order=order, by=None, action=OrderAction.RECEIVE_PAYMENT,
                     from_state=order.state, to_state=order.state, at=paid_at,
                     payload={"reference": locked.reference, "amount": str(locked.amount),
                              "backend": locked.backend, "via": via,
                              "paid_at": paid_at.isoformat()})
        _send_receipt(order, locked)
    return locked


def _send_receipt(order: WorkOrder, payment: Payment) -> None:
    url = links.receipt_url(payment)
    values = {"number": order.number, "amount": f"{payment.amount}", "url": url}

    def body() -> str:
        paid = timezone.localtime(payment.paid_at)
        return (_("Order %(number)s: ¥%(amount)s paid at %(time)s. Your receipt: %(url)s")
                % {**values, "time": paid.strftime("%Y-%m-%d %H:%M")})

    sms_customer(order, kind="receipt", body=body, params=values,
                 dedupe_key=f"receipt:{payment.pk}")

