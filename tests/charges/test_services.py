"""Fee lines (R47, 不准乱收费): only from the price list in force, at its price; repair
labour only out of warranty; chargeable materials up to what was used; nothing after
sign-off; a refund is a new negative line by a supervisor; bad input is refused with a
message that says what to fix, and nothing is half-written."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from charges import selectors, services
from charges.models import FeeLine, LineKind
from inventory import services as stock_services
from workorders.errors import NotPermitted, RuleViolation
from workorders.events import OrderAction
from workorders.models import WorkOrder, WorkOrderEvent

pytestmark = pytest.mark.django_db


@pytest.fixture
def repair(make_order: Any, alice: Any, devices: Any) -> WorkOrder:
    """A repair on site at a customer whose ONUs were installed by an earlier visit."""
    install = make_order("on_site", technician=alice, account_number="KD-2001")
    for serial in ("OLDONU0001", "NEWONU0001"):
        stock_services.device_install(order=install, by=alice.user, serial=serial)
    return make_order("on_site", technician=alice, kind="repair", account_number="KD-2001")


def test_a_price_on_the_list_is_charged_at_its_published_price(make_order, alice, prices):
    # R47: the line keeps the code, names and price of the list in force
    order = make_order("on_site", technician=alice, kind="move")
    line = services.fee_line_add(order=order, by=alice.user, code="t-move", quantity="1")
    assert (line.code, line.unit_price, line.amount) == ("T-MOVE", Decimal("100.00"),
                                                         Decimal("100.00"))
    event = WorkOrderEvent.objects.get(order=order, action=OrderAction.ADD_CHARGE)
    assert event.payload["amount"] == "100.00" and event.actor == alice.user
    assert selectors.total(order) == Decimal("100.00")


def test_a_price_not_on_the_list_is_refused(make_order, alice, prices):
    # R47 不准乱收费: an unknown code, one no longer in force, one for another kind of work
    order = make_order("on_site", technician=alice)
    for code, said in [("CASH-TIP", "not on the price list in force"),
                       ("T-OLD", "not on the price list in force"),
                       ("T-MOVE", "not charged on a Install order")]:
        with pytest.raises(RuleViolation) as refused:
            services.fee_line_add(order=order, by=alice.user, code=code)
        assert said in refused.value.message and refused.value.rule == "R47"
        assert refused.value.field == "code"
    assert not FeeLine.objects.filter(order=order).exists()
    assert not WorkOrderEvent.objects.filter(order=order, action=OrderAction.ADD_CHARGE).exists()


def test_repair_labour_is_charged_for_equipment_out_of_warranty(repair, alice, prices):
    # R47: the warranty's end (inventory's Device.warranty_until) decides
    line = services.fee_line_add(order=repair, by=alice.user, code="T-LABOUR",
                                 serial="oldonu 0001")
    assert (line.serial, line.amount) == ("OLDONU0001", Decimal("50.00"))


def test_repair_labour_for_equipment_in_warranty_is_refused_with_the_reason(repair, alice,
                                                                              prices):
    # R47: in warranty, labour is free; said with the warranty's end
    with pytest.raises(RuleViolation) as refused:
        services.fee_line_add(order=repair, by=alice.user, code="T-LABOUR",
                              serial="NEWONU0001")
    assert "under warranty until 2099-12-31" in refused.value.message
    assert refused.value.field == "serial" and refused.value.rule == "R47"
    # two devices at this customer: which one was repaired must be said
    with pytest.raises(RuleViolation, match="Give the serial"):
        services.fee_line_add(order=repair, by=alice.user, code="T-LABOUR")
    assert not FeeLine.objects.filter(order=repair).exists()


def test_repair_labour_needs_equipment_of_this_customer(make_order, alice, prices, devices):
    # R47: no device recorded, or a serial that is not this customer's: refused
    order = make_order("on_site", technician=alice, kind="repair", account_number="KD-3001")
    with pytest.raises(RuleViolation, match="Record the equipment repaired first"):
        services.fee_line_add(order=order, by=alice.user, code="T-LABOUR")
    with pytest.raises(RuleViolation, match="not equipment of this customer"):
        services.fee_line_add(order=order, by=alice.user, code="T-LABOUR",
                              serial="OLDONU0001")


def test_a_chargeable_material_is_charged_up_to_what_was_used(make_order, alice, prices,
                                                              socket_material):
    # R46, R47: a material line only for what the order used
    order = make_order("on_site", technician=alice)
    with pytest.raises(RuleViolation, match="Only 0 of"):
        services.fee_line_add(order=order, by=alice.user, code="T-SOCKET")
    stock_services.material_use(order=order, by=alice.user, uses={socket_material: 2})
    line = services.fee_line_add(order=order, by=alice.user, code="T-SOCKET", quantity=2)
    assert line.amount == Decimal("30.00")
    with pytest.raises(RuleViolation, match="2 charged already"):
        services.fee_line_add(order=order, by=alice.user, code="T-SOCKET", quantity=1)


@pytest.mark.parametrize(("quantity", "said"), [
    ("-1", "must be more than zero"), ("0", "must be more than zero"),
    ("1000000", "too many for one line"), ("1.25", "at most one decimal place"),
    ("lots", "Enter a number"), ("NaN", "Enter a number"),
])
def test_bad_quantities_are_refused_with_what_to_fix(make_order, alice, prices, quantity,
                                                     said):
    # R47: a negative (a refund is a supervisor's), zero, absurd or non-number quantity
    order = make_order("on_site", technician=alice)
    with pytest.raises(RuleViolation) as refused:
        services.fee_line_add(order=order, by=alice.user, code="T-ROUTER", quantity=quantity)
    assert said in refused.value.message and refused.value.field == "quantity"
    assert not FeeLine.objects.filter(order=order).exists()


def test_only_the_orders_technician_charges_and_only_on_site(make_order, alice, bob, prices):
    # R41, R47
    order = make_order("on_site", technician=alice)
    with pytest.raises(NotPermitted):
        services.fee_line_add(order=order, by=bob.user, code="T-ROUTER")
    scheduled = make_order("scheduled", technician=alice)
    with pytest.raises(RuleViolation, match="on site"):
        services.fee_line_add(order=scheduled, by=alice.user, code="T-ROUTER")


def test_nothing_can_be_charged_after_sign_off(make_order, alice, prices):
    # R47: once the customer has signed, no new charge, with the reason
    order = make_order("signed_off", technician=alice)
    with pytest.raises(RuleViolation) as refused:
        services.fee_line_add(order=order, by=alice.user, code="T-ROUTER")
    assert "The customer has signed" in refused.value.message
    assert refused.value.rule == "R47"
    assert not FeeLine.objects.filter(order=order).exists()


def test_a_refund_is_a_new_negative_line_by_a_supervisor_only(make_order, alice, supervisor,
                                                              dispatcher, prices):
    # R47: never an edit; a supervisor, with the reason; never more than was charged
    order = make_order("on_site", technician=alice)
    charge = services.fee_line_add(order=order, by=alice.user, code="T-ROUTER")
    for someone in (alice.user, dispatcher):
        with pytest.raises(NotPermitted):
            services.fee_line_refund(line=charge, by=someone, reason="客户投诉")
    with pytest.raises(RuleViolation, match="Say why"):
        services.fee_line_refund(line=charge, by=supervisor, reason=" ")
    with pytest.raises(RuleViolation, match=r"At most ¥159\.00"):
        services.fee_line_refund(line=charge, by=supervisor, reason="多收", amount="200")
    part = services.fee_line_refund(line=charge, by=supervisor, reason="多收", amount="59")
    rest = services.fee_line_refund(line=charge, by=supervisor, reason="退货")
    assert (part.kind, part.amount, part.refund_of) == (LineKind.REFUND, Decimal("-59.00"),
                                                        charge)
    assert rest.amount == Decimal("-100.00")
    with pytest.raises(RuleViolation, match="refunded in full"):
        services.fee_line_refund(line=charge, by=supervisor, reason="again")
    charge.refresh_from_db()
    assert charge.amount == Decimal("159.00")  # the charge itself is untouched
    assert selectors.total(order) == Decimal("0.00")
    events = WorkOrderEvent.objects.filter(order=order, action=OrderAction.REFUND_CHARGE)
    assert [e.reason for e in events.order_by("id")] == ["多收", "退货"]


def test_fee_lines_cannot_be_edited_or_deleted(make_order, alice, prices):
    # R47: append-only
    order = make_order("on_site", technician=alice)
    line = services.fee_line_add(order=order, by=alice.user, code="T-ROUTER")
    line.amount = Decimal("1.00")
    with pytest.raises(TypeError):
        line.save()
    with pytest.raises(TypeError):
        FeeLine.objects.filter(pk=line.pk).update(amount=Decimal("1.00"))
    with pytest.raises(TypeError):
        line.delete()
