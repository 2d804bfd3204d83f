"""Every page a technician or a customer sees, in real Chromium: no serious or critical
axe-core violation, and no sideways scrolling at 320 px wide nor at 200 % zoom (a
1280 px screen zoomed to 640 CSS px), in zh-Hans and in English. The technician's pages:
login, offline, Today, the order in each state that offers different steps (R5-R33) and
every step page it offers; the customer's: the appointment link (R10), a superseded and
a damaged link, the survey (R29) and its thanks; after a visit, the payment page behind
the QR code and the receipt (R47), the signed report's copy at the customer's link and on
the technician's phone (R26, R45-R48); the technician's assessment month and appeal (R53);
the outage link (R54): while the fault is repaired, "is your service back?", the thanks
and a damaged link.
Orders are walked through the real services; one browser for the module, no sleeps."""

from __future__ import annotations

import datetime as dt
import re
from contextlib import nullcontext
from typing import Any
from urllib.parse import urlsplit

import pytest
from django.urls import reverse
from django.utils import timezone

from appointments import services as booking_services
from assessment.models import EntryKind
from charges import links as pay_links
from charges import services as charges
from notifications.models import Notification
from outages import links as outage_links
from outages import services as outage_services
from outages.models import OutageOrder
from tests.charges.conftest import prices  # noqa: F401 (fixture)
from tests.inventory.conftest import (  # noqa: F401 (fixtures)
    catalogue,
    dsl_model,
    onu_model,
    stock,
)
from tests.reports.conftest import complete, visit
from workorders.models import Kind, State, WorkOrder

from ..assessment.helpers import entry
from ..fieldapp.helpers import in_hours, on_site_with_report
from .conftest import PHONE, axe_violations, open_page

pytestmark = pytest.mark.django_db(transaction=True)

LANGUAGES = {"zh-hans": "zh-CN", "en": "en-US"}
LAYOUTS = {
    "320px": {"viewport": {"width": 320, "height": 640}, "device_scale_factor": 1},
    # 200 % zoom: a 1280 × 720 screen shows 640 × 360 CSS px at twice the density.
    "zoom200": {"viewport": {"width": 640, "height": 360}, "device_scale_factor": 2},
}
#: The states whose order page offers a different set of steps.
TECH_STATES = [State.DISPATCHED, State.TAKEN, State.CONTACTED, State.SCHEDULED, State.PARKED,
               State.PREPARED, State.EN_ROUTE, State.ON_SITE, State.NOBODY_HOME,
               State.AWAITING_REVISIT, State.SIGNED_OFF, State.REWORK]

#: How far the page is wider than the screen. A mobile browser widens its layout viewport
#: (``innerWidth``) to fit a page that overflows, so the width is the screen's, not
#: ``innerWidth``.
SIDEWAYS = """width => Math.max(document.documentElement.scrollWidth,
                                document.body.scrollWidth, window.innerWidth) - width"""


def texted_path(order: WorkOrder, kind: str | None = None) -> str:
    sms = Notification.objects.filter(order=order, channel="sms")
    if kind:
        sms = sms.filter(kind=kind)
    body = sms.order_by("-id")[0].body
    return urlsplit(re.search(r"https?://\S+", body).group(0)).path


def check(page: Any, path: str, problems: list[str], *, status: int | None = None) -> None:
    """Open ``path``; record what axe finds, sideways scrolling and a wrong status."""
    width = page.viewport_size["width"]
    response = page.goto(path)
    assert response is not None
    if status is not None and response.status != status:
        problems.append(f"{path}: status {response.status}, expected {status}")
    if response.status >= 500:
        problems.append(f"{path}: status {response.status}")
    overflow = page.evaluate(SIDEWAYS, width)
    if overflow > 0:
        wide = page.evaluate("""width => [...document.querySelectorAll('body *')]
            .filter(e => e.getBoundingClientRect().right > width + 0.5)
            .slice(-3).map(e => e.tagName.toLowerCase() + '.' + e.className)""", width)
        problems.append(f"{path}: scrolls sideways by {overflow} px ({wide})")
    # the heading wraps rather than cutting off the order's state
    clipped = page.evaluate("""() => [...document.querySelectorAll('header h1')]
        .some(h => h.scrollWidth > h.clientWidth + 1)""")
    if clipped:
        problems.append(f"{path}: the heading is cut off")
    problems.extend(f"{path}: {v}" for v in axe_violations(page))


def check_dark(page: Any, path: str, problems: list[str]) -> None:
    """The same page in the dark colour scheme (the Call button was 1.58:1 there)."""
    page.emulate_media(color_scheme="dark")
    try:
        page.goto(path)
        problems.extend(f"{path} (dark): {v}" for v in axe_violations(page))
    finally:
        page.emulate_media(color_scheme="light")


