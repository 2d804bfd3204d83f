"""SLA timers with a controllable clock: every default promise, pauses, business time,
policy changes, crashes, and "run the sweep twice" for every effect (R6-R38)."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
import time_machine

from appointments import services as booking_services
from notifications.models import Notification
from sla import engine
from sla.models import BusinessCalendar, CalendarOverride
from sla.timers import SlaPolicy, Timer, TimerEvent, TimerRule, TimerStatus
from surveys import services as survey_services
from workorders import services
from workorders.events import OrderAction
from workorders.models import ContactAttempt, CustomerClass, Kind, State

SH = ZoneInfo("Asia/Shanghai")
T0 = dt.datetime(2026, 11, 24, 9, 0, tzinfo=SH)  # a Tuesday


@pytest.fixture
def clock_at():
    """``with clock_at(t):`` freezes the product's clock at ``t``."""

    def at(moment: dt.datetime):
        return time_machine.travel(moment, tick=False)

    return at


def minutes(n: float) -> dt.timedelta:
    return dt.timedelta(minutes=n)


def timer(order, kind="contact", cycle=None) -> Timer:
    qs = Timer.objects.filter(order=order, kind=kind).order_by("-cycle")
    return qs.get(cycle=cycle) if cycle else qs.first()


def sweep_at(moment: dt.datetime) -> int:
    with time_machine.travel(moment, tick=False):
        return engine.sweep_all()


def dispatched(make_order, alice, dispatcher, clock_at, when=T0, **intake):
    with clock_at(when - minutes(5)):
        order = make_order(**intake)
    with clock_at(when):
        return services.work_order_dispatch(order=order, by=dispatcher, technician=alice)


def test_contact_after_60_minutes_is_a_breach_recorded_at_the_due_time(
        make_order, alice, dispatcher, clock_at):
    # R7, R38
    order = dispatched(make_order, alice, dispatcher, clock_at)
    t = timer(order)
    assert t.status == TimerStatus.ARMED and t.due_at == T0 + minutes(60)
    assert sweep_at(T0 + minutes(47)) == 0  # nothing due before the warning
    sweep_at(T0 + minutes(48))
    t.refresh_from_db()
    assert t.warned_at == T0 + minutes(48) and t.breached_at is None
    # The sweep was down for a while: it catches up and records the true due time.
    sweep_at(T0 + minutes(75))
    t.refresh_from_db()
    assert t.breached_at == T0 + minutes(60)
    assert t.outcome == "breached"
    kinds = list(TimerEvent.objects.filter(timer=t, level__isnull=False)
                 .values_list("kind", "at"))
    assert kinds == [("warned", T0 + minutes(48)), ("breached", T0 + minutes(60))]


def test_running_the_sweep_twice_fires_each_step_once(make_order, alice, dispatcher, clock_at):
    # R38: every breach is recorded once
    order = dispatched(make_order, alice, dispatcher, clock_at)
    sweep_at(T0 + minutes(61))
    events = TimerEvent.objects.count()
    notes = Notification.objects.count()
    assert sweep_at(T0 + minutes(61)) == 0
    assert sweep_at(T0 + minutes(62)) == 0
    assert TimerEvent.objects.count() == events
    assert Notification.objects.count() == notes
    breach_notes = Notification.objects.filter(order=order, kind="sla.breached")
    assert sorted(breach_notes.values_list("address", flat=True)) == [
        "role:dispatcher", "role:supervisor"]
    assert Notification.objects.get(order=order, kind="sla.warned").recipient == alice.user


def test_a_contact_logged_in_time_meets_the_promise(make_order, alice, dispatcher, clock_at):
    # R7: the first attempt logged stops the clock
    order = dispatched(make_order, alice, dispatcher, clock_at)
    with clock_at(T0 + minutes(1)):
        order = services.work_order_accept(order=order, by=alice.user)
    with clock_at(T0 + minutes(30)):
        booking_services.work_order_log_contact(order=order, by=alice.user, channel="phone",
                                        outcome=ContactAttempt.Outcome.NO_ANSWER)
    t = timer(order)
    assert t.status == TimerStatus.STOPPED and t.outcome == "met"
    assert t.consumed_seconds == 30 * 60
    assert sweep_at(T0 + minutes(120)) == 0
    assert not TimerEvent.objects.filter(timer=t, kind="breached").exists()


