"""Equipment by serial (R45): install, repair swap and take back through the stock
register, and every refusal with its reason; nothing is written when refused."""

from __future__ import annotations

from typing import Any

import pytest

from inventory import services
from inventory.models import Condition, Device, DeviceMovement, Owner, normalise_serial
from workorders.errors import NotPermitted, RuleViolation
from workorders.events import OrderAction
from workorders.models import WorkOrderEvent

pytestmark = pytest.mark.django_db


@pytest.fixture
def on_site(make_order: Any, alice: Any) -> Any:
    return make_order("on_site", technician=alice, account_number="KD-1001")


def _refused(call: Any, **kwargs: Any) -> RuleViolation:
    movements = DeviceMovement.objects.count()
    events = WorkOrderEvent.objects.count()
    with pytest.raises(RuleViolation) as caught:
        call(**kwargs)
    assert DeviceMovement.objects.count() == movements  # nothing half-written
    assert WorkOrderEvent.objects.count() == events
    return caught.value


@pytest.mark.parametrize("typed", [" zteg 0000 0001 ", "zteg00000001", "ZTEG00000001\t"])
def test_a_serial_is_normalised_trimmed_without_spaces_and_upper_case(typed):
    # R45: a serial typed with spaces or in lower case is the same serial
    assert normalise_serial(typed) == "ZTEG00000001"


def test_install_binds_the_serial_to_the_order_and_its_account(on_site, stock, alice):
    # R45: installed from the van, bound to the order and the customer's service account
    services.device_install(order=on_site, by=alice.user, serial=" zteg0000 0001 ")
    device = Device.objects.get(serial="ZTEG00000001")
    assert device.owner == Owner.CUSTOMER
    assert device.order == on_site and device.account.number == "KD-1001"
    assert device.technician is None
    event = WorkOrderEvent.objects.filter(order=on_site,
                                          action=OrderAction.INSTALL_DEVICE).get()
    assert event.payload == {"serial": "ZTEG00000001", "model": "ZTE-F670L"}
    assert event.actor == alice.user


def test_install_then_swap_then_take_back_is_the_devices_history(make_order, on_site,
                                                                 stock, alice):
    # R45: van → customer → back to the van as faulty; the new one to the customer; then
    # the new one taken back; every step recorded with from, to, order, who, when
    services.device_install(order=on_site, by=alice.user, serial="ZTEG00000001")
    services.device_swap(order=on_site, by=alice.user, old_serial="zteg00000001",
                         new_serial="ZTEG00000002", reason="LOS red")
    old = Device.objects.get(serial="ZTEG00000001")
    new = Device.objects.get(serial="ZTEG00000002")
    assert (old.owner, old.technician, old.condition) == (Owner.VAN, alice, Condition.FAULTY)
    assert new.owner == Owner.CUSTOMER and new.account == old.movements.last().from_account
    services.device_take_back(order=on_site, by=alice.user, serial="ZTEG00000002",
                              reason="customer cancels IPTV")
    new.refresh_from_db()
    assert (new.owner, new.technician, new.condition) == (Owner.VAN, alice,
                                                          Condition.RETURNED)
    assert [(m.action, m.from_owner, m.to_owner) for m in new.movements.all()] == [
        ("receive", "", "warehouse"), ("to_van", "warehouse", "van"),
        ("swap_in", "van", "customer"), ("take_back", "customer", "van")]
    assert [(m.action, m.to_owner) for m in old.movements.all()][-2:] == [
        ("install", "customer"), ("swap_out", "van")]
    assert all(m.by == alice.user and m.order == on_site
               for m in DeviceMovement.objects.filter(order=on_site))
    assert list(WorkOrderEvent.objects.filter(order=on_site).filter(action__in=[
        OrderAction.INSTALL_DEVICE, OrderAction.SWAP_DEVICE, OrderAction.TAKE_BACK_DEVICE])
        .values_list("action", flat=True)) == ["install_device", "swap_device",
                                               "take_back_device"]


def test_the_history_is_append_only(on_site, stock, alice):
    movement = services.device_install(order=on_site, by=alice.user, serial="ZTEG00000001")
    with pytest.raises(TypeError):
        movement.save()
    with pytest.raises(TypeError):
        DeviceMovement.objects.filter(pk=movement.pk).update(reason="x")
    with pytest.raises(TypeError):
        DeviceMovement.objects.all().delete()


