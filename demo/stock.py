"""The demo's stock register (R45) and materials (R46): a few device models, about twenty
devices in each demo technician's van, the catalogue with its norms per kind of work, and
each van's stock. Made through ``inventory.services`` (a device's arrival in stock and in
the van are in its history); safe to run twice."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from fieldops import clock
from inventory import services
from inventory.models import (
    Device,
    DeviceKind,
    DeviceModel,
    MaterialItem,
    MaterialNorm,
    Unit,
    VanStock,
)

from .reference import Reference

#: code, name, kind, services, access types (empty: any)
DEVICE_MODELS = [
    ("ZTE-F670L", "ZTE F670L GPON ONU", DeviceKind.ONU, ["broadband", "iptv", "fixed_line"],
     ["ftth"]),
    ("HW-HG8145", "Huawei HG8145V5 GPON ONU", DeviceKind.ONU,
     ["broadband", "iptv", "fixed_line"], ["ftth"]),
    ("TPL-AX1500", "TP-Link AX1500 Wi-Fi 6 router", DeviceKind.ROUTER, ["broadband"], []),
    ("HW-EC6108", "Huawei EC6108V9 IPTV set-top box", DeviceKind.SET_TOP_BOX, ["iptv"], []),
    ("HW-HG532", "Huawei HG532 xDSL modem", DeviceKind.ROUTER, ["broadband"], ["xdsl"]),
    ("GS-HL2", "Gigaset HL2 phone set", DeviceKind.PHONE, ["fixed_line"], []),
]
#: serial prefix and how many of each model go into every van (20 in all)
VAN_LOAD = [("ZTEG", "ZTE-F670L", 6), ("HWTC", "HW-HG8145", 4), ("TPAX", "TPL-AX1500", 4),
            ("HWSTB", "HW-EC6108", 3), ("HWDSL", "HW-HG532", 1), ("GSHL", "GS-HL2", 2)]
#: code, name, unit, chargeable, norms per kind, stock per van
CATALOGUE = [
    ("FIB-DROP", "皮线光缆 Drop fibre", Unit.METRE, False,
     {"install": "50", "move": "40", "repair": "10"}, "300"),
    ("CON-SC", "SC 冷接子 Fibre connector", Unit.PIECE, False,
     {"install": "2", "move": "2", "repair": "2"}, "40"),
    ("SOCKET-86", "86 型信息面板 Wall socket", Unit.PIECE, True,
     {"install": "1", "move": "1"}, "10"),
    ("SPLIT-1x2", "1:2 分光器 Splitter", Unit.PIECE, True, {"install": "1"}, "6"),
    ("CLIP", "线卡 Cable clips", Unit.PIECE, False,
     {"install": "20", "move": "20", "repair": "5"}, "300"),
    ("CAT6", "六类网线 Cat 6 cable", Unit.METRE, True, {"install": "10", "move": "10"}, "100"),
]


def ensure_stock(ref: Reference) -> None:
    models = {}
    for code, name, kind, fits, access in DEVICE_MODELS:
        models[code], _ = DeviceModel.objects.get_or_create(
            code=code, defaults={"name": name, "kind": kind, "services": fits,
                                 "access_types": access})
    warranty = clock.today_local() + dt.timedelta(days=3 * 365)
    for tech in ref.technicians:
        for prefix, model, count in VAN_LOAD:
            for n in range(1, count + 1):
                serial = f"{prefix}{tech.employee_no}{n:04d}"
                if not Device.objects.filter(serial=serial).exists():
                    services.device_receive(serial=serial, model=models[model],
                                            by=ref.dispatcher, technician=tech,
                                            warranty_until=warranty,
                                            reason="demo: loaded for the week")
    for code, name, unit, chargeable, norms, per_van in CATALOGUE:
        item, _ = MaterialItem.objects.get_or_create(
            code=code, defaults={"name": name, "unit": unit, "chargeable": chargeable})
        for kind, quantity in norms.items():
            MaterialNorm.objects.get_or_create(item=item, kind=kind,
                                               defaults={"quantity": Decimal(quantity)})
        for tech in ref.technicians:
            VanStock.objects.get_or_create(technician=tech, item=item,
                                           defaults={"quantity": Decimal(per_van)})
