"""A dispatcher's queue in real Chromium on a desk screen: the login lands on it, a new
order shows up by itself within the refresh time (no reload), a filter is a URL, and the
page loads nothing the Content-Security-Policy refuses (R38)."""

from __future__ import annotations

import re

import pytest

from workorders.models import Kind, State

from .conftest import Shots, axe_violations

pytestmark = pytest.mark.django_db(transaction=True)


def test_the_queue_is_home_and_shows_a_new_order_without_a_reload(desk, request, settings,
                                                                  make_order, dispatcher,
                                                                  alice):
    settings.CONSOLE_REFRESH_SECONDS = 2
    shots = Shots(desk, request.node.name)
    first = make_order(State.DISPATCHED, technician=alice)
    page = desk
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))

    page.goto("/admin/")
    page.wait_for_url(re.compile(r"/admin/login/"))
    page.fill("#id_username", dispatcher.username)
    page.fill("#id_password", "pw-" + dispatcher.username)
    page.click("input[type=submit]")
    page.wait_for_url(re.compile(r"/admin/workorders/workorder/queue/$"))
    row = page.locator(f"tr[data-order='{first.number}']")
    assert row.count() == 1
    assert re.search(r"\d+ 分钟", row.locator("td").first.inner_text())  # time left in words
    shots("queue")

    marker = page.evaluate("() => { window.__same_page = true; return true; }")
    assert marker
    second = make_order(State.ACCEPTED, kind=Kind.REPAIR)
    # within the refresh time (2 s here; 5 s by default), the table alone is fetched again
    page.wait_for_selector(f"tr[data-order='{second.number}']", timeout=10_000)
    assert page.evaluate("() => window.__same_page === true")  # no reload happened
    shots("new-order-arrived")

    page.select_option("#id_kind", "repair")
    with page.expect_navigation():
        page.click("form.queue-filters button[type=submit]")
    assert "kind=repair" in page.url
    assert page.locator(f"tr[data-order='{second.number}']").count() == 1
    assert page.locator(f"tr[data-order='{first.number}']").count() == 0
    assert not errors, errors


def test_the_queue_passes_axe_with_no_serious_or_critical_violation(desk, make_order,
                                                                   dispatcher, alice):
    make_order(State.DISPATCHED, technician=alice)
    make_order(State.ACCEPTED, kind=Kind.REPAIR)
    page = desk
    page.goto("/admin/login/?next=/admin/workorders/workorder/queue/")
    page.fill("#id_username", dispatcher.username)
    page.fill("#id_password", "pw-" + dispatcher.username)
    page.click("input[type=submit]")
    page.wait_for_selector("#queue-table tbody tr")
    assert axe_violations(page) == []
    page.emulate_media(color_scheme="dark")  # the admin's dark theme too
    assert axe_violations(page) == []
