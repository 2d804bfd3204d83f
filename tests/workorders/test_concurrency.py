"""Two people acting on one order at the same moment: exactly one wins (R4, R42)."""

from __future__ import annotations

import pytest
from django.db import connection

from tests.concurrency import race
from workorders import services
from workorders.errors import ConcurrentModification, DomainError
from workorders.events import OrderAction
from workorders.models import Assignment, State, WorkOrder, WorkOrderEvent

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]




def test_two_concurrent_dispatches_one_wins_the_other_gets_a_conflict(
        make_order, dispatcher, alice, east):
    from tests.conftest import make_technician

    carol = make_technician("carol", areas=[east])
    order = make_order()
    assert connection.vendor == "postgresql"
    # Both dispatchers read the same version of the order, then press "dispatch".
    copy_a = WorkOrder.objects.get(pk=order.pk)
    copy_b = WorkOrder.objects.get(pk=order.pk)

    results = race([
        lambda: services.work_order_dispatch(order=copy_a, by=dispatcher, technician=alice),
        lambda: services.work_order_dispatch(order=copy_b, by=dispatcher, technician=carol),
    ])

    wins = [r for r in results if isinstance(r, WorkOrder)]
    conflicts = [r for r in results if isinstance(r, ConcurrentModification)]
    assert len(wins) == 1, results
    assert len(conflicts) == 1, results
    assert "changed by someone else" in conflicts[0].message or conflicts[0].code
    assert conflicts[0].status == 409

    order = WorkOrder.objects.get(pk=order.pk)
    assert order.state == State.DISPATCHED
    assert order.technician_id == wins[0].technician_id
    assert order.version == 2
    assert WorkOrderEvent.objects.filter(order=order, action=OrderAction.DISPATCH).count() == 1
    assert Assignment.objects.filter(order=order).count() == 1


def test_a_stale_copy_is_refused_even_without_arace(make_order, dispatcher, alice):
    order = make_order()
    stale = WorkOrder.objects.get(pk=order.pk)
    services.work_order_dispatch(order=order, by=dispatcher, technician=alice)
    with pytest.raises(ConcurrentModification) as err:
        services.work_order_cancel(order=stale, by=dispatcher, reason="duplicate")
    assert err.value.details["current_version"] == 2
    assert WorkOrder.objects.get(pk=order.pk).state == State.DISPATCHED


def test_ten_concurrent_accepts_of_one_order_record_one_event(make_order, alice):
    order = make_order(State.DISPATCHED, technician=alice)
    copies = [WorkOrder.objects.get(pk=order.pk) for _ in range(10)]
    results = race([lambda c=c: services.work_order_accept(order=c, by=alice.user)
                     for c in copies])
    assert sum(isinstance(r, WorkOrder) for r in results) == 1
    assert all(isinstance(r, WorkOrder | DomainError) for r in results), results
    assert WorkOrderEvent.objects.filter(order=order, action=OrderAction.ACCEPT).count() == 1
