"""A real Celery worker and beat on the real Redis and PostgreSQL: an order dispatched and
never contacted gets exactly one contact breach and its notifications (R7, R38)."""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Iterator

import pytest
import time_machine

from notifications.models import Notification
from sla.timers import Timer, TimerEvent
from tests.integration.test_celery_stack import broker_url, celery_stack  # noqa: F401
from workorders import services

pytestmark = [pytest.mark.integration, pytest.mark.postgres, pytest.mark.redis,
              pytest.mark.django_db(transaction=True)]


@pytest.fixture
def fast_sweep(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("SLA_SWEEP_SECONDS", "1")
    yield


def test_an_order_never_contacted_gets_exactly_one_breach(
        fast_sweep, make_order, alice, dispatcher, celery_stack):  # noqa: F811
    # Dispatched 70 minutes ago (the clock moves back only for the dispatch): the beat's
    # sweep finds the contact timer overdue on its first tick, like after a worker outage.
    with time_machine.travel(dt.datetime.now(dt.UTC) - dt.timedelta(minutes=70), tick=False):
        order = services.work_order_dispatch(order=make_order(), by=dispatcher,
                                             technician=alice)
    timer = Timer.objects.get(order=order, kind="contact")
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and timer.breached_at is None:
        time.sleep(0.2)  # waiting for real processes, not measuring time
        timer.refresh_from_db()
    assert timer.breached_at == timer.due_at
    time.sleep(3)  # a few more beat ticks: nothing may fire twice
    assert TimerEvent.objects.filter(timer=timer, kind="breached").count() == 1
    notes = Notification.objects.filter(order=order, kind="sla.breached")
    assert sorted(notes.values_list("address", flat=True)) == ["role:dispatcher",
                                                                "role:supervisor"]
