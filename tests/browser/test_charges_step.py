"""Charges (R47) on a phone in real Chromium, in zh-Hans and English: the technician
adds a line from the price list, sees the total, shows the QR code; the customer opens
the code's page, pays, and reads the receipt with the payment's time. Every page passes
axe-core (no serious or critical problem) and reflows at 320 px without sideways
scrolling."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import urlsplit

import pytest

from charges.models import Payment, PaymentStatus
from tests.charges.conftest import prices  # noqa: F401 (fixture)
from workorders.models import State

from .conftest import axe_violations, open_page

pytestmark = pytest.mark.django_db(transaction=True)

NARROW = {"viewport": {"width": 320, "height": 640}, "device_scale_factor": 1,
          "is_mobile": True, "has_touch": True}
SIDEWAYS = """() => Math.max(document.documentElement.scrollWidth,
                             document.body.scrollWidth) - window.innerWidth"""


def log_in(page: Any) -> None:
    page.goto("/tech/")
    page.fill("#id_username", "alice")
    page.fill("#id_password", "pw-alice")
    page.click("button[type=submit].primary")
    page.wait_for_url(re.compile(r"/tech/$"))


def fits(page: Any) -> None:
    assert page.evaluate(SIDEWAYS) <= 0, f"{page.url} scrolls sideways at 320 px"
    assert axe_violations(page) == []


@pytest.mark.parametrize("locale", ["zh-CN", "en-US"])
def test_a_charge_the_qr_code_and_the_receipt(browser, live_server, make_order, alice,
                                              prices, locale):  # noqa: F811
    # R47: a line from the published list, the total, the QR code, paid, the receipt
    order = make_order(State.ON_SITE, technician=alice)
    for page in open_page(browser, live_server, {**NARROW, "locale": locale}):
        log_in(page)
        page.goto(f"/tech/orders/{order.pk}/charges/")
        fits(page)
        page.check("input[name=code][value=T-ROUTER]")
        page.fill("input[name=quantity]", "-1")
        with page.expect_navigation():
            page.click("button[data-submit]")
        assert page.locator("#field-quantity .errorlist").count() == 1  # said on the field
        fits(page)
        page.check("input[name=code][value=T-ROUTER]")
        page.fill("input[name=quantity]", "2")
        with page.expect_navigation():
            page.click("button[data-submit]")
        assert page.inner_text("[data-total]") == "318.00"
        with page.expect_navigation():
            page.click("button[data-show-qr]")
        assert page.locator("[data-qr] svg").is_visible()
        fits(page)
        payment = Payment.objects.get(order=order, status=PaymentStatus.PENDING)

        for customer in open_page(browser, live_server, {**NARROW, "locale": locale}):
            customer.goto(urlsplit(payment.qr_payload).path)
            assert "318.00" in customer.inner_text("main")
            fits(customer)
            with customer.expect_navigation():
                customer.click("button[data-pay]")
            assert "/rc/" in customer.url
            assert customer.locator("[data-paid-at]").is_visible()
            fits(customer)
        payment.refresh_from_db()
        assert payment.status == PaymentStatus.PAID

        page.reload()
        assert page.locator("[data-paid-note]").is_visible()
        fits(page)
