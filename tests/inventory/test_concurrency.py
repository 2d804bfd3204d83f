"""Two real PostgreSQL connections at once (R45, R46): one serial installed by two
visits at the same time goes to exactly one customer; two visits drawing the same item
from one van leave the exact count, never below zero."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from inventory import services
from inventory.models import Device, DeviceMovement, MaterialUse, VanStock
from tests.concurrency import race
from workorders.errors import DomainError
from workorders.models import WorkOrder


def _race(calls: list[Any]) -> tuple[list[Any], list[BaseException]]:
    """The calls raced (read in English); what they returned, and what they raised."""
    results = race(calls, language="en")
    return ([r for r in results if not isinstance(r, BaseException)],
            [r for r in results if isinstance(r, BaseException)])


pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]




def test_one_serial_installed_by_two_visits_at_once_goes_to_exactly_one(make_order, alice,
                                                                        stock):
    # R45: a serial is installed at one customer at a time; the loser is told why
    first = make_order("on_site", technician=alice, account_number="KD-1")
    second = make_order("on_site", technician=alice, account_number="KD-2",
                        customer_name="李娜", contact_phone="13900001111")

    def install(order: WorkOrder) -> Any:
        return lambda: services.device_install(order=WorkOrder.objects.get(pk=order.pk),
                                               by=alice.user, serial="ZTEG00000001")

    done, errors = _race([install(first), install(second)])
    assert len(done) == 1 and len(errors) == 1
    assert isinstance(errors[0], DomainError) and "another customer" in errors[0].message
    assert DeviceMovement.objects.filter(device__serial="ZTEG00000001",
                                         action="install").count() == 1
    assert Device.objects.get(serial="ZTEG00000001").order_id in (first.pk, second.pk)


def test_concurrent_visits_drawing_the_same_item_leave_the_exact_count(make_order, alice,
                                                                       catalogue):
    # R46: 20 connectors in the van; six visits at once each draw 3: six fit only if
    # 18 <= 20, so all six succeed; then four more at once each draw 1 ... exactly 2 fit
    orders = [make_order("on_site", technician=alice, account_number=f"KD-{n}",
                         contact_phone=f"1390000{n:04d}") for n in range(6)]
    connector = catalogue["connector"]

    def draw(order: WorkOrder, quantity: int) -> Any:
        return lambda: services.material_use(order=WorkOrder.objects.get(pk=order.pk),
                                             by=alice.user, uses={connector: quantity})

    done, errors = _race([draw(order, 3) for order in orders])
    assert errors == [] and len(done) == 6
    assert VanStock.objects.get(technician=alice, item=connector).quantity == Decimal(2)
    done, errors = _race([draw(order, 1) for order in orders[:4]])
    assert len(done) == 2 and len(errors) == 2
    assert all(isinstance(e, DomainError) for e in errors)
    assert VanStock.objects.get(technician=alice, item=connector).quantity == Decimal(0)
    assert sum(MaterialUse.objects.filter(item=connector).values_list(
        "quantity", flat=True)) == Decimal(20)
