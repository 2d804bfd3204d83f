"""Stock for the equipment (R45) and materials (R46) tests: device models, devices in
alice's van, a catalogue with norms and van stock."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import pytest

from inventory import services
from inventory.models import (
    DeviceKind,
    DeviceModel,
    MaterialItem,
    MaterialNorm,
    Unit,
    VanStock,
)


@pytest.fixture
def onu_model(db: Any) -> DeviceModel:
    return DeviceModel.objects.create(code="ZTE-F670L", name="ZTE F670L", kind=DeviceKind.ONU,
                                      services=["broadband", "iptv", "fixed_line"],
                                      access_types=["ftth"])


@pytest.fixture
def dsl_model(db: Any) -> DeviceModel:
    return DeviceModel.objects.create(code="HW-HG532", name="Huawei HG532 xDSL modem",
                                      kind=DeviceKind.ROUTER, services=["broadband"],
                                      access_types=["xdsl"])


@pytest.fixture
def stock(alice: Any, bob: Any, dispatcher: Any, onu_model: DeviceModel,
          dsl_model: DeviceModel) -> dict[str, Any]:
    """Serials in alice's van, one in bob's, one in the warehouse, one that fits xDSL."""
    warranty = dt.date(2028, 1, 1)
    for serial in ("ZTEG00000001", "ZTEG00000002", "ZTEG00000003"):
        services.device_receive(serial=serial, model=onu_model, by=dispatcher,
                                technician=alice, warranty_until=warranty)
    services.device_receive(serial="ZTEGBOB00001", model=onu_model, by=dispatcher,
                            technician=bob, warranty_until=warranty)
    services.device_receive(serial="ZTEGWARE0001", model=onu_model, by=dispatcher)
    services.device_receive(serial="HWDSL0000001", model=dsl_model, by=dispatcher,
                            technician=alice)
    return {"alice": alice, "bob": bob}


@pytest.fixture
def catalogue(alice: Any, bob: Any) -> dict[str, MaterialItem]:
    fibre = MaterialItem.objects.create(code="FIB-DROP", name="皮线光缆 drop fibre",
                                        unit=Unit.METRE)
    connector = MaterialItem.objects.create(code="CON-SC", name="SC 冷接子 connector",
                                            unit=Unit.PIECE)
    socket = MaterialItem.objects.create(code="SOCKET-86", name="86 面板 socket",
                                         unit=Unit.PIECE, chargeable=True)
    MaterialNorm.objects.create(item=fibre, kind="install", quantity=Decimal("50"))
    MaterialNorm.objects.create(item=connector, kind="install", quantity=Decimal("2"))
    MaterialNorm.objects.create(item=socket, kind="install", quantity=Decimal("1"))
    MaterialNorm.objects.create(item=connector, kind="repair", quantity=Decimal("2"))
    for tech in (alice, bob):
        VanStock.objects.create(technician=tech, item=fibre, quantity=Decimal("300"))
        VanStock.objects.create(technician=tech, item=connector, quantity=Decimal("20"))
        VanStock.objects.create(technician=tech, item=socket, quantity=Decimal("5"))
    return {"fibre": fibre, "connector": connector, "socket": socket}


@pytest.fixture(autouse=True)
def _english() -> Any:
    """The messages are read in English here (zh-Hans is the default)."""
    from django.utils import translation

    with translation.override("en"):
        yield
