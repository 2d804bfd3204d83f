"""A price list for the charges tests (R47): repair labour, a move's service fee, a
chargeable socket, a router; devices in and out of warranty in alice's van."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import pytest

from charges.models import Category, PriceItem
from inventory import services as stock_services
from inventory.models import DeviceKind, DeviceModel, MaterialItem, Unit, VanStock

START = dt.date(2024, 1, 1)


@pytest.fixture
def prices(db: Any) -> dict[str, PriceItem]:
    PriceItem.objects.all().delete()  # the seeded demo list: these tests bring their own
    rows = {
        "labour": PriceItem.objects.create(
            code="T-LABOUR", name_zh="维修人工费", name_en="Repair labour",
            category=Category.REPAIR_LABOUR, kind="repair", unit_price=Decimal("50.00"),
            valid_from=START),
        "move": PriceItem.objects.create(
            code="T-MOVE", name_zh="移机服务费", name_en="Moving fee", kind="move",
            unit_price=Decimal("100.00"), valid_from=START),
        "socket": PriceItem.objects.create(
            code="T-SOCKET", name_zh="86 面板", name_en="Wall socket",
            category=Category.MATERIAL, material_code="T-SOCKET-86",
            unit_price=Decimal("15.00"), valid_from=START),
        "router": PriceItem.objects.create(
            code="T-ROUTER", name_zh="无线路由器", name_en="Wi-Fi router",
            category=Category.GOODS, unit_price=Decimal("159.00"), valid_from=START),
        # No longer in force: ended last year.
        "old": PriceItem.objects.create(
            code="T-OLD", name_zh="旧收费", name_en="Old fee", unit_price=Decimal("30.00"),
            valid_from=START, valid_to=dt.date(2025, 12, 31)),
    }
    return rows


@pytest.fixture
def devices(alice: Any, dispatcher: Any) -> dict[str, Any]:
    """In alice's van: one ONU out of warranty, one in warranty."""
    model = DeviceModel.objects.create(code="T-ONU", name="Test ONU", kind=DeviceKind.ONU)
    old = stock_services.device_receive(serial="OLDONU0001", model=model, by=dispatcher,
                                        technician=alice,
                                        warranty_until=dt.date(2024, 6, 30))
    new = stock_services.device_receive(serial="NEWONU0001", model=model, by=dispatcher,
                                        technician=alice,
                                        warranty_until=dt.date(2099, 12, 31))
    return {"old": old, "new": new}


@pytest.fixture
def socket_material(alice: Any) -> MaterialItem:
    item = MaterialItem.objects.create(code="T-SOCKET-86", name="86 面板 socket",
                                       unit=Unit.PIECE, chargeable=True)
    VanStock.objects.create(technician=alice, item=item, quantity=Decimal(10))
    return item


@pytest.fixture(autouse=True)
def _english() -> Any:
    """The messages are read in English here (zh-Hans is the default)."""
    from django.utils import translation

    with translation.override("en"):
        yield
