"""``manage.py demo_data``: the demo office (default) and the scale mode (--orders N)."""

from __future__ import annotations

import datetime as dt
import random
from collections import Counter
from collections.abc import Iterator
from io import StringIO
from typing import Any

import pytest
from django.contrib.auth import authenticate, get_user_model
from django.core.management import call_command
from django.db import connection, transaction
from django.test import RequestFactory

from appointments.models import AppointmentStatus
from demo import office, reference
from fieldops import bulk, clock, roles
from notifications.models import Channel as NotificationChannel
from notifications.models import Notification
from notifications.models import Status as NotificationStatus
from sla.timers import Timer
from technicians.models import Area, AreaType, Team, Technician
from workorders.diagram import transitions as transitions_of_the_machine
from workorders.events import OrderAction
from workorders.models import (
    TECHNICIAN_LOAD_STATES,
    TERMINAL_STATES,
    AccessType,
    Channel,
    Customer,
    CustomerClass,
    Kind,
    Service,
    State,
    WorkOrder,
    WorkOrderEvent,
)


def run(*args: str, **options: Any) -> str:
    out = StringIO()
    call_command("demo_data", *args, stdout=out, stderr=StringIO(), **options)
    return out.getvalue()


# --- Default mode -----------------------------------------------------------------
# The demo is built once for the class (in a transaction rolled back afterwards);
# each test then runs in its own savepoint inside it.

@pytest.fixture(scope="class")
def demo_run(django_db_setup: Any, django_db_blocker: Any) -> Iterator[tuple[str, int]]:
    with django_db_blocker.unblock(), transaction.atomic():
        queued = len(connection.run_on_commit)
        out = run()
        # Deliveries and tasks queued for after commit; the demo users' roles moving the
        # permission cache's generation (fieldops.permcache) are neither.
        after = [func for _sids, func, *_robust in connection.run_on_commit[queued:]
                 if func.__module__ != "fieldops.permcache"]
        yield out, len(after)
        transaction.set_rollback(True)


@pytest.fixture
def demo_output(demo_run: tuple[str, int], db: Any) -> str:
    return demo_run[0]


