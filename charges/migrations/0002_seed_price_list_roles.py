import datetime as dt
from decimal import Decimal

from django.db import migrations

from fieldops.roles import sync_roles

#: The demo's published price list (R47): code, Chinese name, English name, category,
#: kind of work (blank: any), material code, unit, unit price.
PRICE_LIST = [
    ("REPAIR-LABOUR", "上门维修人工费（过保设备）", "Repair labour (equipment out of warranty)",
     "repair_labour", "repair", "", "", "50.00"),
    ("MOVE-SERVICE", "移机服务费", "Moving the service to the new address", "service",
     "move", "", "", "100.00"),
    ("SOCKET-86", "86 型信息面板", "Wall socket (type 86)", "material", "", "SOCKET-86", "",
     "15.00"),
    ("CAT6", "六类网线", "Cat 6 cable", "material", "", "CAT6", "", "2.50"),
    ("SPLIT-1x2", "1:2 分光器", "1:2 optical splitter", "material", "", "SPLIT-1x2", "",
     "25.00"),
    ("ROUTER-AX1500", "无线路由器 AX1500（客户购买）", "Wi-Fi router AX1500 (bought by the customer)",
     "goods", "", "", "", "159.00"),
]


def seed(apps, schema_editor):
    PriceItem = apps.get_model("charges", "PriceItem")
    for code, zh, en, category, kind, material, unit, price in PRICE_LIST:
        PriceItem.objects.get_or_create(
            code=code, valid_from=dt.date(2024, 1, 1),
            defaults={"name_zh": zh, "name_en": en, "category": category, "kind": kind,
                      "material_code": material, "unit": unit,
                      "unit_price": Decimal(price)})


class Migration(migrations.Migration):
    """The demo price list (R47), and the roles: everyone who reads orders reads the
    charges; supervisors edit the price list and refund."""

    dependencies = [
        ("charges", "0001_initial"),
        ("fieldops", "0004_roles_customer_merge"),
        ("api", "0002_roles"),
    ]
    operations = [migrations.RunPython(seed, migrations.RunPython.noop),
                  migrations.RunPython(sync_roles, migrations.RunPython.noop)]
