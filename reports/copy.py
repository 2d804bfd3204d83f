"""The customer's copy of the signed report: one reading for the page (customer, staff and
technician alike) and the PDF (R26, R27, R45-R48).

It shows what the customer signed as the database holds it now, and says whether that
still matches the signature: ``seal_valid`` (the signature row itself) and
``content_intact`` (the report, photos and every sealed part hash to what was signed). A
row changed behind the services' back shows as a broken seal here."""

from __future__ import annotations

import base64
from dataclasses import dataclass
from typing import Any

from workorders.models import CompletionReport, Signature, WorkOrder

from .parts import Part, parts_of


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


def copy_of(signature: Signature) -> Copy:
    order = signature.order
    report = CompletionReport.objects.filter(order=order).first()
    technician = order.technician
    return Copy(order=order, signature=signature, report=report, parts=parts_of(order),
                seal_valid=signature.seal_valid, content_intact=signature.content_intact,
                technician=technician.display_name if technician else "",
                signature_png=_image(signature))


def context(signature: Signature, *, pdf_url: str, back_url: str = "") -> dict[str, Any]:
    """The template context of ``report/copy.html``."""
    return {"copy": copy_of(signature), "pdf_url": pdf_url, "back_url": back_url}
