"""A changed policy reaches every open timer (R38): the re-arm waits for timers an order
event holds, an order event re-arms a timer whose policy version is stale (a paused one
included, before it resumes), and a re-arm that fires a step publishes it like the sweep.
The product's clock is frozen and moved with ``time_machine``; nothing sleeps."""

from __future__ import annotations

import datetime as dt
import threading
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.db import OperationalError, connection, connections, transaction

from appointments import services as booking_services
from sla import engine
from sla.events import TimerStepped
from sla.replay import verify
from sla.timers import SlaPolicy, Timer, TimerEvent, TimerRule, TimerStatus
from workorders import services

SH = ZoneInfo("Asia/Shanghai")
T0 = dt.datetime(2026, 11, 24, 9, 0, tzinfo=SH)  # a Tuesday


def minutes(n: float) -> dt.timedelta:
    return dt.timedelta(minutes=n)


def contact_timer(order) -> Timer:
    return Timer.objects.filter(order=order, kind="contact").order_by("-cycle").first()


def dispatched(make_order, alice, dispatcher):
    with time_machine.travel(T0 - minutes(5), tick=False):
        order = make_order()
    with time_machine.travel(T0, tick=False):
        return services.work_order_dispatch(order=order, by=dispatcher, technician=alice)


def shorten_contact(to_minutes: int) -> SlaPolicy:
    """What the policy admin saves: the rule's new target and a new version (the re-arm
    task is queued after commit)."""
    policy = SlaPolicy.objects.get(name="Standard")
    TimerRule.objects.filter(policy=policy, kind="contact").update(target_minutes=to_minutes)
    SlaPolicy.objects.filter(pk=policy.pk).update(version=policy.version + 1)
    policy.refresh_from_db()
    return policy


def sweep_at(moment: dt.datetime) -> None:
    with time_machine.travel(moment, tick=False):
        engine.sweep_all()


def parked_then_shortened(make_order, alice, dispatcher, agent):
    """R12, R38: an order parked at T0+10 (its contact timer paused at 10 min used), then
    its policy's contact target shortened from 60 to 30 min."""
    order = dispatched(make_order, alice, dispatcher)
    with time_machine.travel(T0 + minutes(10), tick=False):
        order = booking_services.work_order_park(order=order, by=agent, reason="not home",
                                                 until=dt.date(2026, 11, 26))
    return order, shorten_contact(30)


def test_a_paused_timer_resumed_after_its_policy_was_shortened_breaches_at_the_new_due(
        make_order, alice, dispatcher, agent):
    # R12, R38: paused at 10 min used; the target goes from 60 to 30 min while it is
    # paused and the re-arm has not reached it; it resumes at T0+100: due at T0+120.
    order, policy = parked_then_shortened(make_order, alice, dispatcher, agent)
    with time_machine.travel(T0 + minutes(100), tick=False):
        booking_services.work_order_resume(order=order, by=agent)
    t = contact_timer(order)
    assert t.policy_version == policy.version and t.target_seconds == 30 * 60
    assert t.status == TimerStatus.ARMED and t.due_at == T0 + minutes(120)
    sweep_at(T0 + minutes(125))
    t.refresh_from_db()
    assert t.breached_at == T0 + minutes(120)
    assert list(verify(now=T0 + minutes(125))) == []


def test_a_paused_timer_rearmed_by_the_policy_change_breaches_after_it_resumes(
        make_order, alice, dispatcher, agent):
    # R12, R38: the same with the re-arm task run while the timer is paused
    order, policy = parked_then_shortened(make_order, alice, dispatcher, agent)
    with time_machine.travel(T0 + minutes(50), tick=False):
        assert engine.rearm_policy(policy.pk) == 1
    with time_machine.travel(T0 + minutes(100), tick=False):
        booking_services.work_order_resume(order=order, by=agent)
    assert contact_timer(order).due_at == T0 + minutes(120)
    sweep_at(T0 + minutes(121))
    assert contact_timer(order).breached_at == T0 + minutes(120)
    assert list(verify(now=T0 + minutes(121))) == []


