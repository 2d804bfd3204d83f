"""The customer's copy of the signed report: one reading for the page (customer, staff and
technician alike) and the PDF (R26, R27, R45-R48).

It shows what the customer signed as the database holds it now, and says whether that
still matches the signature: ``seal_valid`` (the signature row itself) and
``content_intact`` (the report, photos and every sealed part hash to what was signed). A
row changed behind the services' back shows as a broken seal here.

Below the signature, the payment (R47): what was paid, when (the payment's own time, as
the backend confirmed it), its reference and how, and the receipt. It is not sealed: the
customer may pay after signing (``charges.services.payment_request`` is open on site and
once signed off), so the copy says so and reads it as it is now."""

from __future__ import annotations

import base64
import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.urls import reverse
from django.utils.translation import gettext as _

from charges import links as charge_links
from charges import selectors as charge_selectors
from charges.models import LineKind, Payment
from fieldops.privacy import mask_name
from workorders import pii
from workorders.models import CompletionReport, Face, Signature, WorkOrder

from .parts import Part, parts_of


@dataclass
class PaymentShown:
    """One payment as the receipt has it. ``receipt_path`` / ``receipt_url``: the
    customer's own receipt link, on the customer's copy only (staff copies never carry a
    customer's link, as ``fieldops.signed_links.mask_links``, R40)."""

    amount: Decimal
    paid_at: dt.datetime
    reference: str
    method: str
    receipt_path: str = ""
    receipt_url: str = ""


@dataclass
class Receipt:
    """R47: the order's payments against its charges as they stand now (refunds included):
    ``balance`` is what is still owed; no payment at all means "not paid yet"."""

    total: Decimal
    paid: Decimal
    refunded: Decimal
    balance: Decimal
    payments: list[PaymentShown] = field(default_factory=list)

    @property
    def unpaid(self) -> bool:
        return not self.payments and self.balance > 0


def payment_method(payment: Payment) -> str:
    """How it was paid, in words (never the backend's internal name)."""
    if payment.confirmed_via == "callback":
        how = _("QR code, confirmed by the payment provider")
    else:
        how = _("QR code, confirmed on the customer's payment page")
    if payment.provider_ref:
        return str(_("%(how)s (transaction %(ref)s)")) % {"how": how,
                                                          "ref": payment.provider_ref}
    return str(how)


def receipt_of(order: WorkOrder, *, for_customer: bool = False) -> Receipt | None:
    """The payment side of the order's charges; None when nothing was ever charged."""
    summary = charge_selectors.summary(order)
    lines = summary["lines"]
    if not lines:
        return None
    payments = []
    for payment in summary["payments"]:
        path = url = ""
        if for_customer:
            path = reverse("pay:receipt", args=[charge_links.receipt_token(payment)])
            url = settings.PUBLIC_URL + path
        payments.append(PaymentShown(amount=payment.amount, paid_at=payment.paid_at,
                                     reference=payment.reference,
                                     method=payment_method(payment), receipt_path=path,
                                     receipt_url=url))
    refunded = abs(sum((line.amount for line in lines if line.kind == LineKind.REFUND),
                       Decimal("0.00")))
    return Receipt(total=summary["total"], paid=summary["paid"], refunded=refunded,
                   balance=summary["balance"], payments=payments)


@dataclass
class Copy:
    order: WorkOrder
    signature: Signature
    report: CompletionReport | None
    parts: list[Part]
    seal_valid: bool
    content_intact: bool
    technician: str
    signature_png: bytes
    #: R47: not sealed (the customer may pay after signing); None without charges.
    receipt: Receipt | None = None
    #: The customer's own copy (their signed link): their receipt links are shown.
    for_customer: bool = False
    #: The signer's name as this copy shows it (R40): in full on the customer's own copy
    #: or for a viewer the policy shows full data (recorded, ``context``), else masked.
    signer: str = ""

    @property
    def intact(self) -> bool:
        return self.seal_valid and self.content_intact

    @property
    def signature_data_uri(self) -> str:
        if not self.signature_png:
            return ""
        return "data:image/png;base64," + base64.b64encode(self.signature_png).decode()


def _image(signature: Signature) -> bytes:
    try:
        with signature.image.open("rb") as f:
            return bytes(f.read())
    except (OSError, ValueError):
        return b""


def latest_signature(order: WorkOrder) -> Signature | None:
    """The order's newest signature (a rework visit signs again)."""
    return order.signatures.order_by("-signed_at", "-id").first()


def copy_of(signature: Signature, *, for_customer: bool = False) -> Copy:
    """``for_customer``: read through the customer's signed link (their receipt links are
    theirs to see); staff and technician copies leave them out."""
    order = signature.order
    report = CompletionReport.objects.filter(order=order).first()
    technician = order.technician
    return Copy(order=order, signature=signature, report=report, parts=parts_of(order),
                seal_valid=signature.seal_valid, content_intact=signature.content_intact,
                technician=technician.display_name if technician else "",
                signature_png=_image(signature),
                receipt=receipt_of(order, for_customer=for_customer),
                for_customer=for_customer,
                signer=(signature.signer_name if for_customer
                        else mask_name(signature.signer_name)))


def context(signature: Signature, *, pdf_url: str, back_url: str = "",
            for_customer: bool = False, viewer: Any = None, face: Face | None = None,
            where: str = "") -> dict[str, Any]:
    """The template context of ``report/copy.html``. A staff or technician page (R40,
    issue 18) passes its ``viewer``, ``face`` and ``where``: the signer's name is shown in
    full with an access record (``pii.name_for``) for whom the policy shows full data, and
    masked (张*) for the rest, as in the PDF (``pdf.pdf_response``). Without a viewer a
    staff copy shows it masked; the customer's own copy (their link) shows it in full and
    records nothing."""
    copy = copy_of(signature, for_customer=for_customer)
    if not for_customer and viewer is not None:
        copy.signer = pii.name_for(user=viewer, order=copy.order, face=face or Face.ADMIN,
                                   where=where, name=signature.signer_name)
    return {"copy": copy, "pdf_url": pdf_url, "back_url": back_url}
