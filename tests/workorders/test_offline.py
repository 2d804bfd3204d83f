"""Steps done offline on the phone and sent later (issue 16, items 3 and 4): the time they
were done, once, only on the state they were made for, only on the technician's own order
(R41), with refusals kept for the dispatcher (``workorders.offline.replay``)."""

from __future__ import annotations

import datetime as dt
import logging
import uuid
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.utils import translation

from api.serializers import EventSerializer
from appointments import services as booking_services
from appointments.models import Appointment, AppointmentStatus, Precision
from fieldops import clock
from tests.concurrency import race
from workorders import offline, services
from workorders.events import OrderAction
from workorders.models import (
    ContactAttempt,
    PhoneStep,
    PhoneStepStatus,
    PhoneTimeFlag,
    State,
    WorkOrder,
    WorkOrderEvent,
)
from workorders.offline import QueuedStep

TZ = ZoneInfo("Asia/Shanghai")


def local(hour: int, minute: int = 0, day: int = 8) -> dt.datetime:
    return dt.datetime(2026, 12, day, hour, minute, tzinfo=TZ)


@pytest.fixture
def morning():
    """08:00 on a Tuesday; the test moves the clock with ``morning.move_to``."""
    with time_machine.travel(local(8), tick=False) as traveller:
        yield traveller


def queued(order: WorkOrder, step: str, *, done: dt.datetime, sent: dt.datetime,
           version: int | None = None, after: uuid.UUID | None = None,
           client_id: uuid.UUID | None = None) -> QueuedStep:
    return QueuedStep(client_id=client_id or uuid.uuid4(), order_id=order.pk, step=step,
                      phone_at=done, phone_sent_at=sent,
                      version=order.version if version is None and after is None else version,
                      after=after)


def check_in(user):
    return lambda order: services.work_order_check_in(order=order, by=user,
                                                      latitude=39.9, longitude=116.4)


def depart(user):
    return lambda order: services.work_order_depart(order=order, by=user)


def contact(user):
    return lambda order: booking_services.work_order_log_contact(
        order=order, by=user, channel=ContactAttempt.Channel.PHONE,
        outcome=ContactAttempt.Outcome.REACHED, note="约好 10 点")


def events(order: WorkOrder, action: str) -> list[WorkOrderEvent]:
    return list(WorkOrderEvent.objects.filter(order=order, action=action))


# --- The time of the step ------------------------------------------------------------------

def test_a_phone_30_minutes_fast_has_its_check_in_recorded_when_it_was_done(
        morning, make_order, alice):
    # Issue 16 item 3, R17, R14, R42: checked in at 10:02 offline (the phone said 10:32),
    # sent at 10:40 (the phone said 11:10): recorded at 10:02, on time for 10:00.
    order = make_order(State.EN_ROUTE, technician=alice)
    booked = Appointment.objects.get(order=order, status=AppointmentStatus.BOOKED)
    assert booked.start == local(10)
    morning.move_to(local(10, 40))
    fast = dt.timedelta(minutes=30)
    result = offline.replay(queued(order, "check-in", done=local(10, 2) + fast,
                                   sent=local(10, 40) + fast),
                            by=alice.user, run=check_in(alice.user))

    assert result.status == "applied", result
    assert result.at == local(10, 2) and result.flag == "" and result.code == ""
    assert result.received_at == local(10, 40)
    assert result.version == order.version + 1
    [event] = events(order, OrderAction.CHECK_IN)
    assert event.at == local(10, 2) and event.received_at == local(10, 40)
    assert event.payload == {"latitude": 39.9, "longitude": 116.4}  # as online
    with translation.override("en"):
        assert event.shown_at == "2026-12-08 10:02 (sent 10:40)"
    kept = Appointment.objects.get(pk=booked.pk)
    assert kept.status == AppointmentStatus.KEPT
    assert kept.arrived_at == local(10, 2) and not kept.late
    record = PhoneStep.objects.get()
    assert (record.status, record.recorded_at, record.flag) == (
        PhoneStepStatus.APPLIED, local(10, 2), "")
    assert record.phone_at == local(10, 32) and record.phone_sent_at == local(11, 10)
    assert record.event == event and record.version == result.version
    assert record.user == alice.user and record.step == "check-in"
    # The API's timeline shows both times.
    shown = EventSerializer(event).data
    assert shown["at"].startswith("2026-12-08T10:02") and shown["received_at"]


