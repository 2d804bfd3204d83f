"""No page breaks under the Content-Security-Policy: the admin desk, the API docs (Swagger
UI), the dashboards, the technician's and the customer's pages open in real Chromium and
draw without one violation logged. (The other browser tests check the same on every page
they open: the ``phone`` fixture.)

Defect covered (issue 18, item 6): no page had a Content-Security-Policy; adding one must
not silently break a page.
"""

from __future__ import annotations

import re

import pytest
from django.contrib.auth.models import User

from workorders.models import State

from .conftest import watch_csp

pytestmark = pytest.mark.django_db(transaction=True)


def test_the_desk_the_docs_and_the_dashboards_run_under_the_policy(
        browser, live_server, make_order, alice, supervisor):
    done = make_order(State.SURVEY_PENDING, technician=alice)  # signed: a drawn signature
    User.objects.create_superuser("root", password="pw-root-admin")
    context = browser.new_context(base_url=live_server.url,
                                  viewport={"width": 1280, "height": 900})
    context.set_default_timeout(15_000)
    page = context.new_page()
    violations = watch_csp(page)
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))

    page.goto("/admin/login/")
    page.fill("#id_username", "root")
    page.fill("#id_password", "pw-root-admin")
    page.click("input[type=submit]")
    page.wait_for_url(re.compile(r"/admin/$"))
    def visit(url: str) -> None:
        page.goto(url)
        page.wait_for_load_state("load")
        assert not violations, violations  # named by page, before any wait for drawing

    for url in ("/admin/workorders/workorder/",
                f"/admin/workorders/workorder/{done.pk}/change/",
                "/admin/workorders/workorder/intake/",
                "/admin/workorders/workorder/board/",
                "/admin/surveys/callback/",
                "/admin/workorders/piiaccess/",
                "/admin/notifications/notification/"):
        visit(url)
    # The order list's actions and filters are the admin's own scripts.
    visit("/admin/workorders/workorder/")
    page.check("#action-toggle")
    assert page.locator(".action-counter").inner_text().strip()

    visit("/api/v1/docs/")
    page.wait_for_selector(".swagger-ui .info .title")

    visit("/dashboard/")
    page.wait_for_selector("[data-chart=daily] canvas")
    page.wait_for_selector("[data-now-body][data-breached]")  # the polled panel arrived
    context.close()
    assert not violations, violations
    assert not errors, errors
