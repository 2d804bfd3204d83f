"""``fieldops.bulk``: the set-based writes of the SLA sweep's breach storms (R38: a step and
its notices are written once, whatever re-runs)."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import transaction

from fieldops import clock
from fieldops.bulk import insert_rows, update_fields, update_rows
from notifications.models import Notification
from sla.timers import Timer, TimerEvent

pytestmark = pytest.mark.django_db

NOTE = ["channel", "kind", "body", "address", "subject", "dedupe_key", "status", "attempts",
        "last_error", "created_at", "next_attempt_at"]


def note(key: str, body: str = "超时: order WO00000001") -> tuple:
    now = clock.now()
    return ("in_app", "sla.breached", body, "role:dispatcher", body, key, "sent", 0, "",
            now, now)


def test_insert_rows_skips_rows_whose_key_exists_and_runs_twice_in_one_transaction():
    with transaction.atomic():
        insert_rows(Notification, NOTE, [note("k1"), note("k2")])
        insert_rows(Notification, NOTE, [note("k2", "again"), note("k3")])  # run it twice
    assert sorted(Notification.objects.values_list("dedupe_key", flat=True)) == [
        "k1", "k2", "k3"]
    assert Notification.objects.get(dedupe_key="k2").body == "超时: order WO00000001"


def test_insert_rows_keeps_json_and_exact_times(make_order, alice, dispatcher):
    from workorders import services

    order = services.work_order_dispatch(order=make_order(), by=dispatcher, technician=alice)
    timer = Timer.objects.get(order=order, kind="contact")
    at = dt.datetime(2026, 11, 24, 9, 0, 0, 123456, tzinfo=dt.UTC)
    with transaction.atomic():
        insert_rows(TimerEvent, ["timer_id", "kind", "at", "recorded_at", "level", "reason",
                                 "data"],
                    [(timer.pk, "breached", at, at, 1, "", {"percent": 100, "说明": "超时"})])
        insert_rows(TimerEvent, ["timer_id", "kind", "at", "recorded_at", "level", "reason",
                                 "data"],
                    [(timer.pk, "breached", at, at, 1, "", {})])  # the same step: skipped
    event = TimerEvent.objects.get(timer=timer, level=1)
    assert event.at == at and event.data == {"percent": 100, "说明": "超时"}


def test_update_rows_and_update_fields_write_by_primary_key(make_order, alice, dispatcher):
    from workorders import services

    timers = [Timer.objects.get(order=services.work_order_dispatch(
        order=make_order(), by=dispatcher, technician=alice), kind="contact")
        for _ in range(2)]
    due = dt.datetime(2026, 11, 24, 10, 0, tzinfo=dt.UTC)
    with transaction.atomic():
        update_rows(Timer, ["escalation_level", "next_check_at"],
                    [(timers[0].pk, 2, due), (timers[1].pk, 3, None)])
    timers[0].refresh_from_db()
    timers[1].refresh_from_db()
    assert (timers[0].escalation_level, timers[0].next_check_at) == (2, due)
    assert (timers[1].escalation_level, timers[1].next_check_at) == (3, None)
    timers[1].failures = 4
    with transaction.atomic():
        update_fields(Timer, [timers[1]], ["failures"])
    assert Timer.objects.get(pk=timers[1].pk).failures == 4


@pytest.mark.django_db(transaction=True)
def test_insert_rows_outside_a_transaction_still_skips_existing_keys():
    # The clash path stages rows in a table emptied at commit: it must run in one
    # transaction even when the caller has none.
    insert_rows(Notification, NOTE, [note("a1")])
    insert_rows(Notification, NOTE, [note("a1"), note("a2")])
    assert sorted(Notification.objects.values_list("dedupe_key", flat=True)) == ["a1", "a2"]