def test_an_unknown_serial_is_refused(on_site, stock, alice):
    # R45: a serial stock does not know
    error = _refused(services.device_install, order=on_site, by=alice.user,
                     serial="NOPE12345")
    assert error.field == "serial" and error.rule == "R45" and "NOPE12345" in error.message


def test_an_empty_serial_is_refused(on_site, stock, alice):
    error = _refused(services.device_install, order=on_site, by=alice.user, serial="   ")
    assert error.field == "serial"


def test_a_serial_installed_at_another_customer_is_refused(make_order, on_site, stock,
                                                         alice):
    # R45: a serial is installed at one customer at a time
    other = make_order("on_site", technician=alice, account_number="KD-2002",
                       customer_name="李娜", contact_phone="13900001111")
    services.device_install(order=other, by=alice.user, serial="ZTEG00000001")
    error = _refused(services.device_install, order=on_site, by=alice.user,
                     serial="ZTEG00000001")
    assert "another customer" in error.message
    assert Device.objects.get(serial="ZTEG00000001").order == other


def test_a_serial_not_in_this_technicians_van_is_refused(on_site, stock, alice):
    # R45: bob's device, and one still in the warehouse
    for serial in ("ZTEGBOB00001", "ZTEGWARE0001"):
        error = _refused(services.device_install, order=on_site, by=alice.user, serial=serial)
        assert "not in your van" in error.message


def test_a_dispatcher_may_allow_a_serial_from_another_van_for_this_order(on_site, stock,
                                                                       alice, dispatcher):
    # R45: the allowance is recorded (who, when) and holds for this order only
    allowance = services.device_allow(order=on_site, by=dispatcher, serial="ztegbob00001",
                                      reason="alice's ONUs are all faulty")
    assert allowance.allowed_by == dispatcher and allowance.allowed_at is not None
    services.device_install(order=on_site, by=alice.user, serial="ZTEGBOB00001")
    moved = DeviceMovement.objects.filter(device__serial="ZTEGBOB00001").last()
    assert moved.from_technician.user.username == "bob" and moved.to_owner == Owner.CUSTOMER


def test_only_a_dispatcher_may_allow(on_site, stock, alice):
    with pytest.raises(NotPermitted):
        services.device_allow(order=on_site, by=alice.user, serial="ZTEGBOB00001")


def test_a_model_that_does_not_fit_the_order_is_refused(on_site, stock, alice):
    # R45: an xDSL modem on an FTTH broadband order
    error = _refused(services.device_install, order=on_site, by=alice.user,
                     serial="HWDSL0000001")
    assert "does not fit" in error.message


def test_the_same_serial_twice_on_the_order_is_refused(on_site, stock, alice):
    # R45: a duplicate scan gets a clear message, nothing is written
    services.device_install(order=on_site, by=alice.user, serial="ZTEG00000001")
    error = _refused(services.device_install, order=on_site, by=alice.user,
                     serial="zteg 00000001")
    assert "already recorded on this order" in error.message


def test_a_faulty_device_in_the_van_is_refused(on_site, stock, alice):
    services.device_install(order=on_site, by=alice.user, serial="ZTEG00000001")
    services.device_swap(order=on_site, by=alice.user, old_serial="ZTEG00000001",
                         new_serial="ZTEG00000002")
    error = _refused(services.device_install, order=on_site, by=alice.user,
                     serial="ZTEG00000001")
    assert "faulty" in error.message.lower() or "故障" in error.message


def test_a_swap_needs_the_old_device_at_this_customer(on_site, stock, alice):
    error = _refused(services.device_swap, order=on_site, by=alice.user,
                     old_serial="ZTEG00000003", new_serial="ZTEG00000002")
    assert error.field == "old_serial"
    error = _refused(services.device_take_back, order=on_site, by=alice.user,
                     serial="ZTEG00000003")
    assert error.field == "serial"


def test_only_the_orders_technician_and_only_on_site(make_order, on_site, stock, alice,
                                                      bob):
    # R41: another technician; R45: recorded on site only
    with pytest.raises(NotPermitted):
        services.device_install(order=on_site, by=bob.user, serial="ZTEG00000001")
    en_route = make_order("en_route", technician=alice)
    error = _refused(services.device_install, order=en_route, by=alice.user,
                     serial="ZTEG00000001")
    assert error.field == "order"
    assert Device.objects.get(serial="ZTEG00000001").owner == Owner.VAN