def test_events_recorded_as_they_happen_keep_no_arrival_time(morning, make_order, alice):
    order = make_order(State.EN_ROUTE, technician=alice)
    services.work_order_check_in(order=order, by=alice.user)
    [event] = events(order, OrderAction.CHECK_IN)
    assert event.received_at is None and event.shown_at == "2026-12-08 08:00"
    assert EventSerializer(event).data["received_at"] is None


def test_a_phone_time_before_the_orders_previous_event_gets_the_arrival_time(
        morning, make_order, alice):
    order = make_order(State.PREPARED, technician=alice)
    morning.move_to(local(9, 30))
    order = services.work_order_depart(order=order, by=alice.user)  # online, at 09:30
    morning.move_to(local(10, 40))
    result = offline.replay(queued(order, "check-in", done=local(9, 10), sent=local(10, 40)),
                            by=alice.user, run=check_in(alice.user))

    assert result.status == "applied"
    assert result.at == local(10, 40)
    assert result.flag == str(PhoneTimeFlag.BEFORE_PREVIOUS.label)
    [event] = events(order, OrderAction.CHECK_IN)
    assert event.at == local(10, 40) and event.received_at is None
    assert PhoneStep.objects.get().flag == PhoneTimeFlag.BEFORE_PREVIOUS


def test_a_phone_time_three_days_old_gets_the_arrival_time(morning, make_order, alice,
                                                           settings):
    settings.FIELD_OFFLINE_MAX_AGE = 24
    morning.move_to(local(8, day=5))
    order = make_order(State.PREPARED, technician=alice)
    other = make_order(State.PREPARED, technician=alice)
    morning.move_to(local(10, 40))
    result = offline.replay(queued(order, "depart", done=local(10, 0, day=5),
                                   sent=local(10, 40)),
                            by=alice.user, run=depart(alice.user))

    assert result.status == "applied" and result.at == local(10, 40)
    assert result.flag == str(PhoneTimeFlag.TOO_OLD.label)
    assert events(order, OrderAction.DEPART)[0].at == local(10, 40)
    # A policy of four days keeps the phone's time.
    settings.FIELD_OFFLINE_MAX_AGE = 96
    kept = offline.replay(queued(other, "depart", done=local(10, 0, day=5),
                                 sent=local(10, 40)), by=alice.user, run=depart(alice.user))
    assert kept.at == local(10, 0, day=5) and kept.flag == ""
    [event] = events(other, OrderAction.DEPART)
    with translation.override("en"):
        assert event.shown_at == "2026-12-05 10:00 (sent 2026-12-08 10:40)"


def test_a_phone_time_far_in_the_future_gets_the_arrival_time(morning, make_order, alice):
    order = make_order(State.PREPARED, technician=alice)
    morning.move_to(local(10, 40))
    with translation.override("en"):
        result = offline.replay(queued(order, "depart", done=local(15), sent=local(10, 40)),
                                by=alice.user, run=depart(alice.user))

    assert result.status == "applied" and result.at == local(10, 40)
    assert result.flag == "Phone time after the arrival"
    assert PhoneStep.objects.get().flag == PhoneTimeFlag.FUTURE
    with translation.override("zh-hans"):  # the flag in the technician's language
        again = offline.replay(queued(order, "depart", done=local(15), sent=local(10, 40),
                                      client_id=PhoneStep.objects.get().client_id),
                               by=alice.user, run=depart(alice.user))
    assert again.status == "duplicate" and again.flag == "手机时间晚于到达时间"


def test_a_phone_a_few_seconds_ahead_of_the_server_gets_the_arrival_time_unflagged(
        morning, make_order, alice):
    order = make_order(State.PREPARED, technician=alice)
    morning.move_to(local(10, 40))
    result = offline.replay(
        queued(order, "depart", done=local(10, 40) + dt.timedelta(seconds=30),
               sent=local(10, 40)), by=alice.user, run=depart(alice.user))
    assert result.at == local(10, 40) and result.flag == ""
    [event] = events(order, OrderAction.DEPART)
    assert event.received_at is None  # within a second of its time: nothing to show


def test_inside_happened_now_is_the_phones_time_and_received_the_servers(morning):
    with clock.happened(local(7, 15)):
        assert clock.now() == local(7, 15)
        assert clock.received() == local(8)
        assert clock.today_local() == dt.date(2026, 12, 8)
        with clock.happened(local(7, 20)):
            assert clock.now() == local(7, 20)
        assert clock.now() == local(7, 15)
    assert clock.now() == local(8) and not clock.replaying()
    with pytest.raises(ValueError):
        clock.happened(dt.datetime(2026, 12, 8, 7)).__enter__()  # noqa: DTZ001 (the point)


# --- Once ------------------------------------------------------------------------------------