def test_a_breach_stays_recorded_when_the_order_completes(make_order, alice, dispatcher,
                                                          clock_at):
    # R38
    order = dispatched(make_order, alice, dispatcher, clock_at)
    sweep_at(T0 + minutes(61))
    with clock_at(T0 + minutes(70)):
        order = services.work_order_accept(order=order, by=alice.user)
        booking_services.work_order_log_contact(order=order, by=alice.user, channel="phone",
                                        outcome=ContactAttempt.Outcome.REACHED)
    t = timer(order)
    assert t.status == TimerStatus.STOPPED and t.breached_at == T0 + minutes(60)
    assert t.outcome == "breached"


def test_repair_orders_must_be_contacted_within_30_minutes(make_order, alice, dispatcher,
                                                           clock_at):
    # R7a
    order = dispatched(make_order, alice, dispatcher, clock_at, kind=Kind.REPAIR)
    assert timer(order).due_at == T0 + minutes(30)


def test_reassignment_restarts_the_contact_clock_for_the_new_technician(
        make_order, alice, dispatcher, clock_at, east):
    from tests.conftest import make_technician

    carol = make_technician("carol", areas=[east])
    order = dispatched(make_order, alice, dispatcher, clock_at)
    with clock_at(T0 + minutes(20)):
        services.work_order_reassign(order=order, by=dispatcher, technician=carol,
                                     reason="alice is stuck in traffic")
    first, second = timer(order, cycle=1), timer(order, cycle=2)
    assert first.status == TimerStatus.CANCELLED
    assert second.due_at == T0 + minutes(80)


def test_parking_pauses_the_clock_and_resuming_continues_it(make_order, alice, dispatcher,
                                                            agent, clock_at):
    # R12: customer-caused delay does not count
    order = dispatched(make_order, alice, dispatcher, clock_at)
    with clock_at(T0 + minutes(20)):
        order = booking_services.work_order_park(order=order, by=agent, reason="customer abroad",
                                         until=dt.date(2026, 11, 27))
    t = timer(order)
    assert t.status == TimerStatus.PAUSED and t.consumed_seconds == 20 * 60
    assert sweep_at(T0 + dt.timedelta(days=2)) == 0  # paused: nothing is due
    resumed_at = T0 + dt.timedelta(days=3)
    with clock_at(resumed_at):
        booking_services.work_order_resume(order=order, by=agent, reason="customer back")
    t.refresh_from_db()
    assert t.status == TimerStatus.ARMED and t.due_at == resumed_at + minutes(40)
    sweep_at(resumed_at + minutes(41))
    t.refresh_from_db()
    assert t.breached_at == resumed_at + minutes(40)


def test_missing_resources_pause_the_clock_until_dispatch(make_order, alice, dispatcher,
                                                          clock_at):
    # R6
    order = dispatched(make_order, alice, dispatcher, clock_at)
    with clock_at(T0 + minutes(10)):
        order = services.work_order_accept(order=order, by=alice.user)
        order = services.work_order_report_no_resources(order=order, by=alice.user,
                                                        reason="no free port")
    assert timer(order).status == TimerStatus.PAUSED
    with clock_at(T0 + minutes(300)):
        services.work_order_dispatch(order=order, by=dispatcher, technician=alice)
    t = timer(order)
    assert t.status == TimerStatus.ARMED and t.due_at == T0 + minutes(350)


def test_a_repair_must_be_visited_within_24_hours_of_the_report(make_order, alice, dispatcher,
                                                               clock_at):
    # R34
    with clock_at(T0):
        order = make_order(kind=Kind.REPAIR)
    visit = timer(order, "visit")
    assert visit.due_at == T0 + dt.timedelta(hours=24)
    order = dispatched_after(order, alice, dispatcher, clock_at, T0 + minutes(5))
    order = walk_to_on_site(order, alice, clock_at, T0 + dt.timedelta(hours=20))
    visit.refresh_from_db()
    assert visit.status == TimerStatus.STOPPED and visit.outcome == "met"


