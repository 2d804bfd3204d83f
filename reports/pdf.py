"""The signed report as a printable PDF (reportlab), from the same reading as the page
(``reports.copy``): the order, the report, each sealed part's rows (serials R45,
materials R46, fee lines and total R47, test results with their source R48, the
checklist R43/R44/R49), the signature with its time (R26) and whether the seal holds;
below it the payment (R47: amount, the payment's own time, reference, how, the receipt's
address on the customer's copy), which the signature does not cover.

All text is set in reportlab's built-in CID font ``STSong-Light``: it draws Chinese and
Latin alike with no font file to ship, and the text stays extractable (search, screen
readers, the tests)."""

from __future__ import annotations

import datetime as dt
import io
from collections.abc import Sequence
from typing import Any
from xml.sax.saxutils import escape

from django.http import HttpResponse
from django.utils import timezone
from django.utils.translation import gettext as _
from reportlab.lib import colors
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.cidfonts import UnicodeCIDFont
from reportlab.platypus import Flowable, Image, Paragraph, SimpleDocTemplate, Spacer, Table

from workorders import pii

from .copy import Copy

FONT = "STSong-Light"
_registered = False


def _font() -> str:
    global _registered
    if not _registered:
        pdfmetrics.registerFont(UnicodeCIDFont(FONT))
        _registered = True
    return FONT


def _styles() -> dict[str, ParagraphStyle]:
    font = _font()
    body = ParagraphStyle("body", fontName=font, fontSize=10, leading=14, wordWrap="CJK")
    return {
        "body": body,
        "title": ParagraphStyle("title", parent=body, fontSize=16, leading=22, spaceAfter=6),
        "h2": ParagraphStyle("h2", parent=body, fontSize=12, leading=18, spaceBefore=8,
                             spaceAfter=4),
        "label": ParagraphStyle("label", parent=body, textColor=colors.HexColor("#333333")),
        "alert": ParagraphStyle("alert", parent=body, textColor=colors.HexColor("#b00020"),
                                fontSize=11, leading=16),
    }


def _p(text: object, style: ParagraphStyle) -> Paragraph:
    return Paragraph(escape(str(text)).replace("\n", "<br/>"), style)


def _facts(pairs: Sequence[tuple[str, str | Flowable]],
           styles: dict[str, ParagraphStyle]) -> Table:
    table = Table([[_p(label, styles["label"]),
                    value if isinstance(value, Flowable) else _p(value, styles["body"])]
                   for label, value in pairs], colWidths=[40 * mm, None], hAlign="LEFT")
    table.setStyle([("VALIGN", (0, 0), (-1, -1), "TOP"),
                    ("BOTTOMPADDING", (0, 0), (-1, -1), 2), ("TOPPADDING", (0, 0), (-1, -1), 2)])
    return table


def _local(moment: dt.datetime | None) -> str:
    return timezone.localtime(moment).strftime("%Y-%m-%d %H:%M") if moment else "—"


def _link(url: str, style: ParagraphStyle) -> Paragraph:
    safe = escape(url, {'"': "&quot;"})
    return Paragraph(f'<link href="{safe}" color="blue">{safe}</link>', style)


def _receipt(copy: Copy, styles: dict[str, ParagraphStyle]) -> list[Flowable]:
    """R47: the payment, headed as not signed (it may follow the signature)."""
    receipt = copy.receipt
    if receipt is None:
        return []
    story: list[Flowable] = [
        _p(_("Payment (not covered by the signature)"), styles["h2"]),
        _p(_("The customer may pay after signing, so the payment is not part of what was "
             "signed. Its time is the time the payment was confirmed."), styles["body"]),
        Spacer(1, 2 * mm)]
    if receipt.unpaid:
        story += [_p(_("Not paid yet."), styles["body"]),
                  _facts([(_("To pay"), f"¥{receipt.balance}")], styles)]
    elif not receipt.payments:
        story.append(_p(_("Nothing to pay."), styles["body"]))
    for i, payment in enumerate(receipt.payments):
        if i:
            story.append(Spacer(1, 2 * mm))
        where: str | Flowable = (
            _link(payment.receipt_url, styles["body"]) if payment.receipt_url else
            _("Texted to the customer (their own link, not shown on staff copies)"))
        story.append(_facts([(_("Amount paid"), f"¥{payment.amount}"),
                             (_("Paid at"), _local(payment.paid_at)),
                             (_("Reference"), payment.reference),
                             (_("Paid by"), payment.method),
                             (_("Receipt"), where)], styles))
    rest: list[tuple[str, str]] = []
    if receipt.refunded:
        rest.append((_("Refunded"), f"¥{receipt.refunded}"))
    if receipt.payments and receipt.balance:
        rest.append((_("Still to pay"), f"¥{receipt.balance}"))
    if rest:
        story += [Spacer(1, 2 * mm), _facts(rest, styles)]
    return story


