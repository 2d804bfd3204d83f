"""Two intakes for one new customer at the same moment can leave two customer records
(R1). The dispatcher folds them into one from the admin: orders and accounts move, every
moved order's log says so (R42) and its version changes."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from workorders import services
from workorders.errors import RuleViolation
from workorders.models import Customer, ServiceAccount, State, WorkOrder, WorkOrderEvent


@pytest.fixture
def twins(make_order, east, alice):
    """One customer, two records: an order on each, an account on the second."""
    first = make_order()
    first_record = first.customer
    twin = Customer.objects.create(name="张伟", phone="13812345678", alt_phone="13900000001")
    ServiceAccount.objects.create(number="BB-0099", customer=twin, address="东四十条 88 号",
                                  area=east, service="broadband", access_type="ftth")
    second = make_order(State.SCHEDULED, technician=alice)
    WorkOrder.objects.filter(pk=second.pk).update(customer=twin)
    return first_record, twin, first, WorkOrder.objects.get(pk=second.pk)


def test_merging_moves_orders_and_accounts_and_logs_it(twins, dispatcher):
    keep, twin, first, second = twins
    moved = services.customer_merge(keep=keep, duplicates=[twin], by=dispatcher)

    assert moved == 1
    assert not Customer.objects.filter(pk=twin.pk).exists()
    assert set(WorkOrder.objects.values_list("customer_id", flat=True)) == {keep.pk}
    assert ServiceAccount.objects.get(number="BB-0099").customer_id == keep.pk
    keep.refresh_from_db()
    assert keep.alt_phone == "13900000001"  # the second record's other phone is kept
    after = WorkOrder.objects.get(pk=second.pk)
    assert after.version == second.version + 1 and after.state == State.SCHEDULED
    event = WorkOrderEvent.objects.filter(order=after).last()
    assert event is not None and event.action == "merge_customer"
    assert event.payload == {"from_customer": twin.pk, "to_customer": keep.pk}
    assert event.actor == dispatcher
    # The order already on the kept record is untouched.
    assert WorkOrder.objects.get(pk=first.pk).version == first.version


def test_a_customer_is_not_merged_into_itself(twins, dispatcher):
    keep, _twin, _first, _second = twins
    with pytest.raises(RuleViolation):
        services.customer_merge(keep=keep, duplicates=[keep], by=dispatcher)


def _merge_in_admin(user, *customers):
    client = Client()
    client.force_login(user)
    return client.post(reverse("admin:workorders_customer_changelist"),
                       {"action": "merge", "_selected_action": [c.pk for c in customers]},
                       follow=True, HTTP_ACCEPT_LANGUAGE="en")


def test_the_dispatcher_merges_from_the_customer_list(twins, dispatcher):
    keep, twin, _first, _second = twins
    page = _merge_in_admin(dispatcher, keep, twin)
    assert page.status_code == 200
    assert "1 record(s) merged into 张伟; 1 order(s) moved." in page.content.decode()
    assert list(Customer.objects.values_list("pk", flat=True)) == [keep.pk]


def test_only_the_dispatcher_may_merge(twins, supervisor, agent):
    keep, twin, _first, _second = twins
    for user in (supervisor, agent):
        _merge_in_admin(user, keep, twin)
    assert Customer.objects.count() == 2
