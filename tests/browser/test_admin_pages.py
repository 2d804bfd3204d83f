"""The dispatcher's stock admin pages in real Chromium pass axe-core with no serious or
critical violation, light and dark (issue 14: every console page): the order list with its
filters and search, one order's page with its history, the customers and technicians."""

from __future__ import annotations

import pytest
from django.urls import reverse

from workorders.models import Kind, State

from .conftest import axe_violations, log_in

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.mark.parametrize("where", ["order list", "order page", "customer list",
                                   "technician list", "appointment list", "callback list"])
def test_the_stock_admin_pages_pass_axe(desk, make_order, dispatcher, alice, where):
    order = make_order(State.SCHEDULED, technician=alice)
    make_order(State.ACCEPTED, kind=Kind.REPAIR)
    url = {
        "order list": reverse("admin:workorders_workorder_changelist"),
        "order page": reverse("admin:workorders_workorder_change", args=[order.pk]),
        "customer list": reverse("admin:workorders_customer_changelist"),
        "technician list": reverse("admin:technicians_technician_changelist"),
        "appointment list": reverse("admin:appointments_appointment_changelist"),
        "callback list": reverse("admin:surveys_callback_changelist"),
    }[where]
    page = desk
    log_in(page, dispatcher, url)
    page.wait_for_selector("#content")
    assert page.url.endswith(url)
    assert axe_violations(page) == []
    page.emulate_media(color_scheme="dark")
    assert axe_violations(page) == []
