"""Property tests of the SLA engine: whatever happens to an order and however often the
sweep runs (or crashes), a breach is recorded if and only if the time used exceeds the
target, and at most once (R7, R12, R37, R38)."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
import time_machine
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule

from appointments import services as booking_services
from sla import engine
from sla.replay import replay
from sla.timers import Timer, TimerEvent, TimerStatus
from workorders import services
from workorders.models import ContactAttempt, State

SH = ZoneInfo("Asia/Shanghai")
START = dt.datetime(2026, 11, 24, 9, 0, tzinfo=SH)


@pytest.mark.django_db
def test_contact_timer_state_machine(make_order, alice, dispatcher, agent):
    """A hypothesis stateful test: create, dispatch, contact, park, resume, advance the
    clock, sweep and crash mid-sweep, in any order; checks the invariant after each step."""

    class ContactTimer(RuleBasedStateMachine):
        @initialize()
        def create(self) -> None:
            self.now = START
            self.traveller = time_machine.travel(self.now, tick=False)
            self.traveller.start()
            self.order = make_order()
            self.used = 0  # the model's own count of contact-clock seconds
            self.running = False
            self.stopped = False
            self.target = 60 * 60

        def teardown(self) -> None:
            self.traveller.stop()

        def _move(self, seconds: int) -> None:
            if self.running:
                self.used += seconds
            self.now += dt.timedelta(seconds=seconds)
            self.traveller.stop()
            self.traveller = time_machine.travel(self.now, tick=False)
            self.traveller.start()

        def _reload(self) -> None:
            self.order.refresh_from_db()

        @rule()
        def dispatch(self) -> None:
            self._reload()
            if self.order.state == State.ACCEPTED:
                self.order = services.work_order_dispatch(order=self.order, by=dispatcher,
                                                          technician=alice)
                self.running = True

        @rule()
        def contact(self) -> None:
            self._reload()
            if self.order.state == State.DISPATCHED:
                self.order = services.work_order_accept(order=self.order, by=alice.user)
            if self.order.state == State.TAKEN:
                self.order, _ = booking_services.work_order_log_contact(
                    order=self.order, by=alice.user, channel="phone",
                    outcome=ContactAttempt.Outcome.NO_ANSWER)
                self.running = False
                self.stopped = True

        @rule()
        def park(self) -> None:
            self._reload()
            if self.order.state in (State.DISPATCHED, State.TAKEN, State.ACCEPTED):
                self.order = booking_services.work_order_park(
                    order=self.order, by=agent, reason="customer away",
                    until=self.now.astimezone(SH).date() + dt.timedelta(days=1))
                self.running = False

        @rule()
        def resume(self) -> None:
            self._reload()
            if self.order.state == State.PARKED:
                self.order = booking_services.work_order_resume(order=self.order, by=agent)
                timer = Timer.objects.filter(order=self.order, kind="contact").first()
                self.running = timer is not None and timer.status == TimerStatus.ARMED

        @rule(minutes=st.integers(min_value=1, max_value=90))
        def advance(self, minutes: int) -> None:
            self._move(minutes * 60)

        @rule()
        def sweep(self) -> None:
            engine.sweep_all()
            timer = Timer.objects.filter(order=self.order, kind="contact").first()
            if timer is not None and self.used >= self.target:
                # Whatever is overdue by now has been recorded, with the true due time.
                assert timer.breached_at is not None
                assert timer.breached_at == TimerEvent.objects.get(timer=timer,
                                                                   kind="breached").at
            if timer is not None:
                assert replay(timer, now=self.now) is None

        @rule()
        def crash_mid_sweep(self) -> None:
            """A sweep that dies before commit (worker killed) leaves no trace; the next
            one does the work."""

            def boom(*args, **kwargs):
                raise RuntimeError("worker killed")

            original = engine.update_rows
            engine.update_rows = boom  # type: ignore[assignment]
            try:
                engine.sweep()
            except RuntimeError:
                pass
            finally:
                engine.update_rows = original  # type: ignore[assignment]

        @invariant()
        def breach_iff_over_target_and_at_most_once(self) -> None:
            if not hasattr(self, "order"):
                return
            timer = Timer.objects.filter(order=self.order, kind="contact").first()
            if timer is None:
                assert self.used == 0
                return
            breaches = TimerEvent.objects.filter(timer=timer, kind="breached").count()
            assert breaches <= 1
            if breaches:
                assert self.used >= self.target, self.used
            elif timer.status == TimerStatus.ARMED:
                pass  # overdue but not swept yet is allowed: the `sweep` rule checks it
            else:
                # Stopped or paused timers are never swept again: a breach that happened
                # before the stop must already be recorded (the sweep may have been down).
                assert self.used < self.target, (self.used, timer.status)
            if breaches:
                assert timer.breached_at == TimerEvent.objects.get(timer=timer,
                                                                   kind="breached").at
            if timer.status != TimerStatus.ARMED:
                assert replay(timer, now=self.now) is None  # the log tells the same story

    ContactTimer.TestCase.settings = settings(
        max_examples=100, stateful_step_count=15, deadline=None,
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
    # Each example needs a fresh order; the database is shared within this test, which
    # is fine because every example creates its own order.
    ContactTimer.TestCase().runTest()