def too_small(page: Any, selector: str, path: str, problems: list[str]) -> None:
    """A target a thumb must hit: 44 × 44 CSS px at least."""
    box = page.locator(selector).first.bounding_box()
    if box is None or box["height"] < 44 or box["width"] < 44:
        problems.append(f"{path}: {selector} is {box} (under 44 px)")


def technician_orders(make_order: Any, alice: Any) -> list[WorkOrder]:
    orders = [make_order(state, technician=alice) for state in TECH_STATES]
    orders.append(on_site_with_report(make_order(State.ON_SITE, technician=alice)))
    return orders


@pytest.mark.parametrize("layout", list(LAYOUTS))
@pytest.mark.parametrize("language", list(LANGUAGES))
def test_the_technicians_pages_pass_axe_and_reflow(browser, live_server, make_order, alice,
                                                   language, layout):
    # R41 (own pages), R17 check-in, R26 sign-off, R27 report, every step page
    orders = technician_orders(make_order, alice)
    options = {**PHONE, **LAYOUTS[layout], "locale": LANGUAGES[language]}
    problems: list[str] = []
    for page in open_page(browser, live_server, options):
        check(page, reverse("tech:login"), problems, status=200)
        check(page, reverse("tech:offline"), problems, status=200)
        page.goto(reverse("tech:login"))
        page.fill("#id_username", "alice")
        page.fill("#id_password", "pw-alice")
        with page.expect_navigation():
            page.click("button[type=submit].primary")
        check(page, reverse("tech:today"), problems, status=200)
        seen: set[str] = set()
        for order in orders:
            check(page, reverse("tech:order", args=[order.pk]), problems, status=200)
            too_small(page, "a.btn.call", page.url, problems)
            steps = page.eval_on_selector_all(
                "[data-step]", "els => els.map(e => e.dataset.step)")
            for name in steps:
                if name in seen:
                    continue
                seen.add(name)
                check(page, reverse("tech:step", args=[order.pk, name]), problems)
        check_dark(page, reverse("tech:order", args=[orders[0].pk]), problems)
        check_dark(page, reverse("tech:step", args=[orders[1].pk, "contact"]), problems)
        assert {"accept", "contact", "schedule", "kit", "depart", "check-in", "report",
                "sign-off", "complete", "rework-done"} <= seen, seen
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("layout", list(LAYOUTS))
@pytest.mark.parametrize("language", list(LANGUAGES))
def test_the_customers_pages_pass_axe_and_reflow(browser, live_server, make_order, alice,
                                                 language, layout):
    # R10 the appointment link (fresh, superseded, damaged), R29 the survey and its thanks
    booked = make_order(State.CONTACTED, technician=alice)
    booked = booking_services.work_order_schedule(order=booked, by=alice.user,
                                                  start=in_hours(3), end=in_hours(4))
    first_link = texted_path(booked)
    moved = booking_services.work_order_schedule(order=booked, by=alice.user,
                                                 start=in_hours(26), end=in_hours(27),
                                                 reason="客户改时间", customer_asked=True)
    newest_link = texted_path(moved)
    assert newest_link != first_link
    survey = make_order(State.SURVEY_PENDING, technician=alice)
    survey_link = texted_path(survey, "survey")
    answered = make_order(State.SURVEY_PENDING, technician=alice)
    answered_link = texted_path(answered, "survey")
    options = {**PHONE, **LAYOUTS[layout], "locale": LANGUAGES[language]}
    problems: list[str] = []
    for page in open_page(browser, live_server, options):
        check(page, newest_link, problems, status=200)
        icon = page.get_attribute("link[rel=icon]", "href")
        if not icon or page.request.get(icon).status != 200:
            problems.append(f"{newest_link}: no icon ({icon})")
        if page.request.get("/favicon.ico").status != 200:
            problems.append("/favicon.ico does not lead to the icon")
        too_small(page, "[data-call-technician]", newest_link, problems)
        check_dark(page, newest_link, problems)
        check(page, first_link, problems)  # superseded by the newest SMS
        check(page, "/c/not-a-real-link/", problems)
        check(page, survey_link, problems, status=200)
        check(page, "/s/not-a-real-link/", problems)
        page.goto(answered_link)
        page.check("input[name=satisfied][value=yes]")
        for name in ("punctuality", "conduct", "result"):
            page.check(f"input[name={name}][value='5']")
        with page.expect_navigation():
            page.click("button[data-submit]")
        check(page, answered_link, problems, status=200)  # the thanks
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("layout", list(LAYOUTS))
@pytest.mark.parametrize("language", list(LANGUAGES))
def test_the_customers_outage_pages_pass_axe_and_reflow(browser, live_server, make_order,
                                                        dispatcher, east, west, language,
                                                        layout):
    # R54 the customer's outage link (/o/): while the fault is repaired (the explanation
    # and the estimated repair time), "is your service back?" after the repair, the thanks
    # once answered, and a damaged link; light and dark
    eta = timezone.now() + dt.timedelta(hours=3)
    waiting = make_order(State.ACCEPTED, kind=Kind.REPAIR, area=west)
    open_outage = outage_services.declare(
        by=dispatcher, area=west, eta=eta,
        explanation="西二环路段光缆被挖断, 正在抢修. A fibre cable was cut by road works.")
    repairing_link = reverse("outage:answer", args=[outage_links.token_for(
        OutageOrder.objects.get(outage=open_outage, order=waiting))])
    asked, answered = (make_order(State.ACCEPTED, kind=Kind.REPAIR) for _ in range(2))
    repaired = outage_services.declare(by=dispatcher, area=east, eta=eta,
                                       explanation="东四路段光缆被挖断, 正在抢修.")
    outage_services.mark_repaired(repaired, by=dispatcher, note="熔接完成")
    question_link = texted_path(asked, "outage_repaired")
    answered_link = texted_path(answered, "outage_repaired")
    options = {**PHONE, **LAYOUTS[layout], "locale": LANGUAGES[language]}
    problems: list[str] = []
    for page in open_page(browser, live_server, options):
        check(page, repairing_link, problems, status=200)
        shown_eta = timezone.localtime(eta).strftime("%Y-%m-%d %H:%M")
        said = page.locator("[data-eta]")
        if not said.count() or said.text_content() != shown_eta:  # R54: the ETA
            problems.append(f"{repairing_link}: no estimated repair time {shown_eta}")
        check_dark(page, repairing_link, problems)
        check(page, question_link, problems, status=200)
        for answer in ("yes", "no"):
            too_small(page, f"button[data-answer={answer}]", question_link, problems)
        check_dark(page, question_link, problems)
        page.goto(answered_link)
        with page.expect_navigation():
            page.click("button[data-answer=yes]")
        check(page, answered_link, problems, status=200)  # the thanks
        check_dark(page, answered_link, problems)
        check(page, "/o/not-a-real-link/", problems)
        check_dark(page, "/o/not-a-real-link/", problems)
    assert not problems, "\n".join(problems)


