"""The checklist with the inventory's steps (R45 through ``workorders.visit_parts``): the
seeded install policy requires equipment, so sign-off waits until a device is installed by
serial (or the step is declined with a reason)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.utils import translation

from demo.scenarios import finish_checklist
from inventory import services as inventory
from inventory.models import (
    Device,
    DeviceKind,
    DeviceModel,
    MaterialUse,
    Owner,
    VanStock,
)
from tests.fieldapp.helpers import on_site_with_report
from tests.fieldapp.test_sign_off import sign
from tests.inventory.conftest import (  # noqa: F401 (fixtures)
    catalogue,
    dsl_model,
    onu_model,
    stock,
)
from visits import services as vs
from visits.models import ChecklistPolicy, Measure, StepKey
from visits.selectors import checklist
from workorders.errors import RuleViolation
from workorders.events import OrderAction
from workorders.models import State, WorkOrder


@pytest.fixture(autouse=True)
def _english():
    with translation.override("en"):
        yield


def test_an_install_waits_for_its_device(make_order, alice, dispatcher):
    onu = DeviceModel.objects.create(code="ZTE-F670L", name="ZTE F670L", kind=DeviceKind.ONU,
                                     services=["broadband", "iptv", "fixed_line"],
                                     access_types=["ftth"])
    inventory.device_receive(serial="ZTEG00000009", model=onu, by=dispatcher,
                             technician=alice, warranty_until=dt.date(2028, 1, 1))
    order = on_site_with_report(make_order(State.ON_SITE, technician=alice), checklist=False)
    equipment = {s.key: s for s in checklist(order).steps}[StepKey.EQUIPMENT]
    assert equipment.required and not equipment.settled
    vs.work_order_read_line(order=order, by=alice.user)  # R48
    for measure, value in ((Measure.SPEED_DOWN, 480), (Measure.SPEED_UP, 48)):
        vs.work_order_record_reading(order=order, by=alice.user, measure=measure, value=value)
    vs.work_order_record_tryout(order=order, by=alice.user, tried=["internet"], worked=True)
    vs.work_order_record_cleanup(order=order, by=alice.user, done=True)
    state = checklist(order)
    if state.missing_measures or not state.safety_ok:
        pytest.fail(f"the walk should only lack the device: {state}")
    with pytest.raises(RuleViolation) as err:
        sign(order)
    assert "Equipment" in err.value.message
    inventory.device_install(order=order, by=alice.user, serial="zteg 0000 0009")
    sign(WorkOrder.objects.get(pk=order.pk))
    assert WorkOrder.objects.get(pk=order.pk).state == State.SIGNED_OFF


def test_a_walk_declines_an_undone_equipment_step_with_a_reason(make_order, alice):
    # the demo's walk (finish_checklist) never signs with a required step silently open
    order = on_site_with_report(make_order(State.ON_SITE, technician=alice), checklist=False)
    finish_checklist(order, alice.user)
    equipment = {s.key: s for s in checklist(order).steps}[StepKey.EQUIPMENT]
    assert equipment.status == "declined" and equipment.record and equipment.record.reason


def test_at_height_equipment_and_materials_wait_for_the_second_person(
        make_order, alice, stock, catalogue):  # noqa: F811
    """R49 with R45/R46: at height, installing, swapping or taking back a device and
    drawing materials from the van are refused until the second person is named and the
    warning sign is up; nothing moves meanwhile."""
    order = make_order(State.ON_SITE, technician=alice, account_number="KD-1001")
    inventory.device_install(order=order, by=alice.user, serial="ZTEG00000001")
    ChecklistPolicy.objects.filter(kind="install", access_type="").update(
        work_at_height=True)
    fibre = catalogue["fibre"]
    attempts = {
        "install": lambda: inventory.device_install(order=order, by=alice.user,
                                                    serial="ZTEG00000002"),
        "swap": lambda: inventory.device_swap(order=order, by=alice.user,
                                              old_serial="ZTEG00000001",
                                              new_serial="ZTEG00000003"),
        "take back": lambda: inventory.device_take_back(order=order, by=alice.user,
                                                        serial="ZTEG00000001"),
        "materials": lambda: inventory.material_use(order=order, by=alice.user,
                                                    uses={fibre: "20"}),
    }
    for name, attempt in attempts.items():
        with pytest.raises(RuleViolation) as err:
            attempt()
        assert (err.value.rule, err.value.field) == ("R49", "safety"), name
        assert "second person" in err.value.message
    owners = dict(Device.objects.values_list("serial", "owner"))
    assert owners["ZTEG00000001"] == Owner.CUSTOMER
    assert owners["ZTEG00000002"] == owners["ZTEG00000003"] == Owner.VAN
    assert VanStock.objects.get(technician=alice, item=fibre).quantity == Decimal("300")
    assert not MaterialUse.objects.filter(order=order).exists()
    assert not order.events.filter(action__in=[
        OrderAction.SWAP_DEVICE, OrderAction.TAKE_BACK_DEVICE,
        OrderAction.USE_MATERIAL]).exists()
    assert order.events.filter(action=OrderAction.INSTALL_DEVICE).count() == 1

    vs.work_order_record_safety(order=order, by=alice.user, at_height=True,
                                second_person="李强 (helper)", warning_sign=True)
    inventory.device_swap(order=order, by=alice.user, old_serial="ZTEG00000001",
                          new_serial="ZTEG00000003")
    inventory.device_install(order=order, by=alice.user, serial="ZTEG00000002")
    inventory.device_take_back(order=order, by=alice.user, serial="ZTEG00000002")
    inventory.material_use(order=order, by=alice.user, uses={fibre: "20"})
    assert VanStock.objects.get(technician=alice, item=fibre).quantity == Decimal("280")
    assert Device.objects.get(serial="ZTEG00000003").owner == Owner.CUSTOMER
