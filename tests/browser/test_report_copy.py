"""The customer's copy of the signed report in real Chromium on a phone (R26, R45, R46,
R47, R48): texted after completion, it shows every sealed part, the signature with its
time and, below it, the payment made after signing with the link to its receipt; it
passes axe-core with no serious or critical violation and does not scroll sideways at
320 px, in zh-Hans and in English; with a row changed after signing it says the seal is
broken; the PDF downloads; a damaged link is refused."""

from __future__ import annotations

from contextlib import nullcontext
from typing import Any

import pytest
from django.db import connection
from django.utils import timezone

from charges import services as charges
from tests.charges.conftest import prices  # noqa: F401
from tests.inventory.conftest import catalogue, dsl_model, onu_model, stock  # noqa: F401
from tests.reports.conftest import complete, visit
from workorders.models import Signature, WorkOrder

from .conftest import PHONE, Shots, open_page
from .test_reflow_axe import LANGUAGES, LAYOUTS, check, check_dark, texted_path

pytestmark = pytest.mark.django_db(transaction=True)


def committed(execute: bool = True) -> Any:
    """In a transactional test the completion's on-commit work runs by itself."""
    return nullcontext()


@pytest.mark.parametrize("language", list(LANGUAGES))
def test_the_customers_copy_on_a_phone(browser, live_server, make_order, alice, stock,  # noqa: F811
                                       catalogue, prices, language):  # noqa: F811
    order = visit(make_order, alice, catalogue)
    charges.fee_line_add(order=order, by=alice.user, code="T-ROUTER")  # R47
    payment = charges.payment_request(order=order, by=alice.user)
    order, signature = complete(order, committed)
    payment = charges.payment_confirm(payment=payment, via="customer page")  # after signing
    path = texted_path(order, "signed_report")
    options = {**PHONE, **LAYOUTS["320px"], "locale": LANGUAGES[language]}
    problems: list[str] = []
    for page in open_page(browser, live_server, options, page_errors=True):
        check(page, path, problems, status=200)
        shots = Shots(page, f"report-copy-{language}")
        shots("copy")
        for name in ("checklist", "tests", "equipment", "materials", "charges"):
            assert page.locator(f"[data-part={name}]").count() == 1, name
        paid = timezone.localtime(payment.paid_at).strftime("%Y-%m-%d %H:%M")
        assert page.inner_text("[data-receipt] [data-paid-at]") == paid
        assert page.inner_text("[data-receipt] [data-paid-amount]") == "¥159.00"
        assert page.locator("[data-seal=intact]").count() == 1
        assert "ZTEG00000001" in page.inner_text("[data-part=equipment]")
        signed = timezone.localtime(Signature.objects.get(pk=signature.pk).signed_at)
        assert page.inner_text("[data-signed-at]") == signed.strftime("%Y-%m-%d %H:%M")
        image = page.locator("img.signature")
        assert image.evaluate("img => img.complete && img.naturalWidth > 0")
        check_dark(page, path, problems)
        page.goto(path)
        page.click("[data-receipt-link]")  # the receipt page, the customer's own link
        assert paid in page.inner_text("[data-paid-at]")
        page.goto(path)
        with page.expect_download() as download:
            page.click("[data-pdf]")
        assert download.value.suggested_filename == f"{order.number}-report.pdf"
        tamper(order)
        check(page, path, problems, status=200)
        assert page.locator("[data-seal=broken] [role=alert]").count() == 1
        shots("broken-seal")
        check(page, "/r/not-a-real-link/", problems, status=404)
    assert not problems, "\n".join(problems)


def tamper(order: WorkOrder) -> None:
    """R46: a material's quantity written straight to the database after signing."""
    with connection.cursor() as cursor:
        cursor.execute("UPDATE inventory_materialuse SET quantity = quantity + 1 "
                       "WHERE order_id = %s", [order.pk])
