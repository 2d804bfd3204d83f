"""Exactly once under concurrency (R53): two transactions on two real connections record
the same breach at once; the unique key (kind, source) with ON CONFLICT DO NOTHING leaves
one entry and one note."""

from __future__ import annotations

import datetime as dt
import threading

import pytest
from django.db import connections, transaction

from assessment.models import Entry
from assessment.services import NewEntry, record_entries
from notifications.models import Notification
from tests.concurrency import backend_pid, waiting_on_a_lock

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]






def test_two_concurrent_transactions_record_one_entry(alice):
    # R53: the second insert waits on the first's uncommitted key, then does nothing
    item = NewEntry(kind="breach_contact", technician_id=alice.pk, source_type="timer",
                    source_id="4242", occurred_at=dt.datetime(2026, 11, 3, 2, 0, tzinfo=dt.UTC),
                    reason="并发")
    first_wrote = threading.Event()
    second_over = threading.Event()
    second_pid: list[int] = []
    errors: list[BaseException] = []
    saw_blocked: list[bool] = []

    def first() -> None:
        try:
            with transaction.atomic():
                record_entries([item])
                first_wrote.set()
                for _ in range(400):  # until the second is blocked on our key (bounded)
                    if second_pid and waiting_on_a_lock(second_pid[0]):
                        saw_blocked.append(True)
                        break
                    if second_over.wait(0.025):
                        break
        except BaseException as exc:
            errors.append(exc)
        finally:
            connections.close_all()

    def second() -> None:
        try:
            first_wrote.wait(10)
            second_pid.append(backend_pid())
            with transaction.atomic():
                record_entries([item])
        except BaseException as exc:
            errors.append(exc)
        finally:
            second_over.set()
            connections.close_all()

    threads = [threading.Thread(target=first), threading.Thread(target=second)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert errors == []
    assert saw_blocked == [True]  # the two really overlapped
    assert Entry.objects.filter(source_id="4242").count() == 1
    assert Notification.objects.filter(kind="assessment_entry").count() == 1