def test_the_same_step_sent_twice_has_one_effect(morning, make_order, alice):
    order = make_order(State.EN_ROUTE, technician=alice)
    morning.move_to(local(10, 40))
    step = queued(order, "check-in", done=local(10, 2), sent=local(10, 40))
    calls: list[int] = []

    def run(o):
        calls.append(o.pk)
        return check_in(alice.user)(o)

    first = offline.replay(step, by=alice.user, run=run)
    morning.move_to(local(10, 45))
    again = offline.replay(step, by=alice.user, run=run)

    assert first.status == "applied" and again.status == "duplicate"
    assert (again.at, again.version, again.received_at) == (first.at, first.version,
                                                            first.received_at)
    assert calls == [order.pk]
    assert len(events(order, OrderAction.CHECK_IN)) == 1
    assert PhoneStep.objects.count() == 1


def test_a_refused_step_sent_again_is_refused_again_with_the_same_reason(
        morning, make_order, alice, agent):
    order = make_order(State.SCHEDULED, technician=alice)
    step = queued(order, "kit", done=local(8, 30), sent=local(9))
    services.work_order_cancel(order=order, by=agent, reason="客户取消")
    morning.move_to(local(9))
    first = offline.replay(step, by=alice.user, run=depart(alice.user))
    again = offline.replay(step, by=alice.user, run=depart(alice.user))
    assert first.status == again.status == "refused"
    assert (again.code, again.message) == (first.code, first.message)
    assert PhoneStep.objects.count() == 1


def test_a_client_id_used_for_another_step_is_refused_and_not_recorded(
        morning, make_order, alice):
    order = make_order(State.EN_ROUTE, technician=alice)
    other = make_order(State.EN_ROUTE, technician=alice)
    step = queued(order, "check-in", done=local(8), sent=local(8))
    offline.replay(step, by=alice.user, run=check_in(alice.user))

    for reused in (queued(order, "photo", done=local(8), sent=local(8),
                          client_id=step.client_id),
                   queued(other, "check-in", done=local(8), sent=local(8),
                          client_id=step.client_id)):
        result = offline.replay(reused, by=alice.user, run=check_in(alice.user))
        assert (result.status, result.code) == ("refused", "invalid")
    assert PhoneStep.objects.count() == 1
    assert WorkOrder.objects.get(pk=other.pk).state == State.EN_ROUTE


def test_a_step_without_a_time_zone_or_a_version_is_refused_as_invalid(make_order, alice):
    order = make_order(State.EN_ROUTE, technician=alice)
    naive = dt.datetime(2026, 12, 8, 10)  # noqa: DTZ001 (what a broken phone sends)
    for step in (queued(order, "check-in", done=naive, sent=clock.now()),
                 QueuedStep(client_id=uuid.uuid4(), order_id=order.pk, step="check-in",
                            phone_at=clock.now(), phone_sent_at=clock.now(), version=None,
                            after=None),
                 queued(order, "", done=clock.now(), sent=clock.now())):
        result = offline.replay(step, by=alice.user, run=check_in(alice.user))
        assert (result.status, result.code) == ("refused", "invalid")
        assert result.message
    missing = QueuedStep(client_id=uuid.uuid4(), order_id=order.pk + 1000, step="check-in",
                         phone_at=clock.now(), phone_sent_at=clock.now(), version=1, after=None)
    assert offline.replay(missing, by=alice.user, run=check_in(alice.user)).code == "invalid"
    assert not PhoneStep.objects.exists()
    assert WorkOrder.objects.get(pk=order.pk).state == State.EN_ROUTE


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_the_same_step_sent_twice_at_once_is_applied_once(make_order, alice):
    order = make_order(State.EN_ROUTE, technician=alice)
    step = queued(order, "check-in", done=clock.now(), sent=clock.now())
    results = race([lambda: offline.replay(step, by=alice.user, run=check_in(alice.user))
                    for _ in range(2)])

    assert sorted(r.status for r in results) == ["applied", "duplicate"], results
    assert len(events(order, OrderAction.CHECK_IN)) == 1
    assert PhoneStep.objects.count() == 1
    assert WorkOrder.objects.get(pk=order.pk).state == State.ON_SITE


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_one_client_id_sent_for_two_orders_at_once_applies_one(make_order, alice):
    order = make_order(State.EN_ROUTE, technician=alice)
    other = make_order(State.EN_ROUTE, technician=alice)
    client_id = uuid.uuid4()
    steps = [queued(o, "check-in", done=clock.now(), sent=clock.now(), client_id=client_id)
             for o in (order, other)]
    results = race([lambda s=s: offline.replay(s, by=alice.user, run=check_in(alice.user))
                    for s in steps])

    assert sorted(r.status for r in results) == ["applied", "refused"], results
    assert [r.code for r in results if r.status == "refused"] == ["invalid"]
    assert PhoneStep.objects.count() == 1
    states = sorted(WorkOrder.objects.filter(pk__in=[order.pk, other.pk])
                    .values_list("state", flat=True))
    assert states == sorted([State.ON_SITE, State.EN_ROUTE])


