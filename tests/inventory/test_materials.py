"""Materials (R46): drawn from the technician's van, never below zero, bounded
quantities, corrections as new rows, an order far above the norm flagged for review."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from inventory import services
from inventory.models import MaterialUse, NormReview, Restock, VanStock
from workorders.errors import NotPermitted, RuleViolation
from workorders.events import OrderAction
from workorders.models import WorkOrderEvent

pytestmark = pytest.mark.django_db


@pytest.fixture
def on_site(make_order: Any, alice: Any) -> Any:
    return make_order("on_site", technician=alice, account_number="KD-1001")


def _van(tech: Any, item: Any) -> Decimal:
    return VanStock.objects.get(technician=tech, item=item).quantity


def test_use_draws_the_van_down_and_is_on_the_orders_history(on_site, catalogue, alice):
    # R46: recorded from the catalogue with quantities, drawn from the technician's stock
    fibre, connector = catalogue["fibre"], catalogue["connector"]
    services.material_use(order=on_site, by=alice.user, uses={fibre: "35.5", connector: 2})
    assert _van(alice, fibre) == Decimal("264.5")
    assert _van(alice, connector) == Decimal("18")
    event = WorkOrderEvent.objects.get(order=on_site, action=OrderAction.USE_MATERIAL)
    assert {m["item"]: m["quantity"] for m in event.payload["materials"]} == {
        "FIB-DROP": "35.5", "CON-SC": "2.0"}
    assert event.payload["above_norm"] == []
    assert not NormReview.objects.exists()


@pytest.mark.parametrize(("item", "value", "words"), [
    ("connector", "-1", "cannot take back more"),  # nothing to correct yet
    ("connector", "0", "zero"),
    ("connector", "1.5", "whole"),
    ("fibre", "12.25", "one decimal"),
    ("fibre", "100000", "too much"),
    ("connector", "abc", "number"),
    ("connector", "NaN", "number"),
])
def test_a_bad_quantity_is_refused_with_a_clear_message_and_nothing_written(
        on_site, catalogue, alice, item, value, words):
    # R46: positive, bounded, whole pieces, metres to one decimal place
    with pytest.raises(RuleViolation) as caught:
        services.material_use(order=on_site, by=alice.user, uses={catalogue[item]: value})
    assert words in caught.value.message and caught.value.rule == "R46"
    assert caught.value.field == f"item-{catalogue[item].pk}"
    assert not MaterialUse.objects.exists()
    assert _van(alice, catalogue[item]) in (Decimal(300), Decimal(20))


def test_more_than_the_van_holds_is_refused(on_site, catalogue, alice):
    # R46: the van stock never goes below zero
    socket = catalogue["socket"]
    with pytest.raises(RuleViolation) as caught:
        services.material_use(order=on_site, by=alice.user, uses={socket: 6})
    assert "5" in caught.value.message
    assert _van(alice, socket) == Decimal(5) and not MaterialUse.objects.exists()


def test_one_bad_item_refuses_the_whole_entry(on_site, catalogue, alice):
    with pytest.raises(RuleViolation):
        services.material_use(order=on_site, by=alice.user,
                              uses={catalogue["fibre"]: 10, catalogue["socket"]: 9})
    assert _van(alice, catalogue["fibre"]) == Decimal(300)
    assert not MaterialUse.objects.exists()


def test_a_correction_on_site_is_a_new_negative_row_that_gives_back_to_the_van(
        on_site, catalogue, alice):
    # R46: history is never edited; a correction before sign-off is a row of its own
    connector = catalogue["connector"]
    first = services.material_use(order=on_site, by=alice.user, uses={connector: 4})[0]
    services.material_use(order=on_site, by=alice.user, uses={connector: -1},
                          reason="one was left over")
    assert list(MaterialUse.objects.values_list("quantity", flat=True)) == [
        Decimal(4), Decimal(-1)]
    first.refresh_from_db()
    assert first.quantity == Decimal(4)
    assert _van(alice, connector) == Decimal(17)
    with pytest.raises(RuleViolation) as caught:
        services.material_use(order=on_site, by=alice.user, uses={connector: -4})
    assert "cannot take back more" in caught.value.message


def test_far_above_the_norm_flags_the_order_for_review(on_site, catalogue, alice, settings):
    # R46: above MATERIAL_NORM_FACTOR times the kind's norm (2 × 50 m of fibre)
    settings.MATERIAL_NORM_FACTOR = 2.0
    fibre = catalogue["fibre"]
    services.material_use(order=on_site, by=alice.user, uses={fibre: 100})
    assert not NormReview.objects.filter(order=on_site).exists()
    services.material_use(order=on_site, by=alice.user, uses={fibre: "0.5"})
    review = NormReview.objects.get(order=on_site)
    assert review.items == [{"item": "FIB-DROP", "total": "100.5", "norm": "50.0"}]
    last = WorkOrderEvent.objects.filter(order=on_site,
                                         action=OrderAction.USE_MATERIAL).last()
    assert last.payload["above_norm"] == review.items  # shown in the order's history
    assert MaterialUse.objects.filter(above_norm=True).count() == 1


def test_the_factor_is_a_setting(on_site, catalogue, alice, settings):
    settings.MATERIAL_NORM_FACTOR = 1.5
    services.material_use(order=on_site, by=alice.user, uses={catalogue["connector"]: 4})
    assert NormReview.objects.filter(order=on_site).exists()


def test_restock_is_recorded_and_only_for_dispatchers(catalogue, alice, dispatcher):
    # R46: restocked by a dispatcher or warehouse keeper, recorded
    services.van_restock(technician=alice, item=catalogue["socket"], quantity=10,
                         by=dispatcher, reason="weekly")
    assert _van(alice, catalogue["socket"]) == Decimal(15)
    assert Restock.objects.get().by == dispatcher
    with pytest.raises(NotPermitted):
        services.van_restock(technician=alice, item=catalogue["socket"], quantity=1,
                             by=alice.user)
    with pytest.raises(RuleViolation):
        services.van_restock(technician=alice, item=catalogue["socket"], quantity=-3,
                             by=dispatcher)


def test_the_database_refuses_a_negative_van_stock(catalogue, alice):
    # R46: the check constraint backs the conditional UPDATE
    from django.db import IntegrityError, transaction

    with pytest.raises(IntegrityError), transaction.atomic():
        VanStock.objects.filter(technician=alice, item=catalogue["socket"]).update(
            quantity=Decimal(-1))


def test_only_the_orders_technician_on_site(make_order, on_site, catalogue, alice, bob):
    with pytest.raises(NotPermitted):
        services.material_use(order=on_site, by=bob.user, uses={catalogue["connector"]: 1})
    scheduled = make_order("scheduled", technician=alice)
    with pytest.raises(RuleViolation):
        services.material_use(order=scheduled, by=alice.user,
                              uses={catalogue["connector"]: 1})
    assert not MaterialUse.objects.exists()
