"""A supervisor reads the SLA dashboard in real Chromium on a tablet: the charts draw, a
filter applies from the URL, and the live "Now" panel shows a breach as soon as the
sweep records it, without a reload (R38, R39). Screenshots: test-artifacts/browser/."""

from __future__ import annotations

import re
from typing import Any

import pytest

from dashboards.tasks import refresh_stale_facts
from fieldops import clock
from sla import engine
from workorders.models import State

from .conftest import Shots, axe_violations, open_page

pytestmark = pytest.mark.django_db(transaction=True)

#: A tablet in landscape (iPad class), in Beijing.
TABLET = {
    "viewport": {"width": 1180, "height": 820},
    "device_scale_factor": 1,
    "has_touch": True,
    "locale": "zh-CN",
    "timezone_id": "Asia/Shanghai",
}


@pytest.fixture
def tablet(browser: Any, live_server: Any) -> Any:
    yield from open_page(browser, live_server, TABLET)


def test_a_supervisor_reads_the_dashboard_filters_it_and_sees_a_breach_arrive(
        tablet, request, settings, make_order, supervisor, alice, bob, east, west):
    # R38, R39
    import datetime as dt

    settings.DASHBOARD_POLL_SECONDS = 1
    shots = Shots(tablet, request.node.name)
    make_order(State.CLOSED, technician=alice)
    make_order(State.CLOSED, technician=bob, area=west)
    make_order(State.ON_SITE, technician=alice)
    late = make_order(State.DISPATCHED, technician=alice)
    refresh_stale_facts()  # what beat does within DASHBOARD_REFRESH_SECONDS
    page = tablet
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))

    page.goto("/dashboard/")
    page.wait_for_url(re.compile(r"/admin/login/"))
    page.fill("#id_username", "sam")
    page.fill("#id_password", "pw-sam")
    page.click("input[type=submit]")
    page.wait_for_url(re.compile(r"/dashboard/$"))

    # Chart.js drew every chart from our own static files.
    for chart in ("daily", "areas", "technicians"):
        page.wait_for_selector(f"[data-chart={chart}] canvas")
    figures = page.locator("[data-figure]")
    assert figures.count() >= 15
    assert page.locator("[data-table=technicians] tbody tr").count() == 2
    page.wait_for_selector("[data-now-body][data-breached]")  # the live panel arrived
    # The quality and exceptions section (R51-R54) is on the page, and axe finds nothing.
    assert page.locator("[data-quality] [data-figure=pass_rate]").count() == 1
    assert page.locator("[data-table=complaints] tbody tr").count() == 3
    assert axe_violations(page) == []
    shots("dashboard")

    # A filter is a shareable URL.
    page.select_option("#id_area", str(east.pk))
    with page.expect_navigation():
        page.click("form[data-filters] button[type=submit]")
    assert f"area={east.pk}" in page.url
    page.wait_for_selector("[data-chart=daily] canvas")
    assert page.locator("[data-table=technicians] tbody tr").count() == 1
    page.wait_for_selector("[data-now-body][data-breached]")
    assert page.locator("[data-now-rows]").count() == 0  # nothing at risk yet
    assert page.input_value("#id_start")  # the period the page is about is shown
    shots("filtered-east")

    # The sweep records the contact breach; the open page shows it on its next poll.
    engine.sweep_all(now=clock.now() + dt.timedelta(minutes=65))
    row = page.wait_for_selector(f"[data-now-rows] tr[data-order={late.number}]")
    assert row is not None
    assert "/admin/workorders/workorder/" in (
        page.locator(f"tr[data-order={late.number}] a").get_attribute("href") or "")
    assert page.locator("[data-now-body]").get_attribute("data-breached") == "1"
    shots("breach-arrived")

    # The technician's scorecard against the area.
    with page.expect_navigation():
        page.click("[data-table=technicians] tbody a")
    page.wait_for_selector("[data-chart=scorecard] canvas")
    assert "Alice Wang" in page.inner_text("main")
    shots("scorecard")
    assert errors == []  # no script failed on any page
