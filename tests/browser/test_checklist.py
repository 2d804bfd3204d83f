"""The on-site checklist on a phone, in real Chromium (R43, R44, R48, R49): the
technician walks it to sign-off (the optical power read from the network, the speeds
typed, the customer's try-out, the clean-up); every page is axe-clean in zh-Hans and
English and fits 320 px without sideways scrolling."""

from __future__ import annotations

import re
from typing import Any

import pytest

from visits.models import Measure, Source, StepKey, StepRecord, TestResult
from workorders.models import Signature, State, WorkOrder

from ..fieldapp.helpers import on_site_with_report
from .conftest import PHONE, Shots, axe_violations, draw_signature, open_page

pytestmark = pytest.mark.django_db(transaction=True)

PAGES = ("", "tests", "tryout", "cleanup", "safety", "decline")


def log_in(page: Any) -> None:
    page.goto("/tech/login/")
    page.fill("#id_username", "alice")
    page.fill("#id_password", "pw-alice")
    with page.expect_navigation():
        page.click("button[type=submit].primary")


def go(page: Any, order: WorkOrder, name: str = "") -> None:
    page.goto(f"/tech/orders/{order.pk}/{name + '/' if name else ''}")


def save(page: Any) -> None:
    with page.expect_navigation():
        page.click("button[data-submit]")


def fits(page: Any) -> bool:
    return bool(page.evaluate(
        "document.documentElement.scrollWidth <= document.documentElement.clientWidth"))


@pytest.mark.usefixtures("visits_alone")
def test_the_checklist_is_walked_to_sign_off_on_a_phone(phone, shots, make_order, alice):
    """R48: the network reading, R43: the try-out, R44: the clean-up, then sign-off."""
    order = on_site_with_report(make_order(State.ON_SITE, technician=alice), checklist=False)
    page = phone
    log_in(page)
    go(page, order)
    shots("checklist")
    assert page.locator("[data-step=sign-off]").count() == 0
    assert page.locator("[data-blocker]").count() == 1

    page.click("[data-checklist=tests] a.step-link")
    page.wait_for_url(re.compile(r"/tests/$"))
    with page.expect_navigation():
        page.click("[data-step=read-line]")
    page.fill("#id_speed_down", "471")
    page.fill("#id_speed_up", "48")
    shots("tests")
    save(page)

    page.click("[data-checklist=tryout] a.step-link")
    page.wait_for_url(re.compile(r"/tryout/$"))
    page.check("input[name=tried][value=internet]")
    page.check("input[name=worked][value=yes]")
    page.check("input[name=explained][value=use]")
    shots("tryout")
    save(page)

    page.click("[data-checklist=cleanup] a.step-link")
    page.wait_for_url(re.compile(r"/cleanup/$"))
    page.check("#id_done")
    shots("cleanup")
    save(page)

    shots("ready")
    assert page.locator("[data-blocker]").count() == 0
    with page.expect_navigation():
        page.click("[data-step=sign-off]")
    page.fill("#id_signer_name", "张伟")
    page.check("input[name=rating][value='5']")
    draw_signature(page)
    save(page)

    order.refresh_from_db()
    assert order.state == State.SIGNED_OFF
    rx = TestResult.objects.get(order=order, measure=Measure.RX_POWER)
    assert rx.source == Source.NETWORK
    assert StepRecord.objects.get(order=order, step=StepKey.TRYOUT).data["worked"] is True
    assert Signature.objects.get(order=order).content_intact


@pytest.mark.parametrize("locale", ["zh-CN", "en-US"])
def test_the_checklist_pages_are_accessible_and_fit_320_px(browser, live_server, make_order,
                                                           alice, locale, request):
    order = on_site_with_report(make_order(State.ON_SITE, technician=alice), checklist=False)
    options = {**PHONE, "locale": locale, "viewport": {"width": 320, "height": 640}}
    for page in open_page(browser, live_server, options):
        shots = Shots(page, request.node.name)
        log_in(page)
        problems: dict[str, list[str]] = {}
        for name in PAGES:
            go(page, order, name)
            shots(name or "order")
            found = axe_violations(page)
            if found:
                problems[name or "order"] = found
            assert fits(page), f"{name or 'order'} scrolls sideways at 320 px"
        assert not problems, problems