# --- Conflicts -----------------------------------------------------------------------------

def test_a_step_on_an_order_given_to_another_technician_is_refused_with_what_to_do(
        morning, make_order, alice, dispatcher, east):
    from tests.conftest import make_technician

    carol = make_technician("carol", areas=[east])
    order = make_order(State.TAKEN, technician=alice)
    seen = order.version
    morning.move_to(local(9))
    services.work_order_reassign(order=order, by=dispatcher, technician=carol,
                                 reason="alice is ill")
    morning.move_to(local(10))
    with translation.override("en"):
        result = offline.replay(queued(order, "contact", done=local(8, 30), sent=local(10),
                                       version=seen),
                                by=alice.user, run=contact(alice.user))

    assert (result.status, result.code) == ("refused", "conflict")
    assert "another technician" in result.message and "09:00" in result.message
    assert "dispatcher" in result.message
    assert result.at is None
    assert not ContactAttempt.objects.filter(order=order).exists()
    record = PhoneStep.objects.get()
    assert record.status == PhoneStepStatus.REFUSED and record.message == result.message
    assert record.event is None and record.recorded_at is None


def test_a_step_on_a_cancelled_order_is_refused(morning, make_order, alice, agent):
    order = make_order(State.PREPARED, technician=alice)
    seen = order.version
    morning.move_to(local(9))
    services.work_order_cancel(order=order, by=agent, reason="客户不需要了 no longer needed")
    morning.move_to(local(10))
    with translation.override("en"):
        result = offline.replay(queued(order, "depart", done=local(8, 50), sent=local(10),
                                       version=seen), by=alice.user, run=depart(alice.user))
    assert (result.status, result.code) == ("refused", "conflict")
    assert "cancelled at 09:00" in result.message and "no longer needed" in result.message
    assert WorkOrder.objects.get(pk=order.pk).state == State.CANCELLED
    assert not events(order, OrderAction.DEPART)


def test_a_step_on_a_rebooked_visit_is_refused_with_the_new_time(
        morning, make_order, alice, admin_user):
    order = make_order(State.PREPARED, technician=alice)
    seen = order.version
    morning.move_to(local(8, 30))
    # Moved at the desk (the technician's own phone was offline).
    booking_services.work_order_schedule(order=order, by=admin_user, start=local(15),
                                         end=local(16), precision=Precision.EXACT,
                                         reason="客户改约 customer asked", customer_asked=True)
    morning.move_to(local(10))
    with translation.override("en"):
        result = offline.replay(queued(order, "depart", done=local(9, 40), sent=local(10),
                                       version=seen), by=alice.user, run=depart(alice.user))
    assert (result.status, result.code) == ("refused", "conflict")
    assert "moved to 15:00" in result.message and "08:30" in result.message
    assert "new time" in result.message
    assert not events(order, OrderAction.DEPART)


def test_a_step_on_an_order_changed_otherwise_says_who_changed_what_when(
        morning, make_order, alice, agent):
    order = make_order(State.CONTACTED, technician=alice)
    seen = order.version
    morning.move_to(local(8, 20))
    booking_services.work_order_park(order=order, by=agent, until=dt.date(2026, 12, 12),
                                     reason="装修中 renovating")
    morning.move_to(local(10))
    with translation.override("en"):
        result = offline.replay(queued(order, "kit", done=local(9), sent=local(10),
                                       version=seen), by=alice.user, run=depart(alice.user))
    assert (result.status, result.code) == ("refused", "conflict")
    assert "08:20" in result.message
    assert "Park at customer's request" in result.message


def test_a_step_on_another_technicians_order_is_refused_and_logged(
        morning, make_order, alice, bob, caplog):
    # R41
    order = make_order(State.EN_ROUTE, technician=alice)
    with caplog.at_level(logging.WARNING, logger="fieldops.security"):
        result = offline.replay(queued(order, "check-in", done=local(8), sent=local(8)),
                                by=bob.user, run=check_in(bob.user))
    assert (result.status, result.code) == ("refused", "forbidden")
    assert "not yours" in result.message or result.message
    assert WorkOrder.objects.get(pk=order.pk).state == State.EN_ROUTE
    assert any("R41" in r.getMessage() and str(order.pk) in r.getMessage()
               for r in caplog.records)
    record = PhoneStep.objects.get()
    assert record.user == bob.user and record.code == "forbidden"


