"""Technicians see and act on their own orders only (R41); roles are enforced (R40)."""

from __future__ import annotations

import pytest

from workorders import services
from workorders.errors import NotPermitted
from workorders.models import State
from workorders.selectors import allowed_actions, orders_visible_to


def test_a_technician_sees_only_their_own_orders(make_order, alice, bob, west):
    # R41
    mine = make_order(State.DISPATCHED, technician=alice)
    theirs = make_order(State.DISPATCHED, technician=bob, area=west)
    make_order()  # not dispatched to anyone
    assert list(orders_visible_to(alice.user)) == [mine]
    assert list(orders_visible_to(bob.user)) == [theirs]


def test_office_roles_see_every_order(make_order, dispatcher, supervisor, agent, alice):
    orders = {make_order(), make_order(State.TAKEN, technician=alice)}
    for user in (dispatcher, supervisor, agent):
        assert set(orders_visible_to(user)) == orders


def test_a_technician_cannot_act_on_someone_elses_order(make_order, alice, bob, west):
    # R41
    order = make_order(State.DISPATCHED, technician=bob, area=west)
    with pytest.raises(NotPermitted):
        services.work_order_accept(order=order, by=alice.user)
    order.refresh_from_db()
    assert order.state == State.DISPATCHED


def test_a_technician_cannot_dispatch_or_cancel(make_order, alice):
    order = make_order()
    with pytest.raises(NotPermitted):
        services.work_order_dispatch(order=order, by=alice.user, technician=alice)
    with pytest.raises(NotPermitted):
        services.work_order_cancel(order=order, by=alice.user, reason="no")


def test_a_supervisor_reads_but_does_not_change_orders(make_order, supervisor):
    order = make_order()
    assert allowed_actions(order, supervisor) == []
    with pytest.raises(NotPermitted):
        services.work_order_cancel(order=order, by=supervisor, reason="x")


def test_allowed_actions_depend_on_role_and_state(make_order, dispatcher, agent, alice):
    order = make_order()
    assert set(allowed_actions(order, dispatcher)) == {"dispatch", "cancel"}
    assert set(allowed_actions(order, agent)) == {"resolve_remotely", "park", "cancel"}
    taken = make_order(State.DISPATCHED, technician=alice)
    assert set(allowed_actions(taken, alice.user)) == {"accept", "park"}
