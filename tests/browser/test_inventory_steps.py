"""Equipment (R45) and materials (R46) on a phone in real Chromium: a serial typed with
spaces and in lower case, a barcode photo read by the scanner (its WebAssembly from our
static files, loaded only when opened), the materials' steppers; axe-core finds no
serious or critical problem in zh-Hans or English."""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Any

import pytest

from inventory.models import Device, Owner, VanStock
from tests.inventory.conftest import (  # noqa: F401 (fixtures)
    catalogue,
    dsl_model,
    onu_model,
    stock,
)
from workorders.models import State

from .conftest import PHONE, axe_violations, open_page

pytestmark = pytest.mark.django_db(transaction=True)


def log_in(page: Any) -> None:
    page.goto("/tech/")
    page.fill("#id_username", "alice")
    page.fill("#id_password", "pw-alice")
    page.click("button[type=submit].primary")
    page.wait_for_url(re.compile(r"/tech/$"))


def submit(page: Any) -> None:
    with page.expect_navigation():
        page.click("button[data-submit]")


@pytest.mark.parametrize("locale", ["zh-CN", "en-US"])
def test_a_serial_typed_and_the_steppers_on_a_phone(browser, live_server, make_order, alice,
                                                    stock, catalogue, locale):  # noqa: F811
    # R45: typed with spaces, lower case; R46: + and − buttons, drawn from the van
    order = make_order(State.ON_SITE, technician=alice, account_number="KD-1001")
    for page in open_page(browser, live_server, {**PHONE, "locale": locale}):
        loaded: list[str] = []
        page.on("request", lambda request, seen=loaded: seen.append(request.url))
        log_in(page)
        page.goto(f"/tech/orders/{order.pk}/equipment/")
        assert axe_violations(page) == []
        assert not [u for u in loaded if "barcode-detector" in u or ".wasm" in u]
        page.fill("input[name=serial]", " zteg0000 0001 ")
        submit(page)
        assert "ZTEG00000001" in page.inner_text("main")
        assert Device.objects.get(serial="ZTEG00000001").owner == Owner.CUSTOMER
        page.fill("input[name=serial]", "ZTEG00000001")
        submit(page)  # a duplicate scan: refused on the field
        assert page.locator("#field-serial .errorlist").count() == 1
        assert axe_violations(page) == []

        page.goto(f"/tech/orders/{order.pk}/materials/")
        assert axe_violations(page) == []
        connector, fibre = catalogue["connector"], catalogue["fibre"]
        plus = f"[data-for=id_item-{connector.pk}][data-by='1']"
        minus = f"[data-for=id_item-{connector.pk}][data-by='-1']"
        page.click(plus)
        page.click(plus)
        page.click(plus)
        page.click(minus)
        assert page.input_value(f"#id_item-{connector.pk}") == "2"
        page.fill(f"#id_item-{fibre.pk}", "35.5")
        page.click(f"[data-for=id_item-{fibre.pk}][data-by='1']")
        assert page.input_value(f"#id_item-{fibre.pk}") == "36.5"
        submit(page)
        assert VanStock.objects.get(technician=alice, item=connector).quantity == Decimal(18)
        assert VanStock.objects.get(technician=alice, item=fibre).quantity == Decimal("263.5")
        page.goto(f"/tech/orders/{order.pk}/materials/")
        assert "36.5" in page.inner_text("main")
        assert axe_violations(page) == []
        width = page.evaluate("() => document.documentElement.scrollWidth")
        assert width <= PHONE["viewport"]["width"]


WRITE_BARCODE = """async (serial) => {
  await new Promise((resolve, reject) => {
    const script = document.createElement("script");
    script.src = "/static/vendor/zxing-wasm/iife/writer/index.js";
    script.onload = resolve; script.onerror = reject;
    document.head.appendChild(script);
  });
  ZXingWASM.prepareZXingModule({overrides: {locateFile: (path, prefix) =>
    path.endsWith(".wasm") ? "/static/vendor/zxing-wasm/writer/" + path : prefix + path}});
  const result = await ZXingWASM.writeBarcode(serial, {format: "Code128", scale: 3});
  const input = document.querySelector("[data-scan-file]");
  const transfer = new DataTransfer();
  transfer.items.add(new File([result.image], "label.png", {type: "image/png"}));
  input.files = transfer.files;
  input.dispatchEvent(new Event("change", {bubbles: true}));
}"""


def test_a_photo_of_the_label_is_read_by_the_scanner(browser, live_server, make_order,
                                                     alice, stock):  # noqa: F811
    # R45: the file-scan path of the polyfill; the reader's wasm comes from our static files
    order = make_order(State.ON_SITE, technician=alice, account_number="KD-1001")
    for page in open_page(browser, live_server, {**PHONE, "locale": "en-US"},
                          timeout_ms=30_000):
        loaded: list[str] = []
        page.on("request", lambda request, seen=loaded: seen.append(request.url))
        log_in(page)
        page.goto(f"/tech/orders/{order.pk}/equipment/")
        page.evaluate(WRITE_BARCODE, "ZTEG00000003")
        page.wait_for_function(
            "() => document.querySelector('input[name=serial]').value !== ''",
            timeout=30_000)
        assert page.input_value("input[name=serial]") == "ZTEG00000003"
        assert any(u.endswith("/static/vendor/zxing-wasm/reader/zxing_reader.wasm")
                   for u in loaded), loaded
        assert all(u.startswith(live_server.url) for u in loaded), loaded
        submit(page)
        assert Device.objects.get(serial="ZTEG00000003").order_id == order.pk
