"""The charges step of the technician's pages (R47): add a line from the price list in
force, see the lines and the total, show the payment's QR code. The rules live in
``charges.services``."""

from __future__ import annotations

from typing import Any

from django import forms
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from charges import selectors, services
from charges.models import Category, PaymentStatus
from charges.qr import qr_svg
from fieldops.text import LineField
from workorders.models import State, WorkOrder

from .forms import StepForm


class ChargesForm(StepForm):
    """R47: an item of the published price list, how many, and for repair labour the
    serial of the equipment repaired (its warranty decides)."""

    code = forms.ChoiceField(label=_("Item from the price list"), widget=forms.RadioSelect)
    quantity = forms.CharField(label=_("Quantity"), initial="1", max_length=8,
                               widget=forms.TextInput(attrs={
                                   "inputmode": "decimal", "autocomplete": "off",
                                   "size": 5}))
    serial = LineField(label=_("Serial of the equipment repaired (repair labour only)"),
                       max_length=80, required=False, widget=forms.TextInput(attrs={
                           "autocomplete": "off", "autocapitalize": "characters",
                           "spellcheck": "false"}))

    def __init__(self, *args: Any, order: WorkOrder, **kwargs: Any) -> None:
        super().__init__(*args, order=order, **kwargs)
        self.items = list(selectors.price_list(kind=order.kind))
        field = self.fields["code"]
        assert isinstance(field, forms.ChoiceField)
        field.choices = [(item.code, f"{item.name} · ¥{item.unit_price}")
                         for item in self.items]
        if not any(item.category == Category.REPAIR_LABOUR for item in self.items):
            del self.fields["serial"]


def run_charges(order: WorkOrder, user: Any, data: dict[str, Any],
                request: HttpRequest) -> Any:
    return services.fee_line_add(order=order, by=user, code=data["code"],
                                 quantity=data["quantity"], serial=data.get("serial", ""))


def run_pay(order: WorkOrder, user: Any, data: dict[str, Any], request: HttpRequest) -> Any:
    return services.payment_request(order=order, by=user)


def context(step_name: str, order: WorkOrder) -> dict[str, Any]:
    """What the charges page (the lines, the total, the QR code) and the sign-off page
    (the lines and the total the customer signs) show."""
    if step_name == "charges":
        summary = selectors.summary(order)
        payment = selectors.pending_payment(order)
        return {"charges": summary, "payment": payment,
                "qr": qr_svg(payment.qr_payload) if payment is not None else "",
                "can_add": order.state == State.ON_SITE,
                "paid_status": PaymentStatus.PAID}
    if step_name in ("sign-off", "complete"):
        return {"charges": selectors.summary(order)}
    return {}
