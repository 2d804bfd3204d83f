"""The customer signs on the technician's phone with signature_pad (R26), in real
Chromium: the vendored script loads from the site under the CSP, Clear empties the pad,
and the server stores the drawing with its strokes and their timing."""

from __future__ import annotations

from typing import Any

import pytest

from workorders.models import Signature, State

from ..fieldapp.helpers import on_site_with_report
from .test_field_visit import log_in, submit, tap_step

pytestmark = pytest.mark.django_db(transaction=True)

#: A zigzag across the pad, as fractions of its width and height.
ZIGZAG = [(0.2, 0.2), (0.35, 0.8), (0.5, 0.25), (0.7, 0.75), (0.9, 0.3)]


def draw(page: Any, pad: Any, path: list[tuple[float, float]]) -> None:
    box = pad.bounding_box()
    page.mouse.move(box["x"] + 30, box["y"] + box["height"] * 0.7)
    page.mouse.down()
    for i, (dx, dy) in enumerate(path):
        page.mouse.move(box["x"] + box["width"] * dx, box["y"] + box["height"] * dy,
                        steps=6 + i)
        page.wait_for_timeout(40)  # a hand takes time; the strokes record it
    page.mouse.up()


def test_the_customer_signs_with_signature_pad_and_the_strokes_keep_their_timing(
        phone, shots, make_order, alice):
    # R26
    order = on_site_with_report(make_order(State.ON_SITE, technician=alice))
    page = phone
    vendored = []
    page.on("response", lambda r: vendored.append(r) if "/vendor/signature_pad/" in r.url
            else None)
    log_in(page, shots)
    page.click(f"[data-order={order.number}]")
    tap_step(page, "sign-off")
    assert [r.status for r in vendored] == [200]
    assert page.evaluate("typeof window.SignaturePad") == "function"

    page.fill("#id_signer_name", "张伟")
    page.check("input[name=rating][value='5']")
    pad = page.locator("canvas[data-signature]")
    pad.scroll_into_view_if_needed()
    draw(page, pad, [(0.8, 0.2)])
    page.click("[data-clear]")  # a slip: cleared, signed again
    shots("cleared")
    draw(page, pad, ZIGZAG)
    draw(page, pad, [(0.6, 0.9), (0.95, 0.85)])
    shots("signed")
    box = pad.bounding_box()
    submit(page)
    assert page.locator(".errorlist").count() == 0, page.inner_text("main")

    signature = Signature.objects.get(order=order)
    assert signature.seal_valid and signature.signer_name == "张伟"
    strokes = signature.strokes
    assert len(strokes) == 2, strokes  # the cleared stroke is gone
    for stroke in strokes:
        assert len(stroke) >= 2
        assert all(len(point) == 3 and all(isinstance(v, int) for v in point)
                   for point in stroke)
        assert all(0 <= x <= box["width"] and 0 <= y <= box["height"] for x, y, _ms in stroke)
    times = [ms for stroke in strokes for _x, _y, ms in stroke]
    assert times[0] == 0 and times == sorted(times)
    assert times[-1] >= 200  # five segments of 40 ms or more, then a second stroke


def test_one_thumb_signs_by_touch_without_scrolling_the_page(phone, shots, make_order, alice):
    # R26: the customer holds the phone and signs with a thumb (touch events, not a mouse).
    order = on_site_with_report(make_order(State.ON_SITE, technician=alice))
    page = phone
    log_in(page, shots)
    page.click(f"[data-order={order.number}]")
    tap_step(page, "sign-off")
    page.fill("#id_signer_name", "李娜")
    page.check("input[name=rating][value='4']")
    pad = page.locator("canvas[data-signature]")
    pad.scroll_into_view_if_needed()
    box = pad.bounding_box()
    scrolled = page.evaluate("window.scrollY")
    cdp = page.context.new_cdp_session(page)
    x0, y0 = box["x"] + 20, box["y"] + box["height"] * 0.5

    def touch(kind: str, x: float, y: float) -> None:
        points = [] if kind == "touchEnd" else [{"x": x, "y": y, "id": 1}]
        cdp.send("Input.dispatchTouchEvent", {"type": kind, "touchPoints": points})

    touch("touchStart", x0, y0)
    for i in range(1, 25):  # mostly downwards: a page would scroll if the pad let it
        touch("touchMove", x0 + i * 12, y0 - 60 + (i % 2) * 120 * (i / 24))
        page.wait_for_timeout(16)
    touch("touchEnd", 0, 0)
    assert page.evaluate("window.scrollY") == scrolled
    shots("signed-by-thumb")
    submit(page)
    assert page.locator(".errorlist").count() == 0, page.inner_text("main")

    strokes = Signature.objects.get(order=order).strokes
    assert len(strokes) == 1 and len(strokes[0]) >= 5, strokes
    assert strokes[0][-1][2] > strokes[0][0][2] == 0
