"""Several sweeps at once (two workers, or an accidental second beat) claim disjoint rows
and never fire a step twice (R38). PostgreSQL: SELECT … FOR UPDATE SKIP LOCKED."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine

from sla import engine
from sla.timers import Timer, TimerEvent
from workorders import services

from .sweepers import sweep_at_once

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def test_two_sweeps_at_once_claim_disjoint_rows(make_order, alice, dispatcher):
    alice.daily_capacity = 100
    alice.save()
    start = dt.datetime(2026, 11, 24, 1, 0, tzinfo=dt.UTC)
    with time_machine.travel(start, tick=False):
        for _ in range(40):
            services.work_order_dispatch(order=make_order(), by=dispatcher, technician=alice)
    assert Timer.objects.filter(kind="contact").count() == 40

    later = start + dt.timedelta(hours=3)  # every contact timer is past every ladder step
    handled = sweep_at_once(2, lambda: engine.sweep(batch=25), later, timeout=60)
    # Disjoint: together they handled each due row at most once (an overlap would count a
    # row twice and the unique step constraint would have dropped its second events).
    assert sum(handled) <= 40 and max(handled) <= 25
    with time_machine.travel(later, tick=False):
        engine.sweep_all()  # whatever a sweep left for the next tick
    breaches = TimerEvent.objects.filter(kind="breached")
    assert breaches.count() == 40
    assert breaches.values("timer").distinct().count() == 40
    steps = TimerEvent.objects.filter(level__isnull=False).count()
    assert steps == 40 * 4  # warned, breached, two escalations: each exactly once
