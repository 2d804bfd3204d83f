"""The stock register on the desk (R45, R46): devices by serial with their history, the
dispatcher's allowance, van stock with restock, orders flagged above the norm."""

from __future__ import annotations

from decimal import Decimal

import pytest

from inventory import services
from inventory.models import DeviceAllowance, NormReview, Restock, VanStock
from tests.inventory.conftest import (  # noqa: F401 (fixtures)
    catalogue,
    dsl_model,
    onu_model,
    stock,
)

pytestmark = pytest.mark.django_db

DEVICES = "/admin/inventory/device/"
VANS = "/admin/inventory/vanstock/"
REVIEWS = "/admin/inventory/normreview/"


@pytest.fixture
def desk(client, dispatcher):
    client.force_login(dispatcher)
    client.defaults["HTTP_ACCEPT_LANGUAGE"] = "en"
    return client


def test_a_device_is_found_by_its_serial_typed_any_way_with_its_history(
        desk, make_order, alice, stock):  # noqa: F811
    # R45: van → customer → back, on the device's page
    order = make_order("on_site", technician=alice, account_number="KD-1001")
    services.device_install(order=order, by=alice.user, serial="ZTEG00000001")
    services.device_take_back(order=order, by=alice.user, serial="ZTEG00000001")
    found = desk.get(DEVICES, {"q": " zteg 0000 0001 "})
    assert found.status_code == 200
    assert found.context["cl"].result_count == 1
    device = found.context["cl"].result_list[0]
    page = desk.get(f"{DEVICES}{device.pk}/change/").content.decode()
    for text in ("Installed", "Taken back", "KD-1001", order.number, "T-alice"):
        assert text in page


def test_the_dispatcher_allows_a_serial_from_another_van_for_an_order(
        desk, make_order, alice, dispatcher, stock):  # noqa: F811
    # R45: recorded with who and when
    order = make_order("on_site", technician=alice)
    device = stock["bob"].devices.get()
    form = desk.post(DEVICES, {"action": "allow_for_order", "_selected_action": [device.pk]})
    assert form.status_code == 200 and b"name=\"apply\"" in form.content
    desk.post(DEVICES, {"action": "allow_for_order", "_selected_action": [device.pk],
                        "apply": "1", "order": order.number.lower(), "reason": "urgent"})
    allowance = DeviceAllowance.objects.get()
    assert (allowance.order, allowance.allowed_by, allowance.reason) == (order, dispatcher,
                                                                         "urgent")
    services.device_install(order=order, by=alice.user, serial=device.serial)


def test_van_stock_per_technician_and_the_restock_action(desk, alice, catalogue):  # noqa: F811
    # R46: restocked through the service, recorded
    row = VanStock.objects.get(technician=alice, item=catalogue["socket"])
    assert desk.get(VANS, {"technician__id__exact": alice.pk}).status_code == 200
    desk.post(VANS, {"action": "restock", "_selected_action": [row.pk], "apply": "1",
                     "quantity": "10", "reason": "weekly"})
    row.refresh_from_db()
    assert row.quantity == Decimal(15)
    assert Restock.objects.get().reason == "weekly"


def test_orders_above_the_norm_are_listed_and_filterable(desk, make_order, alice,
                                                         catalogue):  # noqa: F811
    # R46
    order = make_order("on_site", technician=alice)
    services.material_use(order=order, by=alice.user, uses={catalogue["connector"]: 5})
    page = desk.get(REVIEWS, {"reviewed": "no"})
    assert page.status_code == 200 and order.number in page.content.decode()
    review = NormReview.objects.get()
    desk.post(REVIEWS, {"action": "mark_reviewed", "_selected_action": [review.pk]})
    assert desk.get(REVIEWS, {"reviewed": "no"}).context["cl"].result_count == 0


def test_a_technician_cannot_open_the_register(client, alice):
    client.force_login(alice.user)
    assert client.get(DEVICES).status_code in (302, 403)
