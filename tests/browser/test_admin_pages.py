"""The dispatcher's stock admin pages in real Chromium pass axe-core with no serious or
critical violation, light and dark (issue 14: every console page): the order list with its
filters and search, one order's page with its history, the customers and technicians; and
the desk's own pages: the order actions' forms and intake, the outages (R54), complaints
(R51) and inspections (R52), their lists, pages and forms."""

from __future__ import annotations

import datetime as dt

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


# --- The desk's own pages (issue 14: every console page) --------------------------------

def _check_light_and_dark(page) -> None:
    page.wait_for_selector("#content")
    assert axe_violations(page) == []
    page.emulate_media(color_scheme="dark")
    assert axe_violations(page) == []


#: The order actions' forms (console/admin/orders.py DESK_ACTIONS): the technician ranked
#: with reasons (R4, R33), a reason, a date to wait until (R12), a callback's words (R19),
#: a survey answer (R29, R31); and the desk's intake form (R1, R3).
DESK_PAGES = ["dispatch", "reassign", "reassign_rework", "unassign", "park", "resume",
              "resolve_remotely", "return_from_abnormal", "close_satisfied", "cancel",
              "intake"]


@pytest.mark.parametrize("action", DESK_PAGES)
def test_the_order_action_pages_pass_axe(desk, make_order, dispatcher, alice, east, action):
    from tests.conftest import make_technician

    order = make_order(State.DISPATCHED, technician=alice)
    make_technician("near", areas=[east], full_name="Jin Jin")
    make_technician("copper", areas=[east], access=("xdsl",), full_name="Tong Xian")
    url = (reverse("admin:workorders_workorder_intake") if action == "intake" else
           reverse("admin:workorders_workorder_act", args=[order.pk, action]))
    log_in(desk, dispatcher, url)
    assert desk.url.endswith(url)
    _check_light_and_dark(desk)


@pytest.fixture
def outage(make_order, dispatcher, east):
    """An outage of the east area (R54) holding one repair order."""
    from fieldops import clock
    from outages import services as outage_services

    make_order(State.ACCEPTED, kind=Kind.REPAIR)
    return outage_services.declare(by=dispatcher, explanation="东四光缆被挖断, 正在抢修",
                                   eta=clock.now() + dt.timedelta(hours=4), area=east)


@pytest.mark.parametrize("where", ["list", "page", "declare", "repair", "proposals"])
def test_the_outage_pages_pass_axe(desk, dispatcher, outage, where):
    # R54: declared, read and repaired on the desk
    url = {
        "list": reverse("admin:outages_outage_changelist"),
        "page": reverse("admin:outages_outage_change", args=[outage.pk]),
        "declare": reverse("admin:outages_outage_add"),
        "repair": reverse("admin:outages_outage_repair", args=[outage.pk]),
        "proposals": reverse("admin:outages_outageproposal_changelist"),
    }[where]
    log_in(desk, dispatcher, url)
    assert desk.url.endswith(url)
    _check_light_and_dark(desk)


@pytest.fixture
def complaint(make_order, alice, agent):
    """A complaint about a completed order (R51)."""
    from complaints import services as complaint_services

    order = make_order(State.COMPLETED, technician=alice)
    return complaint_services.complaint_record(by=agent, tier="complaint", channel="phone",
                                               text="师傅多收了50元材料费", order=order)


@pytest.mark.parametrize(("where", "who"), [("list", "supervisor"), ("page", "supervisor"),
                                            ("page", "agent"), ("record", "agent")])
def test_the_complaint_pages_pass_axe(desk, complaint, supervisor, agent, where, who):
    # R51: recorded by the call-centre, decided by a supervisor (the decision form)
    url = {
        "list": reverse("admin:complaints_complaint_changelist"),
        "page": reverse("admin:complaints_complaint_change", args=[complaint.pk]),
        "record": reverse("admin:complaints_complaint_add"),
    }[where]
    log_in(desk, {"supervisor": supervisor, "agent": agent}[who], url)
    assert desk.url.endswith(url)
    _check_light_and_dark(desk)


@pytest.fixture
def inspection(make_order, alice, inspector):
    """A completed order opened for inspection (R52)."""
    from quality import services as quality_services

    order = make_order(State.COMPLETED, technician=alice)
    return quality_services.inspection_open(order=order, by=inspector)


@pytest.mark.parametrize("where", ["list", "page", "decide", "open"])
def test_the_inspection_pages_pass_axe(desk, inspection, inspector, where):
    # R52: the inspection list, one inspection's evidence, the pass/fail form, by hand
    url = {
        "list": reverse("admin:quality_inspection_changelist"),
        "page": reverse("admin:quality_inspection_change", args=[inspection.pk]),
        "decide": reverse("admin:quality_inspection_decide", args=[inspection.pk]),
        "open": reverse("admin:quality_inspection_add"),
    }[where]
    log_in(desk, inspector, url)
    assert desk.url.endswith(url)
    _check_light_and_dark(desk)