def test_vip_repairs_count_nights_on_the_24x7_calendar(make_order, clock_at):
    # R35
    with clock_at(T0):
        order = make_order(kind=Kind.REPAIR, customer_class=CustomerClass.VIP)
    visit = timer(order, "visit")
    assert visit.rule.calendar.name == "24x7"
    assert visit.due_at == T0 + dt.timedelta(hours=24)
    assert timer(order, "no_visit_answer") is not None


def test_a_no_visit_answer_counts_business_time_across_a_weekend(make_order, clock_at):
    # R36, R37: 4 business hours from Friday 16:00 (CN standard: 08:30-12:00, 13:30-17:30)
    friday = dt.datetime(2026, 11, 20, 16, 0, tzinfo=SH)
    with clock_at(friday):
        order = make_order(kind=Kind.REPAIR)
    assert timer(order, "no_visit_answer").due_at == dt.datetime(2026, 11, 23, 11, 0,
                                                                 tzinfo=SH)


def test_a_no_visit_answer_skips_a_chinese_public_holiday(make_order, clock_at):
    # R37: National Day 2025 (1-8 October off)
    before = dt.datetime(2025, 9, 30, 16, 0, tzinfo=SH)
    with clock_at(before):
        order = make_order(kind=Kind.REPAIR)
    assert timer(order, "no_visit_answer").due_at == dt.datetime(2025, 10, 9, 11, 0, tzinfo=SH)


def test_a_local_holiday_override_moves_the_due_time(make_order, clock_at):
    # R37: a local day off (admin table) on the Monday after
    office = BusinessCalendar.objects.get(name="CN standard")
    CalendarOverride.objects.create(calendar=office, date=dt.date(2026, 11, 23),
                                    kind="holiday", note="typhoon")
    with clock_at(dt.datetime(2026, 11, 20, 16, 0, tzinfo=SH)):
        order = make_order(kind=Kind.REPAIR)
    assert timer(order, "no_visit_answer").due_at == dt.datetime(2026, 11, 24, 11, 0,
                                                                 tzinfo=SH)


def test_arriving_more_than_10_minutes_late_is_a_breach(make_order, alice, clock_at):
    # R14
    with clock_at(T0):
        order = make_order(State.CONTACTED, technician=alice)
        start = T0 + dt.timedelta(hours=3)
        order = booking_services.work_order_schedule(order=order, by=alice.user, start=start,
                                             end=start + dt.timedelta(hours=1))
    arrival = timer(order, "arrival")
    assert arrival.due_at == start + minutes(10)
    sweep_at(start + minutes(15))
    arrival.refresh_from_db()
    assert arrival.breached_at == start + minutes(10)


def test_arriving_on_time_meets_the_promise(make_order, alice, clock_at):
    # R14
    with clock_at(T0):
        order = make_order(State.CONTACTED, technician=alice)
        start = T0 + dt.timedelta(hours=3)
        order = booking_services.work_order_schedule(order=order, by=alice.user, start=start,
                                             end=start + dt.timedelta(hours=1))
    order = walk_to_on_site(order, alice, clock_at, start - minutes(5))
    assert timer(order, "arrival").outcome == "met"


def test_an_unsatisfied_customer_must_be_recontacted_within_24_hours(make_order, alice, agent,
                                                                     clock_at):
    # R31
    with clock_at(T0):
        order = make_order(State.SURVEY_PENDING, technician=alice)
        order = survey_services.work_order_record_survey(order=order, by=agent, satisfied=False)
    rework = timer(order, "rework_contact")
    assert rework.due_at == T0 + dt.timedelta(hours=24)
    sweep_at(T0 + dt.timedelta(hours=25))
    rework.refresh_from_db()
    assert rework.breached_at == T0 + dt.timedelta(hours=24)