class TestTheDefaultRun:
    def test_it_puts_at_least_two_orders_in_every_state(self, demo_output: str) -> None:
        counts = Counter(WorkOrder.objects.values_list("state", flat=True))
        assert {state: counts[state] for state in State.values if counts[state] < 2} == {}

    def test_it_covers_every_kind_service_access_channel_and_class(self, demo_output: str) -> None:
        orders = WorkOrder.objects.all()
        for field, choices in (("kind", Kind), ("service", Service), ("access_type", AccessType),
                               ("channel", Channel), ("customer_class", CustomerClass)):
            assert set(orders.values_list(field, flat=True)) == set(choices.values), field

    def test_it_builds_a_small_realistic_office(self, demo_output: str) -> None:
        assert Area.objects.filter(area_type=AreaType.RURAL).exists()  # R11 needs one
        assert Area.objects.filter(area_type=AreaType.URBAN).count() >= 3
        assert 2 <= Team.objects.count() <= 3
        assert Technician.objects.count() == 8
        assert 50 <= Customer.objects.count() <= 70
        for customer in Customer.objects.all():
            assert len(customer.phone) == 11 and customer.phone.isdigit(), customer.phone
            assert customer.phone[:2] in ("13", "15", "16", "17", "18", "19")
        assert all(o.address.startswith("北京市") for o in WorkOrder.objects.all())
        assert Customer.objects.filter(orders__isnull=True).count() == 0
        # the demo dispatcher runs every area, so their SLA dashboards show the office (R39)
        assert Area.objects.exclude(dispatchers__username="dispatcher").count() == 0

    def test_every_order_has_its_creation_event_and_one_per_state_change(
            self, demo_output: str) -> None:
        # R42: who, when, from, to, for every change; the chain ends in the order's state.
        for order in WorkOrder.objects.all():
            events = list(order.events.order_by("at", "id"))
            assert (events[0].action, events[0].from_state) == ("create", "")
            assert events[0].to_state == State.ACCEPTED
            state = events[0].to_state
            for event in events[1:]:
                assert event.from_state == state, (order, event)
                assert event.at >= events[0].at
                state = event.to_state
            assert state == order.state, order
            # Records that are not transitions (a contact attempt, the draft report) leave
            # the version as it is.
            names = {name for _s, _t, name, _r in transitions_of_the_machine()}
            fired = [e for e in events[1:] if e.action in names]
            assert order.version == 1 + len(fired)

    def test_time_is_simulated(self, demo_output: str) -> None:
        now = clock.now()
        closed = WorkOrder.objects.filter(state=State.CLOSED)
        assert all(o.created_at < now - dt.timedelta(hours=20) for o in closed)
        assert all(o.closed_at and o.closed_at > o.created_at for o in closed)
        assert not WorkOrderEvent.objects.filter(at__gt=now).exists()
        for order in WorkOrder.objects.filter(state=State.SCHEDULED):  # visit still ahead
            visit = order.appointments.get(status=AppointmentStatus.BOOKED)
            assert visit.start > now - dt.timedelta(minutes=5)

    def test_the_demo_logins_work(self, demo_output: str) -> None:
        for username in ("admin", "dispatcher", "agent", "supervisor", "tech1", "tech8"):
            login = RequestFactory().post("/admin/login/")  # as a login page asks (axes)
            assert authenticate(login, username=username,
                                password=reference.DEMO_PASSWORD), username
        user_model = get_user_model()
        assert user_model.objects.get(username="admin").is_superuser
        for username, group in (("dispatcher", roles.DISPATCHER),
                                ("agent", roles.CALL_CENTRE),
                                ("supervisor", roles.SUPERVISOR)):
            user = user_model.objects.get(username=username)
            assert user.is_staff and user.groups.filter(name=group).exists()
        tech = user_model.objects.get(username="tech1")
        assert not tech.is_staff and tech.groups.filter(name=roles.TECHNICIAN).exists()
        assert tech.technician.skills.exists() and tech.technician.areas.exists()

    def test_it_prints_the_logins(self, demo_output: str) -> None:
        for word in ("admin", "dispatcher", "agent", "supervisor", "tech1",
                     reference.DEMO_PASSWORD):
            assert word in demo_output

    def test_nothing_is_sent_to_anyone(self, demo_run: tuple[str, int], db: Any) -> None:
        # Demo customers' numbers are made up and may be real people's.
        assert demo_run[1] == 0  # no delivery or task queued for after commit
        external = Notification.objects.exclude(
            channel__in=(NotificationChannel.IN_APP, NotificationChannel.SMS))
        assert not external.exclude(status=NotificationStatus.FAILED).exists()  # e-mail, webhooks

    def test_its_sms_wait_for_the_local_sms_log(self, demo_output: str) -> None:
        # The embedded default's SMS backend writes var/sms.log, which reaches no phone: the
        # demo's texts stay pending so the outbox flush writes them there (README).
        sms = Notification.objects.filter(channel=NotificationChannel.SMS)
        assert sms.exists()
        assert not sms.exclude(status=NotificationStatus.PENDING).exists()

    def test_only_a_few_promises_are_broken(self, demo_output: str) -> None:
        # Realistic timing: most orders keep the R7/R14 promises; the SLA pages still
        # have a few breaches to show.
        timers = Timer.objects.all()
        breached = timers.filter(breached_at__isnull=False).count()
        assert 0 < breached <= timers.count() * 0.2

    def test_the_callback_queue_and_the_figures_are_filled_at_once(self,
                                                                  demo_output: str) -> None:
        # R30: a survey unanswered for a day is in the call-centre's queue; R39: every
        # order is counted, without waiting for beat.
        from dashboards.models import OrderFact, StaleFact
        from surveys.models import Callback

        assert Callback.objects.filter(order__state=State.SURVEY_PENDING,
                                       status="open").exists()
        assert OrderFact.objects.count() == WorkOrder.objects.count()
        assert not StaleFact.objects.exists()

    def test_orders_have_places_and_technicians_positions(self, demo_output: str) -> None:
        # R4: the dispatch ranking measures real distances in the demo
        from planning.models import OrderLocation, TechnicianPosition
        from technicians.models import Technician

        assert OrderLocation.objects.count() == WorkOrder.objects.count()
        on_duty = Technician.objects.filter(is_active=True)
        assert on_duty.exists()
        assert set(TechnicianPosition.objects.filter(source="en_route")
                   .values_list("technician_id", flat=True)) == set(
            on_duty.values_list("pk", flat=True))

    def test_if_empty_on_a_populated_database_changes_nothing(self, demo_output: str) -> None:
        def counts() -> tuple[int, ...]:
            return (WorkOrder.objects.count(), WorkOrderEvent.objects.count(),
                    Customer.objects.count(), get_user_model().objects.count())

        before = counts()
        out = run("--if-empty")
        assert counts() == before
        assert "nothing created" in out and "tech1" in out  # still prints the logins
        run("--orders", "50", "--if-empty")
        assert counts() == before

    def test_scale_mode_adds_to_the_demo(self, demo_output: str) -> None:
        before = WorkOrder.objects.count()
        run("--orders", "100")
        assert WorkOrder.objects.count() == before + 100


def test_the_same_seed_plans_the_same_orders(db: Any) -> None:
    ref = reference.ensure_reference()

    def plan(seed: int) -> list[tuple[str, ...]]:
        return sorted((o.target, o.kind, o.channel, o.customer["customer_name"],
                       o.customer["address"], str(o.seed))
                      for o in office._demo_plan(random.Random(seed), ref))

    assert plan(7) == plan(7)
    assert plan(7) != plan(8)


# --- Scale mode -------------------------------------------------------------------
# One build of 500 orders for the class (in a transaction rolled back afterwards), read
# by each test in its own savepoint inside it, as the default run above.

