"""The task outbox's flush (beat): sends what the broker refused, once; never stuck on a
job it can't send (the outage itself is in test_redis_outage.py)."""

from __future__ import annotations

import datetime as dt
import logging

from fieldops import clock
from fieldops.models import Heartbeat, QueuedTask
from fieldops.tasks import flush_queued_tasks


def test_flush_sends_refused_jobs_and_running_it_twice_sends_nothing_more(db, caplog):
    long_ago = clock.now() - dt.timedelta(minutes=5)
    QueuedTask.objects.create(name="fieldops.tasks.heartbeat", args=[], created_at=long_ago,
                              attempts=1, last_error="Connection refused")
    QueuedTask.objects.create(name="gone.task", args=[1], created_at=long_ago)
    QueuedTask.objects.create(name="fieldops.tasks.heartbeat", args=[], created_at=long_ago)
    with caplog.at_level(logging.ERROR, logger="fieldops.outbox"):
        assert flush_queued_tasks() == 2
    assert Heartbeat.objects.filter(name="celery").exists()  # the jobs ran (in-process here)
    assert list(QueuedTask.objects.values_list("name", flat=True)) == ["gone.task"]
    assert "no task named gone.task" in caplog.text
    assert flush_queued_tasks() == 0


def test_a_job_younger_than_the_grace_is_left_to_the_process_sending_it(db):
    QueuedTask.objects.create(name="fieldops.tasks.heartbeat", args=[], created_at=clock.now())
    assert flush_queued_tasks() == 0
    assert QueuedTask.objects.count() == 1
