"""Late-arriving events withdraw breaches (issue 16, R38, R53, R39).

A technician works offline: the check-in done at 10:02 on the phone reaches the server at
10:40 and is recorded with the phone's time. Meanwhile the sweep recorded the arrival
breach at its true due time (10:10 for a 10:00 booking with 10 min tolerance, R14), told
the desks and the ledger wrote a missed-promise entry. The late check-in withdraws what it
makes untrue, once; the breach's own event stays in the history (R38)."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.db import transaction
from django.utils import translation

from appointments import services as booking_services
from appointments.models import Precision
from assessment.models import Entry, EntryKind
from dashboards.models import OrderFact
from dashboards.services import order_facts_refresh
from fieldops import clock
from notifications.models import Notification
from sla import engine, replay
from sla.events import BreachesWithdrawn
from sla.timers import Timer, TimerEventKind, TimerStatus
from workorders import services
from workorders.events import OrderAction
from workorders.kit import required_kit
from workorders.lifecycle import record_event
from workorders.models import State, WorkOrder

SH = ZoneInfo("Asia/Shanghai")
DAY = dt.date(2026, 12, 8)  # a Tuesday


def at(hour: int, minute: int = 0, second: int = 0) -> dt.datetime:
    return dt.datetime(DAY.year, DAY.month, DAY.day, hour, minute, second, tzinfo=SH)


pytestmark = pytest.mark.django_db


def late(order: WorkOrder, action: str, *, happened: dt.datetime, received: dt.datetime,
         by) -> None:
    """The order event ``action`` done at ``happened`` on the phone, reaching the server at
    ``received``: logged with the phone's time the way the lifecycle logs every event
    (``record_event(at=...)`` publishes it; the SLA engine follows its ``at``)."""
    with time_machine.travel(received, tick=False), transaction.atomic():
        locked = WorkOrder.objects.select_for_update().get(pk=order.pk)
        record_event(order=locked, by=by, action=OrderAction(action),
                     from_state=locked.state, to_state=locked.state, at=happened)


def arrival(order: WorkOrder) -> Timer:
    return Timer.objects.get(order=order, kind="arrival")


@pytest.fixture
def booked(make_order, bob, west):
    """bob's order booked at 09:00 for 10:00 exactly, on his way; the arrival timer is due
    at 10:10 (R14), warned at 95 percent (10:06:30)."""
    with time_machine.travel(at(9), tick=False):
        order = make_order(State.CONTACTED, technician=bob, area=west)
        order = booking_services.work_order_schedule(
            order=order, by=bob.user, start=at(10), end=at(11), precision=Precision.EXACT)
        order = services.work_order_confirm_kit(order=order, by=bob.user,
                                                items=required_kit(order.access_type))
        return services.work_order_depart(order=order, by=bob.user)


@pytest.fixture
def breached(booked):
    """The sweep at 10:20 has recorded the breach (at 10:10) and told the desks."""
    with time_machine.travel(at(10, 20), tick=False):
        engine.sweep_all()
    timer = arrival(booked)
    assert timer.breached_at == at(10, 10) and timer.warned_at is not None
    assert Notification.objects.filter(order=booked, kind="sla.breached").exists()
    return booked


def test_a_check_in_done_offline_in_time_withdraws_the_breach(breached, bob, listen):
    # R14, R38: the check-in at 10:02 was on time; the breach recorded meanwhile is taken
    # back, and stays visible in the timer's history
    heard = listen(BreachesWithdrawn)
    late(breached, OrderAction.CHECK_IN, happened=at(10, 2), received=at(10, 40), by=bob.user)
    timer = arrival(breached)
    assert timer.status == TimerStatus.STOPPED and timer.stopped_at == at(10, 2)
    assert timer.breached_at is None and timer.warned_at is None
    assert timer.outcome == "met" and timer.withdrawn
    assert timer.withdrawn_at == at(10, 40)
    kinds = list(timer.events.order_by("at", "pk").values_list("kind", flat=True))
    assert TimerEventKind.BREACHED in kinds and TimerEventKind.WARNED in kinds  # kept (R38)
    withdrawals = timer.events.filter(kind=TimerEventKind.WITHDRAWN).order_by("withdraws")
    assert [(w.withdraws, w.data["step"]) for w in withdrawals] == [
        (0, "warned"), (1, "breached")]
    for w in withdrawals:
        assert w.at == at(10, 2) and w.recorded_at == at(10, 40)
        assert "10:02" in w.reason and "10:40" in w.reason
    [event] = heard
    assert event.timer_ids == (timer.pk,) and event.order_ids == (breached.pk,)
    assert event.at == at(10, 2) and event.received_at == at(10, 40)
    assert {s.kind for s in event.steps} == {"warned", "breached"}
    assert list(replay.verify(Timer.objects.filter(pk=timer.pk), now=at(10, 40))) == []


def test_everyone_told_of_the_breach_gets_a_correction(breached, bob):
    # R38: notifications already sent are followed by a correction to the same recipients
    told = list(Notification.objects.filter(order=breached, kind__in=["sla.breached",
                                                                      "sla.warned"]))
    late(breached, OrderAction.CHECK_IN, happened=at(10, 2), received=at(10, 40), by=bob.user)
    corrections = list(Notification.objects.filter(order=breached, kind="sla.withdrawn"))
    def who(notes):
        return sorted((n.channel, n.recipient_id or 0, n.address) for n in notes)

    assert told and who(corrections) == who(told)
    assert {n.dedupe_key for n in corrections} == {f"{n.dedupe_key}:withdrawn" for n in told}
    body = corrections[0].body
    assert breached.number in body and "10:02" in body and "10:40" in body


@pytest.mark.parametrize(("language", "words"), [("en", "Withdrawn"), ("zh-hans", "撤销")])
def test_the_correction_reads_in_english_and_chinese(breached, bob, language, words):
    with translation.override(language):
        late(breached, OrderAction.CHECK_IN, happened=at(10, 2), received=at(10, 40),
             by=bob.user)
    bodies = Notification.objects.filter(kind="sla.withdrawn").values_list("body", flat=True)
    assert bodies and all(words in body for body in bodies)


def test_a_check_in_after_the_due_time_withdraws_nothing(breached, bob, listen):
    # R14, R38: 10:12 is after 10:10: the breach stands, however late the check-in arrives
    heard = listen(BreachesWithdrawn)
    late(breached, OrderAction.CHECK_IN, happened=at(10, 12), received=at(10, 40),
         by=bob.user)
    timer = arrival(breached)
    assert timer.breached_at == at(10, 10) and timer.outcome == "breached"
    assert not timer.withdrawn and heard == []
    assert not timer.events.filter(kind=TimerEventKind.WITHDRAWN).exists()
    assert not Notification.objects.filter(kind="sla.withdrawn").exists()


def test_a_check_in_between_the_warning_and_the_due_time_keeps_the_warning(breached, bob):
    # The warning (10:06:30) was truly reached by 10:08; only the breach is withdrawn.
    late(breached, OrderAction.CHECK_IN, happened=at(10, 8), received=at(10, 40), by=bob.user)
    timer = arrival(breached)
    assert timer.breached_at is None and timer.warned_at == at(10, 6, 30)
    assert list(timer.events.filter(kind=TimerEventKind.WITHDRAWN)
                .values_list("withdraws", flat=True)) == [1]


def test_a_retried_event_or_sweep_neither_withdraws_twice_nor_breaches_again(breached, bob,
                                                                           listen):
    late(breached, OrderAction.CHECK_IN, happened=at(10, 2), received=at(10, 40), by=bob.user)
    heard = listen(BreachesWithdrawn)
    # The same check-in delivered again, straight to the engine and through the log.
    with time_machine.travel(at(10, 41), tick=False), transaction.atomic():
        engine.on_order_event(order=WorkOrder.objects.get(pk=breached.pk),
                              action=OrderAction.CHECK_IN, at=at(10, 2))
    late(breached, OrderAction.CHECK_IN, happened=at(10, 2), received=at(10, 42), by=bob.user)
    with time_machine.travel(at(12), tick=False):
        engine.sweep_all()
    timer = arrival(breached)
    assert heard == [] and timer.breached_at is None and timer.outcome == "met"
    assert timer.events.filter(kind=TimerEventKind.WITHDRAWN).count() == 2
    assert timer.events.filter(kind=TimerEventKind.BREACHED).count() == 1
    assert Notification.objects.filter(kind="sla.withdrawn").count() == Notification.objects \
        .filter(kind__in=["sla.breached", "sla.warned"]).count()
    assert list(replay.verify(Timer.objects.filter(pk=timer.pk), now=at(12))) == []


def test_the_ledger_entry_is_reversed_once(breached, bob):
    # R53: the missed-promise entry gets one reversal (a new entry, never an edit)
    timer = arrival(breached)
    [entry] = Entry.objects.filter(source_type="timer", source_id=str(timer.pk))
    assert entry.kind == EntryKind.BREACH_ARRIVAL and entry.points < 0
    late(breached, OrderAction.CHECK_IN, happened=at(10, 2), received=at(10, 40), by=bob.user)
    with time_machine.travel(at(10, 41), tick=False), transaction.atomic():
        engine.on_order_event(order=WorkOrder.objects.get(pk=breached.pk),
                              action=OrderAction.CHECK_IN, at=at(10, 2))
    [reversal] = Entry.objects.filter(kind=EntryKind.REVERSAL)
    assert reversal.reverses == entry and reversal.points == -entry.points
    assert "10:02" in reversal.reason
    assert Entry.objects.get(pk=entry.pk).points == entry.points  # never an edit
    assert sum(Entry.objects.filter(technician=bob).values_list("points", flat=True)) == 0


def test_the_dashboards_count_the_withdrawn_breach_as_met(make_order, alice, dispatcher):
    # R39: the contact promise (60 min from dispatch at 09:00) was kept at 09:50 offline
    with time_machine.travel(at(9), tick=False):
        order = make_order(State.DISPATCHED, technician=alice)
    with time_machine.travel(at(10, 30), tick=False):
        engine.sweep_all()
        order_facts_refresh([order.pk])
    fact = OrderFact.objects.get(order=order)
    assert fact.contact_outcome == "breached" and fact.breaches == 1
    late(order, OrderAction.LOG_CONTACT, happened=at(9, 50), received=at(10, 40),
         by=alice.user)
    with time_machine.travel(at(10, 41), tick=False):
        order_facts_refresh([order.pk])
    fact = OrderFact.objects.get(order=order)
    assert fact.contact_outcome == "met" and fact.breaches == 0


@pytest.mark.parametrize("rows_only", [False, True], ids=["statement", "rows"])
def test_a_late_pause_withdraws_and_the_resumed_clock_can_breach_again(
        make_order, alice, dispatcher, monkeypatch, rows_only):
    # R6, R38: "no resources" reported at 09:55 offline stopped the contact clock before
    # its 10:00 breach; resumed at 11:00, the 5 minutes left run out at 11:05: a new
    # breach, recorded once, in the next round (by the one-statement sweep and the row
    # path alike)
    if rows_only:
        monkeypatch.setattr(engine, "_sweep_set", lambda now, batch: 0)
    with time_machine.travel(at(9), tick=False):
        order = make_order(State.DISPATCHED, technician=alice)
    with time_machine.travel(at(10, 20), tick=False):
        engine.sweep_all()
    timer = Timer.objects.get(order=order, kind="contact")
    assert timer.breached_at == at(10)
    late(order, OrderAction.REPORT_NO_RESOURCES, happened=at(9, 55), received=at(10, 30),
         by=alice.user)
    timer.refresh_from_db()
    assert timer.status == TimerStatus.PAUSED and timer.breached_at is None
    assert timer.warned_at == at(9, 48) and timer.escalation_level == 1
    assert timer.withdrawals == 1
    late(order, OrderAction.RESUME, happened=at(11), received=at(11), by=alice.user)
    with time_machine.travel(at(11, 10), tick=False):
        engine.sweep_all()
        engine.sweep_all()
    timer.refresh_from_db()
    assert timer.breached_at == at(11, 5)
    breaches = timer.events.filter(kind=TimerEventKind.BREACHED).order_by("round")
    assert [(b.round, b.at) for b in breaches] == [(0, at(10)), (1, at(11, 5))]
    keys = set(Notification.objects.filter(order=order, kind="sla.breached")
               .values_list("dedupe_key", flat=True))
    assert any(":1r1:" in k for k in keys) and any(":1:" in k for k in keys)
    assert list(replay.verify(Timer.objects.filter(pk=timer.pk), now=at(11, 10))) == []


def test_the_timer_pages_show_the_withdrawal(breached, bob, client, django_user_model):
    # The admin's timer list and the order's timer display say "withdrawn" (R38: the
    # breach's own event stays listed on the timer's page)
    from django.contrib import admin

    from sla.selectors import order_timers
    from sla.timer_admin import TimerInline

    late(breached, OrderAction.CHECK_IN, happened=at(10, 2), received=at(10, 40), by=bob.user)
    timer = arrival(breached)
    with translation.override("en"):
        shown = TimerInline(WorkOrder, admin.site).status_shown(timer)
        assert shown == "Stopped; Withdrawn 2026-12-08 10:40: Warned, Breached"
    [row] = [t for t in order_timers(breached) if t["kind"] == "arrival"]
    assert row["withdrawn"] and row["withdrawn_at"] == at(10, 40) and row["outcome"] == "met"
    boss = django_user_model.objects.create_superuser("root", "root@example.com", "pw")
    client.force_login(boss)
    # The locale middleware leaves the request's language active: restored after.
    with translation.override(translation.get_language()):
        page = client.get(f"/admin/sla/timer/{timer.pk}/change/", HTTP_ACCEPT_LANGUAGE="en")
        listing = client.get("/admin/sla/timer/", HTTP_ACCEPT_LANGUAGE="en")
    assert page.status_code == 200
    text = page.content.decode()
    assert "Withdrawn" in text and "Breached" in text and "10:40" in text
    assert "Withdrawn 2026-12-08 10:40: Warned, Breached" in listing.content.decode()


def test_the_real_check_in_service_replayed_with_the_phone_time(breached, bob):
    # The check-in service itself, replayed at 10:40 as of 10:02 (clock.happened): the
    # withdrawal is dated with the server's time of arrival (clock.received)
    with time_machine.travel(at(10, 40), tick=False), clock.happened(at(10, 2)):
        services.work_order_check_in(order=breached, by=bob.user)
    timer = arrival(breached)
    assert timer.stopped_at == at(10, 2) and timer.outcome == "met"
    assert timer.withdrawn_at == at(10, 40)
    [withdrawal] = timer.events.filter(kind=TimerEventKind.WITHDRAWN, withdraws=1)
    assert withdrawal.at == at(10, 2) and withdrawal.recorded_at == at(10, 40)
    assert list(replay.verify(Timer.objects.filter(pk=timer.pk), now=at(10, 40))) == []


def test_a_late_cancellation_withdraws_the_breach_and_leaves_no_outcome(breached, dispatcher):
    # The customer cancelled at 10:05 (recorded at the desk from a call-back sheet at
    # 10:40): the arrival promise ended before its 10:10 breach
    late(breached, OrderAction.CANCEL, happened=at(10, 5), received=at(10, 40), by=dispatcher)
    timer = arrival(breached)
    assert timer.status == TimerStatus.CANCELLED and timer.breached_at is None
    assert timer.outcome == "" and timer.withdrawn
    assert timer.warned_at is None  # 10:06:30 was after 10:05 as well
    assert list(replay.verify(Timer.objects.filter(pk=timer.pk), now=at(10, 40))) == []


def test_the_replay_refuses_a_breach_withdrawn_by_a_later_event(breached, bob):
    # sla_verify: a withdrawal is right only when the stop came before the due time
    late(breached, OrderAction.CHECK_IN, happened=at(10, 2), received=at(10, 40), by=bob.user)
    timer = arrival(breached)
    timer.events.filter(kind=TimerEventKind.WITHDRAWN).update(at=at(10, 30))
    [finding] = replay.verify(Timer.objects.filter(pk=timer.pk), now=at(10, 40))
    assert "withdrawn by an event" in finding.problem
    timer.events.filter(kind=TimerEventKind.WITHDRAWN).update(at=at(10, 2))
    Timer.objects.filter(pk=timer.pk).update(breached_at=at(10, 10))
    [finding] = replay.verify(Timer.objects.filter(pk=timer.pk), now=at(10, 40))
    assert "withdrawn" in finding.problem
