"""The real stack: a Celery worker and beat as separate processes, on Redis and PostgreSQL.

Unit tests run tasks eagerly (tests/conftest.py); this one proves the wiring instead:
beat schedules, the broker carries, the worker runs the task against the same database,
and a service's ``on_commit`` hook reaches the worker.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import IO, Any, NamedTuple
from urllib.parse import quote, urlsplit

import pytest
from django.conf import settings

from fieldops.celery import app as celery_app
from fieldops.models import Heartbeat
from tests.conftest import reset_broker_connections
from workorders import services
from workorders.models import CompletionReport, State, WorkOrder

pytestmark = [
    pytest.mark.integration,
    pytest.mark.postgres,
    pytest.mark.redis,
    pytest.mark.django_db(transaction=True),
]

ROOT = Path(__file__).resolve().parents[2]
#: A Redis database of its own, flushed before each run, so nothing else's queues interfere.
BROKER_DB = 13
#: How long to wait for the real processes to do something (start-up included).
WAIT_SECONDS = 30.0


def _test_database_url() -> str:
    """The database pytest-django created (NAME is the test database by now)."""
    db = settings.DATABASES["default"]
    credentials = quote(db.get("USER") or "", safe="")
    if db.get("PASSWORD"):
        credentials += ":" + quote(db["PASSWORD"], safe="")
    host = db.get("HOST") or "127.0.0.1"
    port = db.get("PORT") or 5432
    return f"postgres://{credentials}@{host}:{port}/{quote(db['NAME'], safe='')}"


def _broker_url() -> str:
    redis = urlsplit(os.environ["REDIS_URL"])
    return f"{redis.scheme}://{redis.netloc}/{BROKER_DB}"


class Proc(NamedTuple):
    name: str
    popen: subprocess.Popen[bytes]
    log: IO[bytes]


def wait_for(what: str, condition: Callable[[], bool], processes: list[Proc]) -> None:
    """Poll until ``condition()`` holds; waiting for real processes, not a timed assertion."""
    deadline = time.monotonic() + WAIT_SECONDS
    while time.monotonic() < deadline:
        if condition():
            return
        for proc in processes:
            if proc.popen.poll() is not None:
                pytest.fail(f"celery {proc.name} exited with code {proc.popen.returncode} "
                            f"while waiting for {what}")
        time.sleep(0.2)
    pytest.fail(f"no {what} after {WAIT_SECONDS:.0f} s")


@pytest.fixture
def broker_url() -> Iterator[str]:
    import redis

    url = _broker_url()
    client = redis.Redis.from_url(url)
    client.flushdb()
    client.close()
    # This process publishes too (start_survey.delay on commit): same broker, no eager mode.
    saved = {key: celery_app.conf[key] for key in
             ("broker_url", "broker_transport_options", "task_always_eager")}
    celery_app.conf.update(broker_url=url, broker_transport_options={},
                           task_always_eager=False)
    reset_broker_connections()
    yield url
    celery_app.conf.update(saved)
    reset_broker_connections()


@pytest.fixture
def celery_stack(broker_url: str) -> Iterator[list[Proc]]:
    """A worker and a beat, started as the deployment starts them; always stopped."""
    with stack(broker_url) as processes:
        yield processes


@contextlib.contextmanager
def stack(broker_url: str, *, workers: int = 1, beats: int = 1) -> Iterator[list[Proc]]:
    """``workers`` Celery workers and ``beats`` beats on the test database, as the
    deployment starts them (several of each: docs/scaling.md); always stopped."""
    env = dict(os.environ)
    env.update({
        "DJANGO_SETTINGS_MODULE": "fieldops.test_settings",
        "DATABASE_URL": _test_database_url(),
        "CELERY_BROKER_URL": broker_url,
        "HEARTBEAT_SECONDS": "1",
        "PYTHONUNBUFFERED": "1",
        "CONN_MAX_AGE": "0",  # let go of the test database between tasks
    })
    workdir = Path(tempfile.mkdtemp(prefix="fieldops-celery-"))
    commands = {}
    for n in range(workers):
        commands[f"worker{n or ''}"] = [
            "worker", "-l", "info", "--concurrency", "1", "--without-mingle",
            "--without-gossip", "-n", f"integration-{os.getpid()}-{n}@%h"]
    for n in range(beats):
        commands[f"beat{n or ''}"] = [
            "beat", "-l", "info", "--schedule", str(workdir / f"celerybeat-schedule{n}"),
            "--pidfile", str(workdir / f"beat{n}.pid")]
    processes: list[Proc] = []
    try:
        for name, args in commands.items():
            log = (workdir / f"{name}.log").open("w+b")
            popen = subprocess.Popen([sys.executable, "-m", "celery", "-A", "fieldops", *args],
                                     cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
                                     start_new_session=True)
            processes.append(Proc(name, popen, log))
        yield processes
    finally:
        for proc in processes:
            if proc.popen.poll() is None:
                proc.popen.terminate()  # warm shutdown
        for proc in processes:
            try:
                proc.popen.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(proc.popen.pid, signal.SIGKILL)  # the pool children too
                proc.popen.wait()
        # pytest shows a test's captured output only when it fails: the logs are there then.
        for proc in processes:
            proc.log.seek(0)
            output = proc.log.read().decode(errors="replace")
            proc.log.close()
            print(f"\n----- celery {proc.name} (exit {proc.popen.returncode}) -----\n{output}")
        shutil.rmtree(workdir, ignore_errors=True)


def test_beat_and_worker_run_the_heartbeat_and_the_survey_task(
        celery_stack: list[Proc], make_order: Callable[..., WorkOrder], alice: Any) -> None:
    # (a) beat -> Redis -> worker -> the test database.
    wait_for("heartbeat row from the worker",
             lambda: Heartbeat.objects.filter(name="celery").exists(), celery_stack)

    # (b) R29: completing the order queues start_survey on commit; the worker runs it.
    order = make_order("signed_off", technician=alice)
    order = services.work_order_complete(
        order=order, by=alice.user, report=CompletionReport.objects.get(order=order).as_dict())
    assert order.state == State.COMPLETED  # nothing ran in-process

    wait_for("survey_pending state set by the worker",
             lambda: WorkOrder.objects.get(pk=order.pk).state == State.SURVEY_PENDING,
             celery_stack)
