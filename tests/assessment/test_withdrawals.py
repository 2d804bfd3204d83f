"""R38 → R53: a breach withdrawn by a late-arriving earlier event (a check-in done offline
in time) reverses its missed-promise entry, once; an entry not yet written never is."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.db import transaction

from assessment.handlers import breaches_to_entries, withdrawals_to_reversals
from assessment.models import Entry, EntryKind
from assessment.sources import from_breaches
from fieldops import bus
from sla import engine
from sla.events import BreachesWithdrawn, TimerStep, TimerStepped, WithdrawnStep
from sla.timers import Timer, TimerEventKind
from workorders.events import OrderAction
from workorders.lifecycle import record_event
from workorders.models import State, WorkOrder

SH = ZoneInfo("Asia/Shanghai")
T0 = dt.datetime(2026, 12, 8, 9, 0, tzinfo=SH)

pytestmark = pytest.mark.django_db


def minutes(n: int) -> dt.timedelta:
    return dt.timedelta(minutes=n)


@pytest.fixture
def breached(make_order, alice):
    """alice's contact promise (R7, 60 min from dispatch at 09:00) recorded as broken by
    the sweep at 10:05; her contact at 09:50 was done offline and has not arrived yet."""
    with time_machine.travel(T0, tick=False):
        order = make_order(State.DISPATCHED, technician=alice)
    with time_machine.travel(T0 + minutes(65), tick=False):
        engine.sweep_all()
    timer = Timer.objects.get(order=order, kind="contact")
    assert timer.breached_at == T0 + minutes(60)
    return order, timer


def contact_arrives(order, alice, *, happened, received):
    with time_machine.travel(received, tick=False), transaction.atomic():
        locked = WorkOrder.objects.select_for_update().get(pk=order.pk)
        record_event(order=locked, by=alice.user, action=OrderAction.LOG_CONTACT,
                     from_state=locked.state, to_state=locked.state, at=happened)


def test_the_entry_is_reversed_once_when_the_breach_is_withdrawn(breached, alice):
    order, timer = breached
    [entry] = Entry.objects.filter(source_type="timer", source_id=str(timer.pk))
    assert entry.kind == EntryKind.BREACH_CONTACT and entry.points < 0
    contact_arrives(order, alice, happened=T0 + minutes(50), received=T0 + minutes(80))
    [reversal] = Entry.objects.filter(kind=EntryKind.REVERSAL)
    assert reversal.reverses == entry and reversal.points == -entry.points
    assert reversal.technician == alice and reversal.recorded_by is None
    assert "09:50" in reversal.reason and "10:20" in reversal.reason
    # The same event heard again (a replayed publication): nothing new.
    event = BreachesWithdrawn(timer_ids=(timer.pk,), order_ids=(order.pk,),
                              at=T0 + minutes(50), received_at=T0 + minutes(81),
                              action=OrderAction.LOG_CONTACT, steps=(WithdrawnStep(
                                  timer_id=timer.pk, order_id=order.pk,
                                  kind=TimerEventKind.BREACHED, level=1,
                                  reached_at=T0 + minutes(60)),))
    with transaction.atomic():
        withdrawals_to_reversals(event)
    assert Entry.objects.filter(kind=EntryKind.REVERSAL).count() == 1
    assert sum(Entry.objects.filter(technician=alice).values_list("points", flat=True)) == 0


def test_a_withdrawn_breach_whose_entry_was_not_written_gets_none_later(make_order, alice):
    # The ledger did not hear the breach (its handler set aside for the sweep)...
    bus.unsubscribe(TimerStepped, breaches_to_entries)
    try:
        with time_machine.travel(T0, tick=False):
            order = make_order(State.DISPATCHED, technician=alice)
        with time_machine.travel(T0 + minutes(65), tick=False):
            engine.sweep_all()
    finally:
        bus.subscribe(TimerStepped, breaches_to_entries)
    timer = Timer.objects.get(order=order, kind="contact")
    assert timer.breached_at is not None and not Entry.objects.exists()
    contact_arrives(order, alice, happened=T0 + minutes(50), received=T0 + minutes(80))
    assert not Entry.objects.exists()
    # ...and hears it late (a replayed batch): the breach no longer stands, no entry.
    step = TimerStep(timer_id=timer.pk, kind=TimerEventKind.BREACHED, at=T0 + minutes(60))
    assert from_breaches([step]) == []


def test_a_contact_after_the_due_time_keeps_the_entry(breached, alice):
    order, timer = breached
    contact_arrives(order, alice, happened=T0 + minutes(62), received=T0 + minutes(80))
    assert not Entry.objects.filter(kind=EntryKind.REVERSAL).exists()
    assert Entry.objects.filter(source_type="timer", source_id=str(timer.pk)).count() == 1