def _after_commit(execute: bool = True) -> Any:
    """In a transactional test the completion's on-commit work (the SMS) runs by itself."""
    return nullcontext()


@pytest.mark.parametrize("layout", list(LAYOUTS))
@pytest.mark.parametrize("language", list(LANGUAGES))
def test_the_pages_after_the_visit_pass_axe_and_reflow(browser, live_server, make_order,
                                                       alice, stock, catalogue,  # noqa: F811
                                                       prices, language, layout):  # noqa: F811
    # R47 the payment page (/pay/) and the receipt (/rc/); R26, R45-R48 the signed report's
    # copy at the customer's link (/r/) and on the technician's phone; R53 the technician's
    # assessment month and appeal
    order = visit(make_order, alice, catalogue)
    charges.fee_line_add(order=order, by=alice.user, code="T-ROUTER")
    payment = charges.payment_request(order=order, by=alice.user)
    order, _ = complete(order, _after_commit)
    copy_path = texted_path(order, "signed_report")
    pay_path = urlsplit(payment.qr_payload).path
    mine = entry(alice, kind=EntryKind.BREACH_ARRIVAL, source="1", at=timezone.now(),
                 order=order)
    options = {**PHONE, **LAYOUTS[layout], "locale": LANGUAGES[language]}
    problems: list[str] = []
    for page in open_page(browser, live_server, options):
        check(page, pay_path, problems, status=200)
        check_dark(page, pay_path, problems)
        check(page, "/pay/not-a-real-link/", problems)
        paid = charges.payment_confirm(payment=payment, via="customer page")
        receipt_path = urlsplit(pay_links.receipt_url(paid)).path
        check(page, receipt_path, problems, status=200)
        check_dark(page, receipt_path, problems)
        check(page, "/rc/not-a-real-link/", problems)
        check(page, copy_path, problems, status=200)
        check(page, "/r/not-a-real-link/", problems, status=404)

        page.goto(reverse("tech:login"))
        page.fill("#id_username", "alice")
        page.fill("#id_password", "pw-alice")
        with page.expect_navigation():
            page.click("button[type=submit].primary")
        check(page, reverse("tech:signed_report", args=[order.pk]), problems, status=200)
        check(page, reverse("tech:assessment"), problems, status=200)
        check(page, reverse("tech:assessment_appeal", args=[mine.pk]), problems, status=200)
        check_dark(page, reverse("tech:assessment"), problems)
    assert not problems, "\n".join(problems)