def test_an_order_event_rearms_a_running_timer_whose_policy_changed(make_order, alice,
                                                                    dispatcher):
    # R38: the order moves on before the re-arm task ran: its event re-arms the timer
    order = dispatched(make_order, alice, dispatcher)
    policy = shorten_contact(30)
    with time_machine.travel(T0 + minutes(10), tick=False):
        services.work_order_accept(order=order, by=alice.user)
    t = contact_timer(order)
    assert t.policy_version == policy.version and t.due_at == T0 + minutes(30)
    assert "rearmed" in TimerEvent.objects.filter(timer=t).values_list("kind", flat=True)
    with time_machine.travel(T0 + minutes(20), tick=False):
        assert engine.rearm_policy(policy.pk) == 0  # nothing stale is left


def test_a_running_timer_rearmed_past_its_new_target_breaches_at_once_and_says_so(
        make_order, alice, dispatcher, listen):
    # R38: 50 min used when the target becomes 30: the re-arm records the breach (at the
    # change, once) and publishes it like the sweep, so facts and webhooks follow
    order = dispatched(make_order, alice, dispatcher)
    heard = listen(TimerStepped)
    policy = shorten_contact(30)
    with time_machine.travel(T0 + minutes(50), tick=False):
        assert engine.rearm_policy(policy.pk) == 1
    t = contact_timer(order)
    # the warning was reached under the old target (80 % of 60 min), the breach at the
    # change
    assert t.warned_at == T0 + minutes(48) and t.breached_at == T0 + minutes(50)
    steps = [(s.timer_id, s.kind) for e in heard for s in e.steps]
    assert steps == [(t.pk, "warned"), (t.pk, "breached")]
    sweep_at(T0 + minutes(60))
    assert TimerEvent.objects.filter(timer=t, kind="breached").count() == 1
    assert list(verify(now=T0 + minutes(60))) == []


def test_a_running_timer_rearmed_on_a_policy_change_follows_the_new_target(
        make_order, alice, dispatcher):
    # R38: 10 min used when the target becomes 30: due at T0+30, breached then
    order = dispatched(make_order, alice, dispatcher)
    policy = shorten_contact(30)
    with time_machine.travel(T0 + minutes(10), tick=False):
        assert engine.rearm_policy(policy.pk) == 1
    assert contact_timer(order).due_at == T0 + minutes(30)
    sweep_at(T0 + minutes(31))
    assert contact_timer(order).breached_at == T0 + minutes(30)
    assert list(verify(now=T0 + minutes(31))) == []


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_the_policy_rearm_waits_for_a_timer_an_order_event_holds(make_order, alice,
                                                                 dispatcher):
    # R38: the re-arm used to skip a locked timer (SKIP LOCKED) and never came back to
    # it; now it waits. A short lock_timeout shows the wait without sleeping.
    order = dispatched(make_order, alice, dispatcher)
    t = contact_timer(order)
    policy = shorten_contact(30)
    held, release = threading.Event(), threading.Event()

    def order_event() -> None:
        try:
            with transaction.atomic():
                Timer.objects.select_for_update(no_key=True).get(pk=t.pk)
                held.set()
                release.wait(30)
        finally:
            connections.close_all()

    holder = threading.Thread(target=order_event)
    holder.start()
    try:
        assert held.wait(10)
        with connection.cursor() as cursor:
            cursor.execute("SET lock_timeout = '300ms'")
        try:
            with pytest.raises(OperationalError, match="lock"):
                engine.rearm_policy(policy.pk)
        finally:
            with connection.cursor() as cursor:
                cursor.execute("RESET lock_timeout")
    finally:
        release.set()
        holder.join(timeout=30)
    with time_machine.travel(T0 + minutes(10), tick=False):
        assert engine.rearm_policy(policy.pk) == 1
    assert contact_timer(order).due_at == T0 + minutes(30)
