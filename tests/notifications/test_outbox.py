"""The notification outbox: written with the event, delivered after commit, exactly once
per row, retried with backoff, and kept while the broker is down."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine
from django.core import mail
from django.db import transaction

from fieldops.celery import app as celery_app
from notifications import backends, delivery, services
from notifications.models import Channel, Notification, Status
from tests.conftest import reset_broker_connections


class BrokenGateway:
    def send(self, *, to: str, text: str, message_id: str) -> None:
        raise ConnectionError("gateway timeout")


def test_it_is_sent_after_commit_and_only_once(db, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        note = services.notify(channel=Channel.SMS, kind="test", body="您好", address="13800000000")
        assert backends.outbox == []  # nothing leaves before the commit
    assert backends.outbox == [{"to": "13800000000", "text": "您好", "id": f"fieldops-{note.pk}"}]
    note.refresh_from_db()
    assert note.status == Status.SENT and note.attempts == 1
    # a redelivered task does nothing
    assert delivery.deliver(note.pk) == "skipped"
    assert len(backends.outbox) == 1


def test_a_rolled_back_event_leaves_no_notification(db):
    with pytest.raises(RuntimeError), transaction.atomic():
        services.notify(channel=Channel.SMS, kind="test", body="x", address="13800000000")
        raise RuntimeError
    assert not Notification.objects.exists()


def test_the_same_cause_notifies_once(db):
    first = services.notify(channel=Channel.SMS, kind="t", body="x", address="1", dedupe_key="k")
    again = services.notify(channel=Channel.SMS, kind="t", body="x", address="1", dedupe_key="k")
    assert first is not None and again is None
    assert Notification.objects.count() == 1


def test_a_failing_gateway_is_retried_with_backoff_then_given_up(db, settings):
    settings.SMS_BACKEND = "tests.notifications.test_outbox.BrokenGateway"
    start = dt.datetime(2026, 11, 23, 9, 0, tzinfo=dt.UTC)
    with time_machine.travel(start, tick=False) as traveller:
        note = services.notify(channel=Channel.SMS, kind="t", body="x", address="1")
        assert delivery.deliver(note.pk) == "retry"
        note.refresh_from_db()
        assert note.next_attempt_at == start + dt.timedelta(seconds=delivery.BACKOFF[0])
        assert "gateway timeout" in note.last_error
        assert delivery.deliver(note.pk) == "skipped"  # not due yet
        outcome = "retry"
        for _ in range(delivery.MAX_ATTEMPTS - 1):
            traveller.shift(dt.timedelta(hours=2))
            outcome = delivery.deliver(note.pk)
        assert outcome == "failed"
    note.refresh_from_db()
    assert note.status == Status.FAILED and note.attempts == delivery.MAX_ATTEMPTS


def test_email_goes_through_djangos_mail(db, dispatcher):
    dispatcher.email = "dora@example.com"
    dispatcher.save()
    note = services.notify(channel=Channel.EMAIL, kind="t", subject="SLA", body="breach",
                           recipient=dispatcher)
    assert delivery.deliver(note.pk) == "sent"
    assert mail.outbox[0].to == ["dora@example.com"]


def test_in_app_notifications_need_no_delivery(db, dispatcher):
    note = services.notify(channel=Channel.IN_APP, kind="t", body="look", recipient=dispatcher)
    note.refresh_from_db()
    assert note.status == Status.SENT


@pytest.mark.django_db(transaction=True)
def test_while_the_broker_is_down_notifications_wait_and_the_flush_sends_them(caplog):
    conf = celery_app.conf
    saved = (conf.task_always_eager, conf.broker_url, conf.task_publish_retry,
             conf.broker_connection_timeout)
    conf.task_always_eager = False
    conf.broker_url = "redis://127.0.0.1:1/0"  # nothing listens there
    conf.task_publish_retry = False
    conf.broker_connection_timeout = 1
    reset_broker_connections()
    try:
        with transaction.atomic():
            note = services.notify(channel=Channel.SMS, kind="t", body="x", address="1")
    finally:
        (conf.task_always_eager, conf.broker_url, conf.task_publish_retry,
         conf.broker_connection_timeout) = saved
        reset_broker_connections()
    assert "broker unavailable" in caplog.text  # the hand-off to Celery really failed
    note.refresh_from_db()
    assert note.status == Status.PENDING and backends.outbox == []
    assert delivery.flush_due() == 1
    assert len(backends.outbox) == 1
    assert delivery.flush_due() == 0  # run it twice: nothing more goes out
