"""The stock register in the API (R45) and the order detail's equipment and materials
(R45, R46): "which customer has ONU ZTEG12345678?"."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from inventory import services
from tests.inventory.conftest import (  # noqa: F401 (fixtures)
    catalogue,
    dsl_model,
    onu_model,
    stock,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def installed(make_order, alice, stock, catalogue):  # noqa: F811
    order = make_order("on_site", technician=alice, account_number="KD-1001")
    services.device_install(order=order, by=alice.user, serial="ZTEG00000001")
    services.device_swap(order=order, by=alice.user, old_serial="ZTEG00000001",
                         new_serial="ZTEG00000002", reason="LOS red")
    services.material_use(order=order, by=alice.user,
                          uses={catalogue["fibre"]: "120.5", catalogue["connector"]: 3})
    services.material_use(order=order, by=alice.user, uses={catalogue["connector"]: -1})
    return order


def test_a_device_is_found_by_its_serial_typed_any_way(cc, installed):
    # R45: spaces and case do not matter; the owner is the customer's account number
    response = cc.get("devices/", serial=" zteg 0000 0002")
    assert response.status_code == 200, response.body
    body = response.body
    assert body["serial"] == "ZTEG00000002" and body["owner"] == "customer"
    assert body["account_number"] == "KD-1001" and body["order"] == installed.number
    assert body["model"] == {"code": "ZTE-F670L", "name": "ZTE F670L", "kind": "onu"}
    assert body["warranty_until"] == "2028-01-01" and body["technician"] is None
    assert [(m["action"], m["from_owner"], m["to_owner"]) for m in body["history"]] == [
        ("receive", "", "warehouse"), ("to_van", "warehouse", "van"),
        ("swap_in", "van", "customer")]
    assert body["history"][-1]["by"] == "alice" and body["history"][-1]["reason"] == "LOS red"
    assert "phone" not in str(body).lower()


def test_the_swapped_out_device_shows_van_customer_and_back(bi, installed):
    # R45: the reporting client reads it too; the faulty one is back in alice's van
    body = bi.get("devices/", serial="ZTEG00000001").body
    assert body["owner"] == "van" and body["technician"]["employee_no"] == "T-alice"
    assert body["condition"] == "faulty" and body["account_number"] is None
    assert [m["action"] for m in body["history"]][-2:] == ["install", "swap_out"]


def test_an_unknown_or_missing_serial(cc, stock):  # noqa: F811
    assert cc.get("devices/", serial="NOPE").status_code == 404
    assert cc.get("devices/").status_code == 400


def test_a_technician_may_not_search_the_register(as_session, alice, stock):  # noqa: F811
    assert as_session(alice.user).get("devices/", serial="ZTEG00000001").status_code == 403


def test_the_order_detail_shows_its_equipment_and_materials(cc, installed):
    # R45, R46: devices by serial with their action; materials net of corrections
    body = cc.get(f"work-orders/{installed.pk}/").body
    assert [(e["serial"], e["action"]) for e in body["equipment"]] == [
        ("ZTEG00000001", "install"), ("ZTEG00000001", "swap_out"),
        ("ZTEG00000002", "swap_in")]
    assert body["materials"] == [
        {"item": "CON-SC", "name": "SC 冷接子 connector", "unit": "piece", "quantity": 2.0,
         "above_norm": False},
        {"item": "FIB-DROP", "name": "皮线光缆 drop fibre", "unit": "metre",
         "quantity": 120.5, "above_norm": True}]


def test_the_detail_reads_equipment_and_materials_in_one_statement_each(cc, installed):
    cc.get(f"work-orders/{installed.pk}/")
    with CaptureQueriesContext(connection) as queries:
        cc.get(f"work-orders/{installed.pk}/")
    # One read of each list; the checklist (R43-R49) may also ask whether the equipment
    # step is done (an EXISTS of its own), never once per row.
    statements = [q["sql"] for q in queries if not q["sql"].startswith('SELECT 1 AS "a"')]
    assert len([s for s in statements if 'FROM "inventory_devicemovement"' in s]) == 1
    assert len([s for s in statements if 'FROM "inventory_materialuse"' in s]) == 1
    checks = [q["sql"] for q in queries if q["sql"].startswith('SELECT 1 AS "a"')
              and 'FROM "inventory_' in q["sql"]]
    assert len(checks) <= 2


def test_a_new_orders_detail_reads_neither(cc, intake):
    with CaptureQueriesContext(connection) as queries:
        response = cc.create(intake())
    assert response.body["equipment"] == [] and response.body["materials"] == []
    assert not [q for q in queries if "inventory_" in q["sql"]]
