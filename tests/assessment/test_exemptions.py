"""Force majeure (R50) in the ledger (R53): an approved exemption reverses the entry its
breach made (a new entry, once; the original stays), and a breach already exempt when the
ledger hears of it makes none."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
import time_machine

from assessment.models import Entry, EntryKind
from assessment.sources import from_breaches
from fieldops import clock
from sla import engine, force_majeure
from sla.events import TimerStep
from sla.timers import Timer, TimerEventKind
from workorders.models import State

SH = ZoneInfo("Asia/Shanghai")
T0 = dt.datetime(2026, 11, 24, 9, 0, tzinfo=SH)

pytestmark = pytest.mark.django_db


@pytest.fixture
def at_t0():
    with time_machine.travel(T0, tick=False) as traveller:
        yield traveller


def breached(make_order, alice, traveller):
    """alice's order whose contact promise (R7) breaks at T0 + 60 min."""
    order = make_order(State.DISPATCHED, technician=alice)
    traveller.move_to(T0 + dt.timedelta(minutes=65))
    engine.sweep_all()
    return order, Timer.objects.get(order=order, kind="contact")


def test_approving_an_exemption_reverses_the_breach_entry_once(at_t0, make_order, alice,
                                                               dispatcher, supervisor):
    order, timer = breached(make_order, alice, at_t0)
    [entry] = Entry.objects.filter(source_type="timer", source_id=str(timer.pk))
    assert entry.kind == EntryKind.BREACH_CONTACT and entry.technician == alice
    exemption = force_majeure.declare(by=dispatcher, kind="weather", reason="暴雨",
                                      order=order, starts_at=T0, ends_at=clock.now())
    force_majeure.decide(exemption, by=supervisor, approve=True, reason="红色预警属实")
    [reversal] = Entry.objects.filter(kind=EntryKind.REVERSAL)
    assert reversal.reverses == entry and reversal.points == -entry.points
    assert reversal.recorded_by == supervisor and "红色预警属实" in reversal.reason
    assert Entry.objects.get(pk=entry.pk).points == entry.points  # never an edit
    assert sum(Entry.objects.filter(technician=alice).values_list("points", flat=True)) == 0


def test_a_breach_already_exempt_makes_no_entry(at_t0, make_order, alice, dispatcher,
                                                supervisor):
    order, timer = breached(make_order, alice, at_t0)
    exemption = force_majeure.declare(by=dispatcher, kind="weather", reason="暴雨",
                                      order=order, starts_at=T0, ends_at=clock.now())
    force_majeure.decide(exemption, by=supervisor, approve=True, reason="属实")
    # The same breach heard again (a replayed batch): nothing new for an exempt timer.
    step = TimerStep(timer_id=timer.pk, kind=TimerEventKind.BREACHED, at=timer.breached_at)
    assert from_breaches([step]) == []
