"""The active policies are cached per process (``engine.active_policies``), and a policy
edit takes effect on the very next order event, in this process or any other (R38:
policies are versioned)."""

from __future__ import annotations

import pytest
from django.db import connection
from django.db.models import F
from django.test.utils import CaptureQueriesContext

from sla import engine
from sla.timers import SlaPolicy, Timer, TimerRule
from workorders import services
from workorders.models import WorkOrder

pytestmark = pytest.mark.django_db


def contact_target(order: WorkOrder) -> int:
    return Timer.objects.filter(order=order, kind="contact").order_by("-cycle")[0].target_seconds


def fresh(order: WorkOrder) -> WorkOrder:
    return WorkOrder.objects.select_related("area").get(pk=order.pk)


def test_a_warm_policy_lookup_is_one_small_query(make_order):
    # R7: the policy is resolved on every order event; warm, it costs the version check.
    order = fresh(make_order())
    expected = engine.policy_for(order)
    with CaptureQueriesContext(connection) as queries:
        assert engine.policy_for(order) == expected
    assert len(queries) == 1
    assert "sla_slapolicy" in queries[0]["sql"]


def test_a_policy_edited_elsewhere_applies_to_the_next_dispatch(make_order, alice,
                                                                dispatcher):
    # R7, R38: another process (the admin) edits the rule and bumps the version, without
    # any signal reaching this process; the next event here uses the new target.
    first = services.work_order_dispatch(order=make_order(), by=dispatcher,
                                         technician=alice)
    assert contact_target(first) == 60 * 60
    policy = SlaPolicy.objects.get(name="Standard")
    TimerRule.objects.filter(policy=policy, kind="contact").update(target_minutes=45)
    SlaPolicy.objects.filter(pk=policy.pk).update(version=F("version") + 1)
    second = services.work_order_dispatch(order=make_order(), by=dispatcher,
                                          technician=alice)
    assert contact_target(second) == 45 * 60
    assert Timer.objects.get(order=second, kind="contact").policy_version == policy.version + 1


def test_a_rule_saved_in_this_process_applies_at_once(make_order, alice, dispatcher):
    # R7: a save through the ORM drops the cache even before the version is bumped.
    services.work_order_dispatch(order=make_order(), by=dispatcher, technician=alice)
    rule = TimerRule.objects.get(policy__name="Standard", kind="contact")
    rule.target_minutes = 20
    rule.save()
    order = services.work_order_dispatch(order=make_order(), by=dispatcher,
                                         technician=alice)
    assert contact_target(order) == 20 * 60


def test_a_deactivated_policy_stops_matching_at_once(make_order, alice, dispatcher):
    # R38: switching a policy off (even with QuerySet.update) is seen by the next event.
    order = fresh(make_order())
    matched = engine.policy_for(order)
    assert matched is not None
    SlaPolicy.objects.filter(pk=matched.pk).update(is_active=False)
    now = engine.policy_for(order)
    assert now is None or now.pk != matched.pk


@pytest.mark.postgres  # the row-version key (xmin, ctid) is PostgreSQL's
def test_a_rolled_back_rule_edit_is_forgotten(make_order, alice, dispatcher):
    # R7: an edit seen inside a transaction that then rolls back must not linger.
    from django.db import transaction

    order = fresh(make_order())
    with pytest.raises(RuntimeError), transaction.atomic():
        TimerRule.objects.filter(policy__name="Standard", kind="contact").update(
            target_minutes=5)
        policy = engine.policy_for(order)
        assert policy is not None
        assert {r.kind: r.target_minutes for r in policy.rules.all()}["contact"] == 5
        raise RuntimeError("rolled back")
    policy = engine.policy_for(order)
    assert policy is not None
    assert {r.kind: r.target_minutes for r in policy.rules.all()}["contact"] == 60


@pytest.mark.postgres  # the row-version key (xmin, ctid) is PostgreSQL's
def test_a_rule_edited_without_a_version_bump_is_seen(make_order, alice, dispatcher):
    # R7: even a QuerySet.update of a rule alone (no version bump) reaches the next event.
    services.work_order_dispatch(order=make_order(), by=dispatcher, technician=alice)
    TimerRule.objects.filter(policy__name="Standard", kind="contact").update(
        target_minutes=25)
    order = services.work_order_dispatch(order=make_order(), by=dispatcher,
                                         technician=alice)
    assert contact_target(order) == 25 * 60
