import pytest

from workorders.models import State


@pytest.mark.parametrize("state", [s.value for s in State])
def test_it_walks_an_order_to_every_state(make_order, alice, state):
    order = make_order(state, technician=alice)
    assert order.state == state