# --- Chains of steps of one order ----------------------------------------------------------

def test_a_chain_of_steps_applies_each_on_the_version_the_previous_left(
        morning, make_order, alice):
    order = make_order(State.PREPARED, technician=alice)
    morning.move_to(local(10, 40))
    first = queued(order, "depart", done=local(9, 30), sent=local(10, 40))
    second = queued(order, "check-in", done=local(10, 2), sent=local(10, 40), after=first.client_id)
    assert offline.replay(first, by=alice.user, run=depart(alice.user)).status == "applied"
    result = offline.replay(second, by=alice.user, run=check_in(alice.user))

    assert result.status == "applied" and result.at == local(10, 2)
    assert WorkOrder.objects.get(pk=order.pk).state == State.ON_SITE
    assert [e.at for e in events(order, OrderAction.DEPART)] == [local(9, 30)]


def test_a_step_after_one_that_was_refused_or_never_arrived_is_refused(
        morning, make_order, alice, agent):
    order = make_order(State.PREPARED, technician=alice)
    morning.move_to(local(10, 40))
    never = queued(order, "check-in", done=local(10, 2), sent=local(10, 40),
                   after=uuid.uuid4())
    with translation.override("en"):
        result = offline.replay(never, by=alice.user, run=check_in(alice.user))
    assert (result.status, result.code) == ("refused", "conflict")
    assert "earlier step" in result.message

    stale = queued(order, "depart", done=local(9, 30), sent=local(10, 40),
                   version=order.version - 1)
    assert offline.replay(stale, by=alice.user, run=depart(alice.user)).status == "refused"
    after_refused = queued(order, "check-in", done=local(10, 2), sent=local(10, 40),
                           after=stale.client_id)
    assert offline.replay(after_refused, by=alice.user,
                          run=check_in(alice.user)).status == "refused"
    assert WorkOrder.objects.get(pk=order.pk).state == State.PREPARED
    assert PhoneStep.objects.filter(status=PhoneStepStatus.REFUSED).count() == 3


# --- A rule the step breaks ----------------------------------------------------------------

def test_a_rule_the_step_breaks_is_refused_in_plain_words_and_nothing_of_it_is_kept(
        morning, make_order, alice):
    order = make_order(State.SCHEDULED, technician=alice)
    morning.move_to(local(9))
    step = queued(order, "park", done=local(8, 45), sent=local(9))
    with translation.override("en"):
        # Inside the replay the day is the phone's: "until today" breaks R12.
        result = offline.replay(step, by=alice.user, run=lambda o: booking_services
                                .work_order_park(order=o, by=alice.user,
                                                 until=dt.date(2026, 12, 8), reason="外出"))
    assert (result.status, result.code) == ("refused", "rule")
    assert "R12" not in result.message and "day after today" in result.message
    assert PhoneStep.objects.get().status == PhoneStepStatus.REFUSED


def test_a_step_that_fails_half_way_leaves_nothing_but_the_refused_record(
        morning, make_order, alice):
    order = make_order(State.PREPARED, technician=alice)
    stale = WorkOrder.objects.get(pk=order.pk)
    morning.move_to(local(10, 40))

    def half_way(o):
        services.work_order_depart(order=o, by=alice.user)
        services.work_order_depart(order=stale, by=alice.user)  # a stale copy: refused

    result = offline.replay(queued(order, "depart", done=local(10), sent=local(10, 40)),
                            by=alice.user, run=half_way)
    assert (result.status, result.code) == ("refused", "conflict")
    assert WorkOrder.objects.get(pk=order.pk).state == State.PREPARED
    assert not events(order, OrderAction.DEPART)
    record = PhoneStep.objects.get()
    assert record.status == PhoneStepStatus.REFUSED and record.version == order.version


def test_the_phone_step_record_is_append_only(morning, make_order, alice):
    order = make_order(State.EN_ROUTE, technician=alice)
    offline.replay(queued(order, "check-in", done=local(8), sent=local(8)),
                   by=alice.user, run=check_in(alice.user))
    record = PhoneStep.objects.get()
    with pytest.raises(TypeError):
        record.save()
    with pytest.raises(TypeError):
        PhoneStep.objects.update(message="x")
    with pytest.raises(TypeError):
        PhoneStep.objects.all().delete()
    with pytest.raises(TypeError):
        record.settle(message="again")
