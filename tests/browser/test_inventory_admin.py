"""The stock register's admin pages (R45, R46) in real Chromium pass axe-core with no
serious or critical violation, light and dark: the device list, a device's page with its
history, van stock, orders above the norm."""

from __future__ import annotations

import pytest
from django.urls import reverse

from inventory import services
from inventory.models import Device
from tests.inventory.conftest import (  # noqa: F401 (fixtures)
    catalogue,
    dsl_model,
    onu_model,
    stock,
)
from workorders.models import State

from .conftest import axe_violations, log_in

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.mark.parametrize("where", ["devices", "device page", "van stock", "above norm"])
def test_the_register_pages_pass_axe(desk, make_order, dispatcher, alice, stock,  # noqa: F811
                                     catalogue, where):  # noqa: F811
    order = make_order(State.ON_SITE, technician=alice, account_number="KD-1001")
    services.device_install(order=order, by=alice.user, serial="ZTEG00000001")
    services.material_use(order=order, by=alice.user, uses={catalogue["connector"]: 6})
    device = Device.objects.get(serial="ZTEG00000001")
    url = {
        "devices": reverse("admin:inventory_device_changelist"),
        "device page": reverse("admin:inventory_device_change", args=[device.pk]),
        "van stock": reverse("admin:inventory_vanstock_changelist"),
        "above norm": reverse("admin:inventory_normreview_changelist"),
    }[where]
    page = desk
    log_in(page, dispatcher, url)
    page.wait_for_selector("#content")
    assert page.url.endswith(url)
    assert axe_violations(page) == []
    page.emulate_media(color_scheme="dark")
    assert axe_violations(page) == []
