"""The order detail carries the charges (R47): the lines, the total, what was paid and
when (the payment backend's confirmation time), for the call-centre answering "what was I
charged?"."""

from __future__ import annotations

import datetime as dt

import time_machine

from charges import services
from tests.charges.conftest import prices  # noqa: F401 (fixture)
from workorders.models import State


def test_a_new_order_has_no_charges(cc, make_order):
    body = cc.get(f"work-orders/{make_order().pk}/").body
    assert body["charges"] == {"lines": [], "total": "0.00", "paid": "0.00", "paid_at": None}


def test_the_lines_total_and_payment_time(cc, make_order, alice, supervisor,
                                          prices):  # noqa: F811
    # R47: a charge, a refund (negative), the payment's confirmation time
    order = make_order(State.ON_SITE, technician=alice)
    line = services.fee_line_add(order=order, by=alice.user, code="T-ROUTER", quantity=2)
    payment = services.payment_request(order=order, by=alice.user)
    paid_at = dt.datetime(2026, 12, 7, 3, 15, tzinfo=dt.UTC)
    with time_machine.travel(paid_at, tick=False):
        services.payment_confirm(payment=payment, via="customer page")
    services.fee_line_refund(line=line, by=supervisor, amount="18", reason="优惠")
    charges = cc.get(f"work-orders/{order.pk}/").body["charges"]
    assert [(row["code"], row["kind"], row["amount"]) for row in charges["lines"]] == [
        ("T-ROUTER", "charge", "318.00"), ("T-ROUTER", "refund", "-18.00")]
    assert (charges["total"], charges["paid"]) == ("300.00", "318.00")
    assert dt.datetime.fromisoformat(charges["paid_at"]) == paid_at
