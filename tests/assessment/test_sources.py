"""Entries come from the SLA engine's breaches and the lifecycle's missed appointments,
once each (R53, R38, R16), with the real engine and a controllable clock."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
import time_machine

from appointments import services as booking_services
from appointments.services import appointments_sweep_missed
from assessment import handlers, sources
from assessment.models import Entry, EntryKind
from notifications.models import Notification
from sla import engine
from sla.events import TimerStep, TimerStepped
from sla.timers import Timer
from workorders import services
from workorders.models import State

SH = ZoneInfo("Asia/Shanghai")
T0 = dt.datetime(2026, 11, 24, 9, 0, tzinfo=SH)  # a Tuesday

pytestmark = pytest.mark.django_db


def minutes(n: float) -> dt.timedelta:
    return dt.timedelta(minutes=n)


def sweep_at(moment: dt.datetime) -> int:
    with time_machine.travel(moment, tick=False):
        return engine.sweep_all()


def dispatched(make_order, alice, dispatcher):
    with time_machine.travel(T0 - minutes(5), tick=False):
        order = make_order()
    with time_machine.travel(T0, tick=False):
        return services.work_order_dispatch(order=order, by=dispatcher, technician=alice)


def test_a_breach_makes_one_entry_for_the_orders_technician(make_order, alice, dispatcher):
    # R38 -> R53: the contact promise (R7) broken; swept twice, one entry
    order = dispatched(make_order, alice, dispatcher)
    sweep_at(T0 + minutes(75))
    sweep_at(T0 + minutes(90))
    timer = Timer.objects.get(order=order, kind="contact")
    entries = list(Entry.objects.filter(technician=alice))
    assert len(entries) == 1
    e = entries[0]
    assert (e.kind, e.source_type, e.source_id) == (EntryKind.BREACH_CONTACT, "timer",
                                                    str(timer.pk))
    assert e.occurred_at == T0 + minutes(60)  # the true breach time (R38)
    assert e.period == dt.date(2026, 11, 1)
    assert e.points == -1 and e.order_id == order.pk and order.number in e.reason
    assert e.rule is not None  # priced by the policy table
    # The technician is told once (R53).
    assert Notification.objects.filter(kind="assessment_entry",
                                       recipient=alice.user).count() == 1


def test_the_handler_run_twice_writes_one_entry(make_order, alice, dispatcher):
    # R53: a replayed event (a retried job) adds nothing
    order = dispatched(make_order, alice, dispatcher)
    sweep_at(T0 + minutes(75))
    timer = Timer.objects.get(order=order, kind="contact")
    replay = TimerStepped(steps=(TimerStep(timer_id=timer.pk, kind="breached",
                                           at=T0 + minutes(60)),))
    handlers.breaches_to_entries(replay)
    handlers.breaches_to_entries(replay)
    assert Entry.objects.filter(technician=alice).count() == 1
    assert Notification.objects.filter(kind="assessment_entry").count() == 1


def test_a_warning_makes_no_entry(make_order, alice, dispatcher):
    # R38: only a breach counts (exempt breaches, R50: tests/assessment/test_exemptions.py)
    order = dispatched(make_order, alice, dispatcher)
    sweep_at(T0 + minutes(50))  # warned only
    assert Timer.objects.get(order=order, kind="contact").breached_at is None
    assert not Entry.objects.exists()


def test_a_breach_of_an_order_without_technician_makes_no_entry(make_order, alice):
    # R53: entries are per technician; nobody was sent yet
    assert sources.from_breaches([]) == []
    with time_machine.travel(T0, tick=False):
        make_order(kind="repair")  # the visit and no-visit timers run, no technician
    sweep_at(T0 + dt.timedelta(days=3))
    assert not Entry.objects.exists()


def at(hour: int, minute: int = 0) -> dt.datetime:
    return dt.datetime(2026, 11, 23, hour, minute, tzinfo=SH)


def book(order, hour: int, **kwargs):
    start = at(hour)
    return booking_services.work_order_schedule(order=order, by=order.technician.user,
                                                start=start, end=start + minutes(60),
                                                **kwargs)


def test_a_missed_appointment_and_the_second_miss_make_entries(make_order, alice):
    # R16 -> R53: the first miss is an entry; the second miss of the same customer is
    # a second-miss entry as well; the sweep run twice adds nothing
    with time_machine.travel(at(9), tick=False):
        order = book(make_order(State.CONTACTED, technician=alice), 10)
    with time_machine.travel(at(12, 1), tick=False):
        assert appointments_sweep_missed() == 1
        assert appointments_sweep_missed() == 0
    kinds = list(Entry.objects.filter(technician=alice).values_list("kind", flat=True))
    assert EntryKind.MISSED_APPOINTMENT in kinds and EntryKind.SECOND_MISS not in kinds
    with time_machine.travel(at(12, 5), tick=False):
        order.refresh_from_db()
        book(order, 15, reason="重新预约")
    with time_machine.travel(at(17, 1), tick=False):
        assert appointments_sweep_missed() == 1
    misses = Entry.objects.filter(technician=alice, kind=EntryKind.MISSED_APPOINTMENT)
    seconds = Entry.objects.filter(technician=alice, kind=EntryKind.SECOND_MISS)
    assert misses.count() == 2 and seconds.count() == 1
    assert seconds.get().points == -5
    assert seconds.get().source_id == str(order.appointments.order_by("-start")[0].pk)


def test_a_move_at_short_notice_is_a_missed_appointment_entry(make_order, alice):
    # R15, R16 -> R53
    with time_machine.travel(at(9), tick=False):
        order = book(make_order(State.CONTACTED, technician=alice), 10)
    with time_machine.travel(at(9, 30), tick=False):
        book(order, 14, reason="前一单超时")
    e = Entry.objects.get(technician=alice)
    assert e.kind == EntryKind.MISSED_APPOINTMENT and e.source_type == "appointment"
    assert e.order_id == order.pk
