"""After an outage's repair the customer says on a phone, in real Chromium, whether service
is back (R54): the SMS link opens without a login, "yes" closes the repair order without a
visit, the link then only thanks, and the page passes axe-core and fits a phone."""

from __future__ import annotations

import datetime as dt
import re
from urllib.parse import urlsplit

import pytest

from fieldops import clock
from notifications.models import Notification
from outages import services
from outages.models import Link, OutageOrder
from workorders.models import Kind, State, WorkOrder

from .conftest import axe_violations

pytestmark = pytest.mark.django_db(transaction=True)


def answer_path(order: WorkOrder) -> str:
    body = Notification.objects.filter(order=order, kind="outage_repaired").get().body
    return urlsplit(re.search(r"https?://\S+", body).group(0)).path


def test_the_customer_says_service_is_back_on_a_phone(phone, shots, make_order, dispatcher,
                                                      east):
    order = make_order(State.ACCEPTED, kind=Kind.REPAIR)
    outage = services.declare(by=dispatcher, area=east, explanation="东四路段光缆被挖断.",
                              eta=clock.now() + dt.timedelta(hours=4))
    services.mark_repaired(outage, by=dispatcher, note="熔接完成")
    page = phone
    path = answer_path(order)
    page.goto(path)
    shots("question")
    assert order.number in page.inner_text("main")
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    assert axe_violations(page) == []
    with page.expect_navigation():
        page.click("button[data-answer=yes]")
    shots("thanks")
    assert page.locator("[data-result=resolved]").count() == 1
    assert page.locator("form[data-outage-answer]").count() == 0
    assert WorkOrder.objects.get(pk=order.pk).state == State.RESOLVED_REMOTELY
    assert OutageOrder.objects.get(order=order).state == Link.RESOLVED
    page.goto(path[:-3] + "xx/")  # a damaged link: a kind refusal
    assert page.locator("[data-error=invalid]").count() == 1
