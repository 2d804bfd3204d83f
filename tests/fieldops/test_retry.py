"""``retry_on_deadlock`` on a real PostgreSQL deadlock (SQLSTATE 40P01): two connections
lock two rows in opposite orders; the victim's whole transaction runs again and succeeds."""

from __future__ import annotations

import threading
import time

import pytest
from django.db import OperationalError, connection, connections, transaction

from fieldops.retry import TransactionDeadlocked, is_deadlock, retry_on_deadlock
from technicians.models import Area, AreaType
from tests.conftest import deadlock_error


def _lock(area_id: int) -> None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT id FROM technicians_area WHERE id = %s FOR UPDATE", [area_id])


def _until_waiting(pids: list[int]) -> None:
    """Until the other connection waits for our row. PostgreSQL checks for a deadlock once,
    ``deadlock_timeout`` after a backend starts waiting: the victim must close the cycle,
    or on a busy machine its one check comes too early and the other side is the one
    aborted, 10 s later."""
    with connection.cursor() as cursor:
        for _ in range(400):
            cursor.execute("SELECT wait_event_type = 'Lock' FROM pg_stat_activity "
                           "WHERE pid = %s", pids)
            row = cursor.fetchone()
            if row and row[0]:
                return
            time.sleep(0.05)
    raise AssertionError("the other connection never waited for the lock")


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_real_deadlock_is_retried_once_and_succeeds():
    a = Area.objects.create(code="A-1", name="A", area_type=AreaType.URBAN)
    b = Area.objects.create(code="B-1", name="B", area_type=AreaType.URBAN)
    both_hold_one = threading.Barrier(2, timeout=20)
    other_pid: list[int] = []
    attempts: list[int] = []
    outcome: dict[str, object] = {}

    def victim() -> None:
        # This side detects the deadlock first (short deadlock_timeout): it is the victim.
        def work() -> str:
            attempts.append(len(attempts) + 1)
            with connection.cursor() as cursor:
                cursor.execute("SET LOCAL deadlock_timeout = '50ms'")
            _lock(a.pk)
            if len(attempts) == 1:
                both_hold_one.wait()
                _until_waiting(other_pid)
            _lock(b.pk)
            Area.objects.filter(pk=a.pk).update(name="A by the victim")
            return "done"

        try:
            outcome["victim"] = retry_on_deadlock(work)
        except Exception as exc:  # reported below
            outcome["victim"] = exc
        finally:
            connections.close_all()

    def other() -> None:
        try:
            with transaction.atomic():
                with connection.cursor() as cursor:
                    cursor.execute("SET LOCAL deadlock_timeout = '10s'")
                    cursor.execute("SELECT pg_backend_pid()")
                    other_pid.append(cursor.fetchone()[0])
                _lock(b.pk)
                both_hold_one.wait()
                _lock(a.pk)
                Area.objects.filter(pk=b.pk).update(name="B by the other")
            outcome["other"] = "done"
        except Exception as exc:
            outcome["other"] = exc
        finally:
            connections.close_all()

    threads = [threading.Thread(target=victim), threading.Thread(target=other)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert outcome == {"victim": "done", "other": "done"}
    assert attempts == [1, 2]  # one retry
    assert set(Area.objects.values_list("name", flat=True)) == {"A by the victim",
                                                                "B by the other"}


@pytest.mark.django_db
def test_a_second_deadlock_is_a_clean_refusal_and_other_errors_pass():
    calls = []

    def always() -> None:
        calls.append(1)
        raise deadlock_error()

    with pytest.raises(TransactionDeadlocked) as refused:
        retry_on_deadlock(always)
    assert len(calls) == 2 and refused.value.status == 409 and refused.value.message
    assert is_deadlock(refused.value.__cause__)

    def other() -> None:
        raise OperationalError("connection lost")

    with pytest.raises(OperationalError):
        retry_on_deadlock(other)
    with pytest.raises(ValueError):
        retry_on_deadlock(lambda: (_ for _ in ()).throw(ValueError("no")))
