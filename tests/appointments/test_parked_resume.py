"""R12: an order parked until a day goes back to scheduling on that day by itself."""

from __future__ import annotations

import datetime as dt

import time_machine

from appointments import services as booking_services
from appointments.tasks import resume_parked_orders
from fieldops import clock
from notifications.models import Channel, Notification
from sla.timers import Timer, TimerStatus
from workorders.events import OrderAction
from workorders.models import State, WorkOrder, WorkOrderEvent


def _park(order, by, days):
    return booking_services.work_order_park(order=order, by=by, reason="装修中",
                                            until=clock.today_local() + dt.timedelta(days=days))


def test_a_parked_order_resumes_on_its_day_and_both_sides_are_told(make_order, agent, alice):
    # R12: the wait ends by itself; the clock runs again; technician and customer are told
    order = _park(make_order(State.DISPATCHED, technician=alice), agent, days=2)
    paused = Timer.objects.filter(order=order, status=TimerStatus.PAUSED)
    assert paused.exists()
    assert booking_services.parked_orders_resume_due() == 0  # not yet
    with time_machine.travel(clock.now() + dt.timedelta(days=2), tick=False):
        assert resume_parked_orders() == 1
        assert resume_parked_orders() == 0  # run it twice: nothing more happens
    order = WorkOrder.objects.get(pk=order.pk)
    assert order.state == State.DISPATCHED and order.parked_until is None
    event = WorkOrderEvent.objects.filter(order=order).last()
    assert event.action == OrderAction.RESUME and event.actor is None
    assert event.payload["automatic"] is True
    assert not Timer.objects.filter(order=order, status=TimerStatus.PAUSED).exists()
    notes = Notification.objects.filter(order=order, kind="parked_resumed")
    assert notes.filter(channel=Channel.SMS, address=order.contact_phone).count() == 1
    assert notes.filter(channel=Channel.IN_APP, recipient=alice.user).count() == 1


def test_an_order_resumed_by_hand_is_left_alone(make_order, agent, alice):
    # R12: a person resumed it first; the job does not resume it again
    order = _park(make_order(State.DISPATCHED, technician=alice), agent, days=1)
    booking_services.work_order_resume(order=order, by=agent)
    with time_machine.travel(clock.now() + dt.timedelta(days=3), tick=False):
        assert booking_services.parked_orders_resume_due() == 0
    assert WorkOrderEvent.objects.filter(order=order, action=OrderAction.RESUME).count() == 1