def test_a_policy_change_rearms_open_timers_keeping_used_time(make_order, alice, dispatcher,
                                                              clock_at, agent):
    # R38: policies are versioned; open timers follow the new target
    order = dispatched(make_order, alice, dispatcher, clock_at)
    with clock_at(T0 + minutes(10)):
        order = booking_services.work_order_park(order=order, by=agent, reason="call back later",
                                         until=dt.date(2026, 11, 26))
    with clock_at(T0 + minutes(100)):
        booking_services.work_order_resume(order=order, by=agent)
    policy = SlaPolicy.objects.get(name="Standard")
    TimerRule.objects.filter(policy=policy, kind="contact").update(target_minutes=120)
    SlaPolicy.objects.filter(pk=policy.pk).update(version=policy.version + 1)
    with clock_at(T0 + minutes(130)):
        assert engine.rearm_policy(policy.pk) == 1
        assert engine.rearm_policy(policy.pk) == 0  # run it twice
    t = timer(order)
    # 10 min before the pause + 30 min since resuming = 40 used; 80 of 120 left
    assert t.consumed_seconds == 40 * 60
    assert t.due_at == T0 + minutes(130 + 80)
    assert list(TimerEvent.objects.filter(timer=t).values_list("kind", flat=True)) == [
        "started", "paused", "resumed", "rearmed"]


def test_a_timer_that_cannot_be_evaluated_is_pushed_forward(make_order, alice, dispatcher,
                                                            clock_at, east):
    # A broken ladder must not crash-loop the sweep nor stop the other timers.
    bad = dispatched(make_order, alice, dispatcher, clock_at)
    good = dispatched(make_order, alice, dispatcher, clock_at)
    broken = timer(bad)
    TimerRule.objects.filter(pk=broken.rule_id).update(ladder=[{"percent": "soon"}])
    # Only the broken row's rule is shared with the good one; give the good one its own.
    policy = SlaPolicy.objects.create(name="copy", kind="", version=1)
    rule = TimerRule.objects.create(policy=policy, kind="contact", target_minutes=60,
                                    start_on=[OrderAction.DISPATCH])
    Timer.objects.filter(pk=timer(good).pk).update(rule=rule)
    with clock_at(T0 + minutes(61)):
        assert engine.sweep() == 2
    broken.refresh_from_db()
    assert broken.failures == 1 and broken.next_check_at == T0 + minutes(61) + engine.RETRY_AFTER
    assert timer(good).breached_at == T0 + minutes(60)


# --- helpers walking an order through the field steps at given times -----------------

def dispatched_after(order, alice, dispatcher, clock_at, when):
    with clock_at(when):
        return services.work_order_dispatch(order=order, by=dispatcher, technician=alice)


def walk_to_on_site(order, alice, clock_at, when):
    from appointments.models import Precision
    from workorders.kit import required_kit

    with clock_at(when - minutes(60)):
        if order.state == State.DISPATCHED:
            order = services.work_order_accept(order=order, by=alice.user)
            order, _ = booking_services.work_order_log_contact(
                order=order, by=alice.user, channel="phone",
                outcome=ContactAttempt.Outcome.REACHED)
        if order.state == State.CONTACTED:
            start = when + minutes(30)
            order = booking_services.work_order_schedule(order=order, by=alice.user, start=start,
                                                 end=start + minutes(60),
                                                 precision=Precision.EXACT)
        order = services.work_order_confirm_kit(order=order, by=alice.user,
                                                items=required_kit(order.access_type))
        order = services.work_order_depart(order=order, by=alice.user)
    with clock_at(when):
        return services.work_order_check_in(order=order, by=alice.user)


def test_a_breach_during_a_sweep_outage_is_recorded_when_the_late_contact_comes(
        make_order, alice, dispatcher, clock_at):
    # R38: no sweep ran between the due time and the contact; the breach is not lost
    order = dispatched(make_order, alice, dispatcher, clock_at)
    with clock_at(T0 + minutes(70)):
        order = services.work_order_accept(order=order, by=alice.user)
        booking_services.work_order_log_contact(order=order, by=alice.user, channel="phone",
                                        outcome=ContactAttempt.Outcome.REACHED)
    t = timer(order)
    assert t.status == TimerStatus.STOPPED
    assert t.breached_at == T0 + minutes(60)
    assert Notification.objects.filter(order=order, kind="sla.breached").count() == 2
