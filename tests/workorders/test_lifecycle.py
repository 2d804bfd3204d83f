"""``workorders.lifecycle``: every change is one locked, guarded transition that writes its
event row (R42) and publishes it on the bus in the same transaction."""

from __future__ import annotations

import pytest

from fieldops import bus
from workorders import lifecycle, services
from workorders.errors import ConcurrentModification, IllegalTransition, NotPermitted
from workorders.events import OrderAction, OrderEvent
from workorders.models import State, WorkOrder, WorkOrderEvent

pytestmark = pytest.mark.django_db


@pytest.fixture
def published(listen) -> list[OrderEvent]:
    return listen(OrderEvent)


def test_a_transition_writes_one_event_and_publishes_it(make_order, alice, dispatcher,
                                                        published):
    # R42: who, when, from, to, why
    order = make_order()
    published.clear()
    order = services.work_order_dispatch(order=order, by=dispatcher, technician=alice,
                                         reason="片区负责人")
    row = WorkOrderEvent.objects.filter(order=order).latest("pk")
    assert (row.action, row.from_state, row.to_state, row.actor, row.reason) == (
        OrderAction.DISPATCH, State.ACCEPTED, State.DISPATCHED, dispatcher, "片区负责人")
    [event] = [e for e in published if e.action == OrderAction.DISPATCH]
    assert event.row == row and event.actor == dispatcher and event.order.pk == order.pk


def test_an_action_outside_the_vocabulary_is_refused_and_nothing_is_written(make_order,
                                                                            published):
    order = make_order()
    before = WorkOrderEvent.objects.count()
    published.clear()
    with pytest.raises(ValueError, match="dispatchh"):
        lifecycle.record_event(order=order, by=None, action="dispatchh",  # type: ignore[arg-type]
                               from_state=order.state, to_state=order.state)
    assert WorkOrderEvent.objects.count() == before and published == []


def test_a_failing_handler_rolls_the_whole_change_back(make_order, alice, dispatcher):
    order = make_order()

    def explode(event: OrderEvent) -> None:
        raise RuntimeError("handler failed")

    bus.subscribe(OrderEvent, explode)
    try:
        with pytest.raises(RuntimeError, match="handler failed"):
            services.work_order_dispatch(order=order, by=dispatcher, technician=alice)
    finally:
        bus.unsubscribe(OrderEvent, explode)
    fresh = WorkOrder.objects.get(pk=order.pk)
    assert fresh.state == State.ACCEPTED and fresh.version == order.version
    assert not WorkOrderEvent.objects.filter(order=order, action=OrderAction.DISPATCH).exists()


def test_a_stale_copy_is_refused(make_order, alice, dispatcher):
    order = make_order()
    stale = WorkOrder.objects.get(pk=order.pk)
    services.work_order_dispatch(order=order, by=dispatcher, technician=alice)
    with pytest.raises(ConcurrentModification):
        services.work_order_cancel(order=stale, by=dispatcher, reason="重复工单")


def test_an_impossible_step_names_the_allowed_ones(make_order, dispatcher):
    order = make_order()
    with pytest.raises(IllegalTransition) as refused:
        lifecycle.check_allowed(order, OrderAction.CHECK_IN, dispatcher)
    assert OrderAction.DISPATCH in refused.value.details["allowed_actions"]


def test_a_field_step_belongs_to_the_orders_technician(make_order, alice, bob):
    # R41
    order = make_order(State.ON_SITE, technician=alice)
    with pytest.raises(NotPermitted):
        lifecycle.own_step(order, bob.user, OrderAction.ADD_PHOTO, [State.ON_SITE])
    assert lifecycle.own_step(order, alice.user, OrderAction.ADD_PHOTO, [State.ON_SITE]).pk \
        == order.pk
