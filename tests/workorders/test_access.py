"""``workorders.access``: one answer to "is this the order's technician" (R41) and one to
"may this user see the customer's full data" (R40), for every persona."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import AnonymousUser, User

from workorders.access import can_see_pii, is_order_technician, order_visibility
from workorders.models import State

pytestmark = pytest.mark.django_db


@pytest.fixture
def root(reference_data) -> User:
    return User.objects.create_superuser("root", password="pw-root")


def test_only_the_assigned_technician_is_the_orders_technician(make_order, alice, bob,
                                                               dispatcher, agent,
                                                               supervisor, root):
    order = make_order(State.TAKEN, technician=alice)
    answers = {name: is_order_technician(order, user) for name, user in {
        "alice": alice.user, "bob": bob.user, "dispatcher": dispatcher, "agent": agent,
        "supervisor": supervisor, "superuser": root, "anonymous": AnonymousUser(),
        "system": None}.items()}
    assert answers == {"alice": True, "bob": False, "dispatcher": False, "agent": False,
                       "supervisor": False, "superuser": True, "anonymous": False,
                       "system": False}


def test_a_technician_without_field_rights_is_not_the_orders_technician(make_order, alice):
    # R41: the assignment alone is not enough; the role's permission is checked too.
    order = make_order(State.TAKEN, technician=alice)
    alice.user.groups.clear()
    alice.user = User.objects.get(pk=alice.user.pk)  # drop the cached permissions
    order.technician = alice
    assert not is_order_technician(order, alice.user)


def test_full_customer_data_only_for_roles_whose_work_needs_it(alice, dispatcher, agent,
                                                               supervisor, root):
    # R40
    assert {name: can_see_pii(user) for name, user in {
        "technician": alice.user, "dispatcher": dispatcher, "agent": agent,
        "supervisor": supervisor, "superuser": root, "anonymous": AnonymousUser(),
        "system": None}.items()} == {
        "technician": False, "dispatcher": True, "agent": True, "supervisor": False,
        "superuser": True, "anonymous": False, "system": False}


def test_which_orders_each_persona_sees(alice, dispatcher, supervisor):
    # R41 as data
    assert order_visibility(dispatcher) == ("all", None)
    assert order_visibility(supervisor) == ("all", None)
    assert order_visibility(alice.user) == ("own", alice.pk)
    assert order_visibility(AnonymousUser()) == ("none", None)
