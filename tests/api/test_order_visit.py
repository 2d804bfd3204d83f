"""The order detail carries the visit's checklist and measured results (R43, R44, R48,
R49): what the call-centre reads when a customer asks what was done and measured."""

from __future__ import annotations

from tests.fieldapp.helpers import on_site_with_report
from tests.fieldapp.test_sign_off import sign
from visits import services as visit_services
from visits.models import TestResult
from workorders.models import State


def test_a_new_order_has_an_empty_checklist_and_no_results(cc, make_order):
    order = make_order()
    body = cc.get(f"work-orders/{order.pk}/").body
    assert body["checklist"] == [] and body["test_results"] == []


def test_a_signed_off_order_shows_its_checklist_and_network_verified_reading(
        cc, make_order, alice):
    """R48: the optical reading came from the line test and says so; R43/R44: the
    try-out and the clean-up are done."""
    order = make_order(State.ON_SITE, technician=alice)
    visit_services.work_order_read_line(order=order, by=alice.user)
    order = on_site_with_report(order)
    sign(order)
    body = cc.get(f"work-orders/{order.pk}/").body
    steps = {row["step"]: row for row in body["checklist"]}
    assert steps["tryout"]["status"] == "done"
    assert steps["tryout"]["details"]["worked"] is True
    assert steps["cleanup"]["status"] == "done"
    assert steps["tests"]["requirement"] == "required"
    results = {row["measure"]: row for row in body["test_results"]}
    assert results["rx_power"]["source"] == "network" and results["rx_power"]["in_range"]
    assert results["speed_down"]["source"] == "typed"
    assert float(results["speed_down"]["value"]) >= 450


def test_the_detail_says_when_the_customer_signed_and_whether_the_seal_holds(
        cc, make_order, alice):
    """R26, R48: the call-centre sees the sign-off; a reading written to the database
    after signing shows as a broken seal."""
    order = make_order(State.ON_SITE, technician=alice)
    assert cc.get(f"work-orders/{order.pk}/").body["sign_off"] is None
    signature = sign(on_site_with_report(order))
    body = cc.get(f"work-orders/{order.pk}/").body
    assert body["sign_off"]["seal_intact"] is True and body["sign_off"]["rating"] == 5
    assert body["sign_off"]["method"] == signature.method
    TestResult.objects.filter(order=order, measure="speed_down").update(value=999)
    assert cc.get(f"work-orders/{order.pk}/").body["sign_off"]["seal_intact"] is False
