"""The fee lines in what the customer signs (R26, R47): the sealed part, the checklist's
charges step, a fee row changed in the database after signing caught by the seal check;
a refund later by a supervisor does not break the customer's seal."""

from __future__ import annotations

import io
from decimal import Decimal
from typing import Any

import pytest
from django.db import connection
from django.urls import reverse
from pypdf import PdfReader

from charges import services
from reports import links
from tests.fieldapp.helpers import STROKES_JSON, on_site_with_report, signature_png
from workorders import services as order_services
from workorders.models import WorkOrder
from workorders.visit_parts import sealed_parts, visit_steps_done

pytestmark = pytest.mark.django_db


@pytest.fixture
def charged(make_order: Any, alice: Any, prices: Any) -> WorkOrder:
    order = make_order("on_site", technician=alice, kind="move")
    services.fee_line_add(order=order, by=alice.user, code="T-MOVE")
    services.fee_line_add(order=order, by=alice.user, code="T-ROUTER", quantity=2)
    return on_site_with_report(order)


def _sign(order: WorkOrder) -> Any:
    return order_services.work_order_customer_sign_off(
        order=order, by=order.technician.user, signature=signature_png(),
        strokes=STROKES_JSON, signer_name="张伟", rating=5)


def test_the_sealed_part_holds_the_lines_and_the_total(charged):
    # R26, R47: what the customer signs: each line as shown, and the total
    part = sealed_parts(charged)["charges"]
    assert part["total"] == "418.00"
    assert [(line["code"], line["quantity"], line["amount"]) for line in part["lines"]] == [
        ("T-MOVE", "1.0", "100.00"), ("T-ROUTER", "2.0", "318.00")]
    assert part["lines"][0]["name_zh"] == "移机服务费"


def test_an_order_without_charges_seals_as_before_and_its_step_is_to_do(make_order, alice,
                                                                       prices):
    # R47: no lines, no part (the hash of orders without charges is unchanged)
    order = make_order("on_site", technician=alice)
    assert "charges" not in sealed_parts(order)
    assert visit_steps_done(order)["charges"] is False
    services.fee_line_add(order=order, by=alice.user, code="T-ROUTER")
    assert visit_steps_done(order)["charges"] is True


def test_a_fee_changed_in_the_database_after_signing_breaks_the_seal(charged):
    # R26, R47: the signature's hash covers the fee lines; a row changed behind the
    # services' back is caught by the seal check
    signature = _sign(charged)
    assert signature.content_intact
    with connection.cursor() as cursor:
        cursor.execute("UPDATE charges_feeline SET amount = %s WHERE order_id = %s "
                       "AND code = %s", [Decimal("10.00"), charged.pk, "T-MOVE"])
    signature.refresh_from_db()
    assert not signature.content_intact


def test_a_line_slipped_in_after_signing_breaks_the_seal(charged, alice):
    # R47: a line added in the database after the signature
    signature = _sign(charged)
    line = charged.fee_lines.first()
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO charges_feeline (order_id, kind, item_id, code, name_zh, name_en, "
            "unit_price, quantity, amount, serial, at, by_id, reason) SELECT order_id, kind, "
            "item_id, code, name_zh, name_en, unit_price, quantity, amount, serial, at, "
            "by_id, reason FROM charges_feeline WHERE id = %s", [line.pk])
    assert not signature.content_intact


def test_a_refund_after_signing_keeps_the_seal(charged, supervisor):
    # R47: the refund is its own line and event, after the customer's signature
    signature = _sign(charged)
    services.fee_line_refund(line=charged.fee_lines.get(code="T-MOVE"), by=supervisor,
                             reason="移机未完成")
    assert signature.content_intact


def test_the_customers_copy_and_its_pdf_show_the_signed_fee_lines_and_total(charged, client):
    # R26, R47: the document the customer keeps shows each charge and the total signed
    signature = _sign(charged)
    token = links.token_for(signature)
    client.defaults["HTTP_ACCEPT_LANGUAGE"] = "en"
    page = client.get(reverse("report:copy", args=[token])).content.decode()
    section = page.split('data-part="charges"')[1].split("</section>")[0]
    assert "Moving fee" in section and "Wi-Fi router" in section and "418.00" in section
    pdf = client.get(links.pdf_url(token))
    assert pdf.status_code == 200
    text = "\n".join(p.extract_text() for p in PdfReader(io.BytesIO(pdf.content)).pages)
    for expected in ("100.00", "318.00", "418.00"):
        assert expected in text, expected
