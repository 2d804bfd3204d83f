"""The visit's figures on the dashboards, on a crafted set of orders whose answer is known:
material use against the norm (R46) and the share of completions with network-verified
test results (R48), overall, by area and by technician, with the filters and exports."""

from __future__ import annotations

import csv
import datetime as dt
import io
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import translation

from charges import services as charges
from charges.models import PriceItem
from dashboards import selectors, tasks
from dashboards.selectors import Filters
from inventory import services as inventory
from tests.fieldapp.helpers import on_site_with_report
from tests.fieldapp.test_sign_off import sign
from tests.inventory.conftest import catalogue, dsl_model, onu_model, stock  # noqa: F401
from visits import services as vs
from workorders import services
from workorders.models import State, WorkOrder

pytestmark = pytest.mark.django_db


def completed(order: WorkOrder) -> WorkOrder:
    order = on_site_with_report(order)
    sign(order)
    order.refresh_from_db()
    return services.work_order_complete(order=order, by=order.technician.user,
                                        report=order.report.as_dict())


@pytest.fixture
def crafted(make_order, alice, bob, west, stock, catalogue):  # noqa: F811
    """East (alice): A 200 m of fibre (norm 50 m, flagged) with the network's optical
    reading; B 30.5 m and 2 connectors, readings typed. West (bob): C 1 connector, typed.
    East (alice): D 5 connectors (norm 2, flagged) read from the network, but still on
    site: not counted."""
    fibre, connector = catalogue["fibre"], catalogue["connector"]
    a = make_order(State.ON_SITE, technician=alice)
    inventory.material_use(order=a, by=alice.user, uses={fibre: 200},
                           reason="long drop from the pole")
    vs.work_order_read_line(order=a, by=alice.user)
    completed(a)
    b = make_order(State.ON_SITE, technician=alice)
    inventory.material_use(order=b, by=alice.user, uses={fibre: "30.5", connector: 2})
    # R47: B's customer buys a router on the price list and pays for it by QR code
    PriceItem.objects.update_or_create(
        code="T-ROUTER", defaults={"name_zh": "无线路由器", "name_en": "Wi-Fi router",
                                   "category": "goods", "unit_price": Decimal("159.00"),
                                   "valid_from": dt.date(2024, 1, 1)})
    charges.fee_line_add(order=b, by=alice.user, code="T-ROUTER")
    charges.payment_confirm(payment=charges.payment_request(order=b, by=alice.user),
                            via="demo")
    completed(b)
    c = make_order(State.ON_SITE, technician=bob, area=west)
    inventory.material_use(order=c, by=bob.user, uses={connector: 1})
    charges.fee_line_add(order=c, by=bob.user, code="T-ROUTER")
    charges.payment_request(order=c, by=bob.user)
    completed(c)
    d = make_order(State.ON_SITE, technician=alice)
    inventory.material_use(order=d, by=alice.user, uses={connector: 5}, reason="bad ends")
    vs.work_order_read_line(order=d, by=alice.user)
    tasks.refresh_stale_facts()
    return {"a": a, "b": b, "c": c, "d": d}


def test_the_shares_overall_by_area_and_by_technician(crafted, alice, bob, east, west):
    # R46: 1 of 3 completions flagged above the norm; R48: 1 of 3 network-verified
    figures = selectors.visit_figures(Filters.last_days())
    summary = figures["summary"]
    assert (summary["completed"], summary["above_norm"], summary["network"]) == (3, 1, 1)
    assert summary["above_norm_rate"] == pytest.approx(1 / 3)
    assert summary["network_rate"] == pytest.approx(1 / 3)
    assert summary["measured"] == 3
    areas = {row["key"]: row for row in figures["areas"]}
    assert (areas[east.pk]["completed"], areas[east.pk]["above_norm_rate"],
            areas[east.pk]["network_rate"]) == (2, 0.5, 0.5)
    assert (areas[west.pk]["completed"], areas[west.pk]["above_norm_rate"],
            areas[west.pk]["network_rate"]) == (1, 0.0, 0.0)
    technicians = {row["key"]: row for row in figures["technicians"]}
    assert technicians[alice.pk]["above_norm"] == 1 and technicians[alice.pk]["network"] == 1
    assert technicians[bob.pk]["completed"] == 1 and technicians[bob.pk]["network"] == 0
    # R47: only what the payment backend confirmed counts as collected (C asked, unpaid)
    assert summary["collected"] == Decimal("159.00")
    assert areas[east.pk]["collected"] == Decimal("159.00")
    assert areas[west.pk]["collected"] == Decimal("0.00")
    assert technicians[alice.pk]["collected"] == Decimal("159.00")


def test_material_use_against_the_norm(crafted, catalogue):  # noqa: F811
    # R46: three completed installs: the fibre norm adds up to 3 x 50 m, the connectors'
    # to 3 x 2; the order still on site is not counted
    rows = {row["code"]: row for row in selectors.material_use(Filters.last_days())}
    fibre, connector = rows["FIB-DROP"], rows["CON-SC"]
    assert (fibre["used"], fibre["norm"], fibre["flagged"]) == (Decimal("230.5"),
                                                                Decimal("150.0"), 1)
    assert fibre["ratio"] == pytest.approx(230.5 / 150)
    assert (connector["used"], connector["norm"], connector["flagged"]) == (
        Decimal("3.0"), Decimal("6.0"), 0)


def test_the_filters_apply(crafted, bob, west):
    # an area or a technician narrows every visit figure, as the other figures
    figures = selectors.visit_figures(Filters.last_days(area=west.pk))
    assert figures["summary"]["completed"] == 1 and figures["summary"]["above_norm"] == 0
    assert [row["key"] for row in figures["areas"]] == [west.pk]
    rows = {row["code"]: row for row in selectors.material_use(
        Filters.last_days(technician=bob.pk))}
    assert set(rows) >= {"CON-SC"} and rows["CON-SC"]["used"] == Decimal("1.0")
    assert "FIB-DROP" not in rows or rows["FIB-DROP"]["used"] == 0


def test_the_page_and_the_exports_show_them(crafted, client, supervisor, east):
    # the requests ask for English; the language the test found is put back after them
    with translation.override("en"):
        client.force_login(supervisor)
        page = client.get(reverse("dashboard:compliance"), HTTP_ACCEPT_LANGUAGE="en")
        html = page.content.decode()
        assert page.status_code == 200 and "data-visit" in html
        assert 'data-material="FIB-DROP"' in html and "33.3%" in html
        response = client.get(reverse("dashboard:export_csv", args=["visit_areas"]),
                              {"area": east.pk}, HTTP_ACCEPT_LANGUAGE="en")
        rows = list(csv.reader(io.StringIO(response.content.decode().lstrip("\ufeff"))))
        assert rows[0][0] == "Area" and rows[1][1:4] == ["2", "1", "50.0"]
        assert rows[1][5:] == ["1", "50.0", "159.00"]
        materials = client.get(reverse("dashboard:export_csv", args=["materials"]),
                               HTTP_ACCEPT_LANGUAGE="en").content.decode()
        assert "FIB-DROP" in materials and "230.5" in materials
        sheet = client.get(reverse("dashboard:export_xlsx"), HTTP_ACCEPT_LANGUAGE="en")
        assert sheet.status_code == 200 and sheet.content[:2] == b"PK"
