"""The alerts inbox in real Chromium (issue 14, part 7): the header's unread count changes
by itself when the SLA engine records a breach (R38), the inbox lists it in words with its
order, acknowledging clears the count, and the pages pass axe-core."""

from __future__ import annotations

import datetime as dt

import pytest

from sla import engine
from sla.timers import Timer, TimerStatus
from workorders.models import State

from .conftest import Shots, axe_violations, log_in

pytestmark = pytest.mark.django_db(transaction=True)


def test_a_breach_raises_the_unread_count_without_a_reload(desk, request, settings,
                                                           make_order, dispatcher, alice):
    settings.CONSOLE_REFRESH_SECONDS = 2
    shots = Shots(desk, request.node.name)
    order = make_order(State.DISPATCHED, technician=alice)
    page = desk
    log_in(page, dispatcher, "/admin/workorders/workorder/queue/")
    page.wait_for_selector("#queue-table")
    link = page.locator("#alerts-link")
    assert link.inner_text().strip() == "提醒"
    page.evaluate("() => { window.__same_page = true; }")

    timer = Timer.objects.filter(order=order, status=TimerStatus.ARMED).order_by("due_at")[0]
    engine.sweep_all(now=timer.due_at + dt.timedelta(minutes=1))
    page.wait_for_selector("#alerts-link .alerts-unread", timeout=10_000)
    unread = int(page.locator("#alerts-link .alerts-unread").inner_text())
    assert unread >= 1
    assert page.evaluate("() => window.__same_page === true")  # no reload
    shots("count")

    page.click("#alerts-link")
    page.wait_for_selector("#alerts-table")
    first = page.locator("#alerts-table tbody tr").first
    assert "承诺已违约" in first.inner_text() and order.number in first.inner_text()
    assert axe_violations(page) == []
    page.emulate_media(color_scheme="dark")
    assert axe_violations(page) == []
    page.emulate_media(color_scheme="light")
    shots("inbox")

    with page.expect_navigation():
        page.click("text=确认本页所有提醒")
    assert page.locator("#alerts-link .alerts-unread").count() == 0
    assert "没有未读提醒" in page.locator("#content").inner_text()
