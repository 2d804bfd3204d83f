"""A breach storm in one statement per batch (PostgreSQL): the set-based sweep records
exactly what the row-by-row sweep records (R38: each step once, at its true time; the
outbox rows and their texts), concurrent sweepers never record a step twice, a batch is a
fixed number of statements whatever its size, and a batch the statement cannot do is done
row by row without losing or doubling anything."""

from __future__ import annotations

import datetime as dt
import logging
from typing import Any

import pytest
import time_machine
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from notifications.models import Notification
from sla import engine
from sla.timers import Timer, TimerEvent
from technicians.models import Team
from workorders import services
from workorders.models import CustomerClass, Kind

from .sweepers import sweep_at_once

pytestmark = pytest.mark.postgres

T0 = dt.datetime(2026, 11, 24, 1, 0, tzinfo=dt.UTC)
SEVEN_MINUTES = dt.timedelta(minutes=7)


class Rollback(Exception):
    pass


def minutes(n: float) -> dt.timedelta:
    return dt.timedelta(minutes=n)


@pytest.fixture
def crew(alice, supervisor, east):
    """alice in a team whose supervisor has an email address (so a breach also writes
    the supervisor's email row) and room for many orders."""
    supervisor.email = "sam@example.cn"
    supervisor.save()
    alice.team = Team.objects.create(name="东城一班", area=east, supervisor=supervisor)
    alice.daily_capacity = 100
    alice.save()
    return alice


def _dispatch_many(make_order, crew, dispatcher, count: int, *, start=T0, step=SEVEN_MINUTES,
                   **intake: Any) -> list[Any]:
    orders = []
    for i in range(count):
        with time_machine.travel(start + step * i, tick=False):
            orders.append(services.work_order_dispatch(
                order=make_order(**intake), by=dispatcher, technician=crew))
    return orders


def _recorded() -> dict[str, Any]:
    """Everything a sweep writes, without ids and write times."""
    timers = sorted(Timer.objects.values_list(
        "order_id", "kind", "cycle", "status", "escalation_level", "warned_at", "breached_at",
        "next_check_at", "due_at", "failures"))
    events = sorted(TimerEvent.objects.filter(level__isnull=False).values_list(
        "timer__order_id", "timer__kind", "kind", "at", "level", "reason", "data"),
        key=repr)
    notes = sorted(Notification.objects.filter(kind__startswith="sla.").values_list(
        "channel", "recipient_id", "address", "kind", "subject", "body", "order_id",
        "dedupe_key", "status", "attempts", "last_error", "read_at"), key=repr)
    sent = {(channel, status, at is None) for channel, status, at in Notification.objects
            .filter(kind__startswith="sla.").values_list("channel", "status", "sent_at")}
    return {"timers": timers, "events": events, "notes": notes, "sent": sent}


