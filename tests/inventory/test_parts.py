"""Equipment and materials in what the customer signs (R26, R45, R46): sealed parts,
checklist steps, nothing changes after sign-off, a row changed in the database after
signing is caught by the seal check."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from inventory import services
from inventory.models import Device, DeviceMovement, MaterialUse, Owner
from tests.fieldapp.helpers import STROKES_JSON, on_site_with_report, signature_png
from workorders import services as order_services
from workorders.errors import RuleViolation
from workorders.models import WorkOrder
from workorders.visit_parts import sealed_parts, visit_steps_done

pytestmark = pytest.mark.django_db


@pytest.fixture
def visited(make_order: Any, alice: Any, stock: Any, catalogue: Any) -> WorkOrder:
    order = make_order("on_site", technician=alice, account_number="KD-1001")
    services.device_install(order=order, by=alice.user, serial="ZTEG00000001")
    services.material_use(order=order, by=alice.user,
                          uses={catalogue["fibre"]: "30.5", catalogue["connector"]: 2})
    return on_site_with_report(order)


def _sign(order: WorkOrder) -> Any:
    return order_services.work_order_customer_sign_off(
        order=order, by=order.technician.user, signature=signature_png(),
        strokes=STROKES_JSON, signer_name="张伟", rating=5)


def test_the_sealed_parts_name_serials_and_materials(visited):
    # R26, R45, R46: the customer signs the serial, its model and action, and the materials
    parts = sealed_parts(visited)
    assert parts["equipment"] == [{"serial": "ZTEG00000001", "model": "ZTE-F670L",
                                   "action": "install"}]
    assert parts["materials"] == [
        {"item": "CON-SC", "quantity": "2.0", "unit": "piece"},
        {"item": "FIB-DROP", "quantity": "30.5", "unit": "metre"}]


def test_the_visit_steps_are_done_with_a_row_or_when_the_kind_needs_none(
        make_order, alice, stock, catalogue):
    # R45, R46: an install needs a device and its normed materials; a move needs neither
    # (no device kind, no norm for moves in this catalogue)
    install = make_order("on_site", technician=alice)
    before = visit_steps_done(install)
    assert (before["equipment"], before["materials"]) == (False, False)
    services.device_install(order=install, by=alice.user, serial="ZTEG00000002")
    services.material_use(order=install, by=alice.user, uses={catalogue["connector"]: 1})
    assert visit_steps_done(install)["equipment"] is True
    assert visit_steps_done(install)["materials"] is True
    move = make_order("on_site", technician=alice, kind="move")
    assert visit_steps_done(move)["equipment"] is True
    assert visit_steps_done(move)["materials"] is True


def test_nothing_changes_after_the_customer_signed(visited, alice, catalogue):
    # R26: after sign-off: refused, saying the customer signed; nothing written
    _sign(visited)
    order = WorkOrder.objects.get(pk=visited.pk)
    movements, uses = DeviceMovement.objects.count(), MaterialUse.objects.count()
    for call, kwargs in [
        (services.device_install, {"serial": "ZTEG00000002"}),
        (services.device_take_back, {"serial": "ZTEG00000001"}),
        (services.device_swap, {"old_serial": "ZTEG00000001", "new_serial": "ZTEG00000002"}),
        (services.material_use, {"uses": {catalogue["connector"]: 1}}),
        (services.material_use, {"uses": {catalogue["connector"]: -1}}),
    ]:
        with pytest.raises(RuleViolation) as caught:
            call(order=order, by=alice.user, **kwargs)
        assert "customer has signed" in caught.value.message
    assert (DeviceMovement.objects.count(), MaterialUse.objects.count()) == (movements, uses)
    assert Device.objects.get(serial="ZTEG00000001").owner == Owner.CUSTOMER


def test_a_serial_changed_in_the_database_after_signing_is_caught(visited):
    # R26, R45: the sealed part no longer hashes to what the customer signed
    signature = _sign(visited)
    assert signature.content_intact
    Device.objects.filter(serial="ZTEG00000001").update(serial="ZTEG99999999")
    signature.refresh_from_db()
    assert not signature.content_intact


def test_a_material_quantity_changed_in_the_database_after_signing_is_caught(visited):
    # R26, R46
    signature = _sign(visited)
    MaterialUse.objects.filter(item__code="FIB-DROP").update(quantity=Decimal("3.5"))
    assert not signature.content_intact
