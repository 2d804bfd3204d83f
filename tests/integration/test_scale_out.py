"""Scale-out (docs/scaling.md): two Celery workers and two beats on one PostgreSQL during a
breach storm. Both beats schedule every sweep, both workers run them at once; the sweep's
claims (FOR UPDATE SKIP LOCKED) and the timer events' and outbox rows' keys must still give
every breach exactly once, with its notifications exactly once (R7, R38)."""

from __future__ import annotations

import datetime as dt
import time
from collections import Counter

import pytest
import time_machine

from notifications.models import Notification
from sla.timers import Timer, TimerEvent
from tests.integration.test_celery_stack import broker_url, stack  # noqa: F401
from workorders import services

pytestmark = [pytest.mark.integration, pytest.mark.postgres, pytest.mark.redis,
              pytest.mark.django_db(transaction=True)]

#: Orders whose contact promise is already broken when the stack starts.
STORM = 40


def test_two_workers_and_two_beats_record_every_breach_exactly_once(
        monkeypatch, make_order, alice, dispatcher, broker_url):  # noqa: F811
    monkeypatch.setenv("SLA_SWEEP_SECONDS", "1")
    # Dispatched 70 minutes ago (the clock moves back only for the dispatch): every contact
    # timer is overdue on the first tick, as after an outage of every worker.
    with time_machine.travel(dt.datetime.now(dt.UTC) - dt.timedelta(minutes=70), tick=False):
        orders = [services.work_order_dispatch(order=make_order(), by=dispatcher,
                                               technician=alice) for _ in range(STORM)]
    timers = Timer.objects.filter(order__in=orders, kind="contact")
    assert timers.count() == STORM
    with stack(broker_url, workers=2, beats=2) as processes:
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline and timers.filter(breached_at__isnull=True).exists():
            for proc in processes:
                assert proc.popen.poll() is None, f"celery {proc.name} exited"
            time.sleep(0.5)  # waiting for real processes, not measuring time
        assert not timers.filter(breached_at__isnull=True).exists(), "breaches still missing"
        time.sleep(4)  # more ticks from both beats on both workers: nothing may fire twice
    breaches = Counter(TimerEvent.objects.filter(timer__in=timers, kind="breached")
                       .values_list("timer_id", flat=True))
    assert len(breaches) == STORM and set(breaches.values()) == {1}, breaches
    for timer in timers:
        assert timer.breached_at == timer.due_at
    notes = Counter(Notification.objects.filter(order__in=orders, kind="sla.breached")
                    .values_list("order_id", "address"))
    assert len(notes) == 2 * STORM and set(notes.values()) == {1}, notes