def report_pdf(copy: Copy, *, signer: str | None = None) -> bytes:
    """The PDF's bytes. ``signer``: the signer's name as the reader may take it away in a
    file (R40, ``pdf_response``); the signature's own by default (the customer's copy)."""
    styles = _styles()
    order, signature, report = copy.order, copy.signature, copy.report
    story: list[Flowable] = [
        _p(_("Signed visit report"), styles["title"]),
        _p(f"{order.number} · {order.get_kind_display()} · {order.get_service_display()}",
           styles["h2"]),
    ]
    if copy.intact:
        story.append(_p(_("Sealed: this report is exactly what was signed."), styles["body"]))
    else:
        story.append(_p(_("The seal is broken: this report has been changed since it was "
                          "signed. Call us; we will look into it."), styles["alert"]))
    facts: list[tuple[str, str]] = []
    if copy.technician:
        facts.append((_("Technician"), copy.technician))
    if report is not None:
        facts.append((_("Work done"), report.work_done))
        if report.fault_cause:
            facts.append((_("Fault cause"), report.get_fault_cause_display()))
        if report.materials:
            facts.append((_("Materials"), report.materials))
        if report.download_mbps is not None:
            up = f" / ↑ {report.upload_mbps}" if report.upload_mbps is not None else ""
            facts.append((_("Speed"), f"↓ {report.download_mbps}{up} Mbit/s"))
        if report.outstanding_issue:
            facts.append((_("Outstanding"), report.outstanding_issue))
    if order.completed_at:
        facts.append((_("Completed"), _local(order.completed_at)))
    story.append(_facts(facts, styles))
    for part in copy.parts:
        story.append(_p(part.title, styles["h2"]))
        for i, row in enumerate(part.shown.rows):
            if i:
                story.append(Spacer(1, 2 * mm))
            story.append(_facts(row, styles))
        if part.shown.total:
            story.append(Spacer(1, 2 * mm))
            story.append(_facts([(_("Total"), part.shown.total)], styles))
    story.append(_p(_("Signature"), styles["h2"]))
    if copy.signature_png:
        image = Image(io.BytesIO(copy.signature_png))
        image._restrictSize(70 * mm, 30 * mm)
        image.hAlign = "LEFT"
        story.append(image)
    story.append(_facts([(_("Signed by"),
                          signature.signer_name if signer is None else signer),
                         (_("Signed at"), _local(signature.signed_at)),
                         (_("How"), signature.get_method_display()),
                         (_("Rating"), f"{signature.rating} / 5")], styles))
    story += _receipt(copy, styles)
    out = io.BytesIO()
    SimpleDocTemplate(out, pagesize=A4, title=f"{order.number}", author="fieldops",
                      leftMargin=18 * mm, rightMargin=18 * mm, topMargin=18 * mm,
                      bottomMargin=18 * mm).build(story)
    return out.getvalue()


def pdf_response(copy: Copy, *, user: Any = None, where: str = "") -> HttpResponse:
    """The PDF as a download, never kept by a shared browser or a proxy. A staff or
    technician copy (``user``) is an export of the customer's name (R40): in full with one
    access record (``Face.EXPORT``) for whom the policy shows full data, masked for the
    rest. The customer's own copy (no ``user``, their signed link) records nothing."""
    signer = None
    if user is not None:
        signer = pii.name_for_export(user=user, order=copy.order, where=where,
                                     name=copy.signature.signer_name)
    response = HttpResponse(report_pdf(copy, signer=signer), content_type="application/pdf")
    response["Content-Disposition"] = f'attachment; filename="{copy.order.number}-report.pdf"'
    response["Cache-Control"] = "private, no-store"
    return response
