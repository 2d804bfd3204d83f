"""``workorders.bulk.for_each_order``: many orders, one transaction each, in id order,
a deadlock retried once, every refusal collected with its reason (R4)."""

from __future__ import annotations

import pytest

from tests.conftest import deadlock_error
from workorders import bulk, services
from workorders.models import State, WorkOrder


@pytest.fixture
def three(make_order, west):
    ok_a, stranded, ok_b = make_order(), make_order(area=west), make_order()
    return ok_a, stranded, ok_b


def test_orders_are_done_in_id_order_and_refusals_keep_their_reason(three, alice,
                                                                    dispatcher):
    # R4: the west area has no technician here: that order is refused, the others go on
    ok_a, stranded, ok_b = three
    seen = []

    def dispatch(order: WorkOrder) -> None:
        seen.append(order.pk)
        services.work_order_dispatch(order=order, by=dispatcher)

    result = bulk.for_each_order([ok_b.pk, stranded.pk, ok_a.pk, ok_b.pk], dispatch)
    assert seen == sorted({ok_a.pk, stranded.pk, ok_b.pk})
    assert result.done == [ok_a.pk, ok_b.pk]
    assert [(pk, number) for pk, number, _why in result.refused] == [
        (stranded.pk, stranded.number)]
    assert result.refused[0][2] and stranded.number in result.why()
    assert WorkOrder.objects.get(pk=stranded.pk).state == State.ACCEPTED
    assert WorkOrder.objects.get(pk=ok_a.pk).state == State.DISPATCHED


def test_a_deadlock_runs_the_order_again_and_a_second_one_is_a_refusal(three, alice,
                                                                       dispatcher):
    # R4: the first attempt of the first order is a deadlock's victim: rolled back and
    # run again; the last order deadlocks twice: refused, nothing of it kept
    ok_a, _stranded, ok_b = three
    attempts: dict[int, int] = {}

    def dispatch(order: WorkOrder) -> None:
        attempts[order.pk] = attempts.get(order.pk, 0) + 1
        services.work_order_dispatch(order=order, by=dispatcher)
        if (order.pk == ok_a.pk and attempts[order.pk] == 1) or order.pk == ok_b.pk:
            raise deadlock_error()

    result = bulk.for_each_order([ok_a.pk, ok_b.pk], dispatch)
    assert attempts == {ok_a.pk: 2, ok_b.pk: 2}, result
    assert result.done == [ok_a.pk]
    assert [pk for pk, _n, _why in result.refused] == [ok_b.pk]
    assert WorkOrder.objects.get(pk=ok_a.pk).version == 2  # dispatched once
    assert WorkOrder.objects.get(pk=ok_b.pk).state == State.ACCEPTED


def test_an_order_deleted_meanwhile_is_refused_not_an_error(three, dispatcher):
    ok_a, *_rest = three
    result = bulk.for_each_order([ok_a.pk, 10**9], lambda order: None)
    assert result.done == [ok_a.pk] and [pk for pk, _n, _w in result.refused] == [10**9]