@pytest.fixture(scope="class")
def scale_run(django_db_setup: Any, django_db_blocker: Any) -> Iterator[str]:
    with django_db_blocker.unblock(), transaction.atomic():
        yield run("--orders", "500", "--seed", "3")
        transaction.set_rollback(True)


@pytest.fixture
def scale_output(scale_run: str, db: Any) -> str:
    return scale_run


class TestTheScaleRun:
    def test_scale_mode_creates_exactly_n_orders(self, scale_output: str) -> None:
        assert WorkOrder.objects.count() == 500
        assert "500 work orders" in scale_output

    def test_scale_mode_has_every_state_with_most_closed(self, scale_output: str) -> None:
        counts = Counter(WorkOrder.objects.values_list("state", flat=True))
        assert set(counts) == set(State.values)
        assert counts[State.CLOSED] > 250
        assert sum(counts[s] for s in TERMINAL_STATES) > 400

    def test_scale_mode_reuses_customers(self, scale_output: str) -> None:
        customers = Customer.objects.count()
        assert 100 <= customers <= 250  # about one customer per three orders

    def test_scale_mode_fields_are_consistent_with_each_state(self, scale_output: str) -> None:
        now = clock.now()
        for o in WorkOrder.objects.all():
            assert now - dt.timedelta(days=91) <= o.created_at <= now
            assert o.updated_at >= o.created_at
            if o.state == State.ACCEPTED:
                assert o.technician_id is None and o.dispatched_at is None, o
            if o.state in TECHNICIAN_LOAD_STATES:
                assert o.technician_id and o.dispatched_at, o
                assert o.assignments.get(ended_at__isnull=True).technician_id == o.technician_id
            if o.state in (State.CLOSED, State.CANCELLED, State.RESOLVED_REMOTELY):
                assert o.closed_at and o.closed_at >= o.created_at, o
            else:
                assert o.closed_at is None, o
            if o.state in (State.COMPLETED, State.SURVEY_PENDING, State.REWORK):
                assert o.completed_at, o
            if o.state == State.RESOLVED_REMOTELY:
                assert o.kind == Kind.REPAIR and o.completed_at is None and o.technician_id is None
            if o.state == State.CANCELLED:
                assert o.cancel_reason, o
                assert not o.assignments.filter(ended_at__isnull=True).exists()
            if o.state == State.PARKED:
                assert o.parked_until and o.parked_from, o
            if o.state == State.REWORK:
                assert o.rework_round >= 1
            if o.state == State.NOBODY_HOME:
                assert o.customer_missed_bookings == 1
            if o.state == State.ABNORMAL:
                assert o.customer_missed_bookings == 2
            if o.kind == Kind.REPAIR:
                assert o.symptoms
            # at most one booked appointment (the database says so too)
            assert o.appointments.filter(status=AppointmentStatus.BOOKED).count() <= 1

    def test_scale_mode_writes_the_creation_and_the_last_event(self, scale_output: str) -> None:
        events = Counter(WorkOrderEvent.objects.values_list("order_id", flat=True))
        for o in WorkOrder.objects.all():
            rows = list(o.events.order_by("at", "id"))
            assert rows[0].action == "create" and rows[0].from_state == ""
            assert rows[-1].to_state == o.state
            assert events[o.pk] == (1 if o.state == State.ACCEPTED else 2)
            assert rows[-1].at == o.updated_at

    def test_scale_mode_with_if_empty_on_a_populated_database_does_nothing(
            self, scale_output: str) -> None:
        run("--orders", "100", "--if-empty")
        assert WorkOrder.objects.count() == 500


def test_scale_mode_can_write_every_event_of_the_path(db: Any) -> None:
    run("--orders", "200", "--events", "full", "--seed", "5")
    for o in WorkOrder.objects.all():
        rows = list(o.events.order_by("at", "id"))
        state = ""
        for event in rows:
            assert event.from_state == state, (o, event)
            state = event.to_state
        assert state == o.state
        # every transition bumps the version and logs an event; a step may also log an
        # event of its own without a transition (the services' log, copied as written)
        assert len(rows) >= o.version


# --- Scale mode's background writer (PostgreSQL, outside a transaction) -------------

@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_scale_mode_commits_batch_by_batch(reference_data: None) -> None:
    run("--orders", "300", "--batch-size", "100")
    assert WorkOrder.objects.count() == 300
    assert set(WorkOrder.objects.values_list("state", flat=True)) == set(State.values)
    assert WorkOrderEvent.objects.filter(action=OrderAction.CREATE).count() == 300


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_failing_batch_stops_the_run_with_its_error(
        reference_data: None, monkeypatch: pytest.MonkeyPatch) -> None:
    written = bulk.insert_rows

    def fail_on_events(model: Any, names: Any, rows: Any) -> None:
        if model is WorkOrderEvent:
            raise RuntimeError("disk full")
        written(model, names, rows)

    monkeypatch.setattr(bulk, "insert_rows", fail_on_events)
    with pytest.raises(RuntimeError, match="disk full"):
        run("--orders", "300", "--batch-size", "300")
    assert WorkOrder.objects.count() == 0  # the failed batch was rolled back