def _sweep_and_record(moments: list[dt.datetime], *, rows_only: bool,
                      monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    with monkeypatch.context() as patch:
        if rows_only:
            patch.setattr(engine, "_sweep_set", lambda now, batch: 0)
        try:
            with transaction.atomic():
                for moment in moments:
                    with time_machine.travel(moment, tick=False):
                        engine.sweep_all(batch=7)
                recorded = _recorded()
                raise Rollback
        except Rollback:
            pass
    return recorded


@pytest.mark.django_db
def test_the_statement_records_exactly_what_the_row_path_records(
        make_order, crew, dispatcher, monkeypatch):
    # Standard installs (warn at 80 %, breach at 100 %, escalate at 150 % and 200 %), VIP
    # orders (warned at 50 %) and repairs (a 30-minute contact timer on calendar time, and
    # visit / no-visit timers: the no-visit answer counts business hours, which the row
    # path does in the same batches), dispatched 7 minutes apart: at each sweep they stand
    # at every step of their ladders, some with several steps reached at once.
    _dispatch_many(make_order, crew, dispatcher, 9)
    _dispatch_many(make_order, crew, dispatcher, 4, start=T0 + minutes(3),
                   customer_class=CustomerClass.VIP)
    _dispatch_many(make_order, crew, dispatcher, 4, start=T0 + minutes(5), kind=Kind.REPAIR)
    moments = [T0 + minutes(75), T0 + minutes(110), T0 + minutes(200), T0 + dt.timedelta(days=3)]

    by_statement = _sweep_and_record(moments, rows_only=False, monkeypatch=monkeypatch)
    by_rows = _sweep_and_record(moments, rows_only=True, monkeypatch=monkeypatch)

    assert by_statement == by_rows
    # The comparison has substance: every kind of step and every recipient occurs.
    kinds = {event[2] for event in by_statement["events"]}
    assert kinds == {"warned", "breached", "escalated"}
    assert {note[0] for note in by_statement["notes"]} == {"in_app", "email"}
    assert {note[2] for note in by_statement["notes"]} >= {
        "", "role:dispatcher", "role:supervisor", "sam@example.cn"}
    assert ("email", "pending", True) in by_statement["sent"]
    assert ("in_app", "sent", False) in by_statement["sent"]
    assert len(by_statement["events"]) > 60


@pytest.mark.django_db
def test_a_batch_is_a_few_statements_whatever_its_size(make_order, crew, dispatcher):
    _dispatch_many(make_order, crew, dispatcher, 30, step=dt.timedelta(seconds=10))

    def statements(batch: int) -> list[str]:
        try:
            with transaction.atomic():
                with time_machine.travel(T0 + minutes(70), tick=False), \
                        CaptureQueriesContext(connection) as queries:
                    assert engine.sweep(batch=batch) == batch
                raise Rollback
        except Rollback:
            pass
        return [q["sql"] for q in queries if "SAVEPOINT" not in q["sql"]]

    small, large = statements(3), statements(30)
    # The idle look, the rules, the statement, whether a webhook listens (and the
    # savepoints of the batch and of the statement), and the assessment ledger's entries
    # for the breaches (R53: the timers, the policy, one INSERT … ON CONFLICT, the
    # technicians, their notes): the same for 3 timers as for 30.
    assert len(small) == len(large) == 9
    assert "WITH claimed" in large[2]


@pytest.mark.django_db
def test_the_email_of_a_set_based_batch_is_flushed_after_commit(
        make_order, crew, dispatcher, django_capture_on_commit_callbacks):
    _dispatch_many(make_order, crew, dispatcher, 3)
    with django_capture_on_commit_callbacks() as callbacks, \
            time_machine.travel(T0 + minutes(75), tick=False):
        assert engine.sweep_all() == 3
    assert Notification.objects.filter(channel="email", status="pending").count() == 3
    assert len(callbacks) == 1  # one flush of the outbox for the batch


@pytest.mark.django_db
def test_a_batch_the_statement_cannot_do_is_swept_row_by_row(
        make_order, crew, dispatcher, monkeypatch, caplog):
    orders = _dispatch_many(make_order, crew, dispatcher, 5)
    monkeypatch.setattr(engine, "_sweep_sql", lambda: "SELECT 1 / 0")
    with time_machine.travel(T0 + minutes(90), tick=False):
        assert engine.sweep_all() == 5
    assert "sweeping row by row" in caplog.text
    breaches = TimerEvent.objects.filter(kind="breached")
    assert sorted(breaches.values_list("timer__order_id", flat=True)) == sorted(
        o.pk for o in orders)
    assert Notification.objects.filter(kind="sla.breached").count() == 5 * 3


@pytest.mark.django_db
def test_a_step_recorded_already_is_not_recorded_twice(make_order, crew, dispatcher, caplog):
    # The statement inserts without ON CONFLICT; a breach event that somehow exists
    # already fails it, and the row path records the rest of the batch, skipping it.
    caplog.set_level(logging.INFO, logger="sla.engine")
    orders = _dispatch_many(make_order, crew, dispatcher, 4)
    first = Timer.objects.get(order=orders[0], kind="contact")
    TimerEvent.objects.create(timer=first, kind="breached", at=T0 + minutes(60), level=1,
                              data={"percent": 100})
    Timer.objects.filter(pk=first.pk).update(warned_at=T0 + minutes(48), escalation_level=1)
    # At +75 min: the first three are breached (due at +60, +67, +74), the fourth warned.
    with time_machine.travel(T0 + minutes(75), tick=False):
        assert engine.sweep_all() == 4
    assert "exists; sweeping row by row" in caplog.text
    breaches = TimerEvent.objects.filter(kind="breached")
    assert sorted(breaches.values_list("timer__order_id", flat=True)) == [
        o.pk for o in orders[:3]]
    assert Timer.objects.filter(kind="contact", breached_at__isnull=False).count() == 3
    assert TimerEvent.objects.filter(kind="warned").count() == 3  # the first's was skipped
    assert Notification.objects.filter(kind="sla.breached").count() == 3 * 3


@pytest.mark.django_db(transaction=True)
def test_concurrent_sweepers_record_every_step_once(make_order, crew, dispatcher):
    # R38 under a storm: three sweepers (three workers, or a second beat) at once, small
    # batches; each timer's four ladder steps and their notifications exactly once.
    orders = _dispatch_many(make_order, crew, dispatcher, 45, step=dt.timedelta(seconds=20))
    later = T0 + dt.timedelta(hours=4)  # every contact timer is past every ladder step
    handled = sweep_at_once(3, lambda: engine.sweep_all(batch=4), later)
    with time_machine.travel(later, tick=False):
        handled.append(engine.sweep_all())
    contact = Timer.objects.filter(kind="contact")
    assert sum(handled) == len(orders) == contact.count() == 45
    assert contact.filter(breached_at__isnull=False, escalation_level=4,
                          next_check_at__isnull=True).count() == 45
    steps = TimerEvent.objects.filter(level__isnull=False)
    assert steps.count() == 45 * 4
    assert steps.values("timer", "level").distinct().count() == 45 * 4
    # warned: the technician; breached: both desks and the supervisor's email; each
    # escalation: the supervisor desk and email.
    notes = Notification.objects.filter(kind__startswith="sla.")
    assert notes.count() == 45 * (1 + 3 + 2 + 2)
    assert notes.values("dedupe_key").distinct().count() == notes.count()


@pytest.mark.django_db
def test_a_timer_of_another_kind_than_its_rule_is_recorded_as_the_row_path_does(
        make_order, crew, dispatcher, monkeypatch, caplog):
    # The statement finds a timer's ladder and notice template by its rule and its own
    # kind; a timer whose kind is not its rule's (the rule's kind edited since) is not
    # claimed by it but left to the row path, which names the timer's own kind, so
    # nothing differs (R38) and the statement still does the others.
    caplog.set_level(logging.INFO, logger="sla.engine")
    orders = _dispatch_many(make_order, crew, dispatcher, 3)
    Timer.objects.filter(order=orders[1], kind="contact").update(kind="visit")
    moments = [T0 + minutes(75), T0 + minutes(110)]

    by_statement = _sweep_and_record(moments, rows_only=False, monkeypatch=monkeypatch)
    by_rows = _sweep_and_record(moments, rows_only=True, monkeypatch=monkeypatch)

    assert by_statement == by_rows
    assert "row by row" not in caplog.text
    breached = [t for t in by_statement["timers"] if t[6] is not None]
    assert {(t[0], t[1]) for t in breached} >= {(orders[1].pk, "visit"),
                                                 (orders[0].pk, "contact")}


@pytest.mark.django_db
def test_the_statements_notice_template_reads_as_the_python_text():
    # The labels are filled into the template once per batch; a "%" or a placeholder's
    # look in a label stays text, and the number and due time go where the translation
    # puts them.
    texts = engine._Texts()
    texts.template = "%%: %(timer)s / %(event)s — %(number)s, %(due)s."
    texts.events["breached"] = "100% (%(timer)s)"
    texts.timers["contact"] = "联系 %s"
    template = engine._set_template(texts, "breached", "contact")
    due = dt.datetime(2026, 11, 24, 1, 5, tzinfo=dt.UTC)
    with connection.cursor() as cursor:
        cursor.execute("SELECT format(%s, %s, %s)", [template, "WO00000042",
                                                      engine._local(due)])
        (written,) = cursor.fetchone()
    assert written == texts.text("breached", "contact", 42, due)
