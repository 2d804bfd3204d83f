"""The real stack: a Celery worker and beat as separate processes, on Redis and PostgreSQL.

Unit tests run tasks eagerly (tests/conftest.py); this one proves the wiring instead:
beat schedules, the broker carries, the worker runs the task against the same database,
and a service's ``on_commit`` hook reaches the worker. The periodic jobs of R50-R54
(quality sampling, complaint deadlines, outages, late force-majeure exemptions) run here
through the real beat and worker too, each step once however often beat ticks.
"""

from __future__ import annotations

import contextlib
import datetime as dt
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
import time_machine
from django.conf import settings

from complaints import services as complaint_services
from complaints.models import ComplaintDeadline, ComplaintDeadlineEvent
from fieldops import clock
from fieldops.celery import app as celery_app
from fieldops.models import Heartbeat
from notifications.models import Notification
from outages import services as outage_services
from quality.models import Inspection, InspectionReason, SamplingRun
from sla import force_majeure
from sla.exemptions import ExemptBreach
from sla.timers import Timer, TimerEvent
from tests.conftest import reset_broker_connections
from tests.quality.helpers import complete
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


# --- The periodic jobs of R50-R54 on the real beat and worker ------------------------
#
# The scene is built first, in the past (time_machine moves only this process's clock),
# and the stack is started afterwards: the worker's real clock then finds every step
# overdue on its first ticks, like after a night with the workers down. All the jobs tick
# every second here.

FAST_JOBS = ("HEARTBEAT_SECONDS", "QUALITY_SAMPLE_SECONDS", "COMPLAINT_SWEEP_SECONDS",
             "OUTAGE_SWEEP_SECONDS", "SLA_SWEEP_SECONDS", "SLA_EXEMPTION_SECONDS")


@pytest.fixture
def fast_jobs(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in FAST_JOBS:
        monkeypatch.setenv(name, "1")


def wait_for_ticks(seconds: int, processes: list[Proc]) -> None:
    """Wait until the worker has run a heartbeat sent ``seconds`` after now: every job
    ticks each second and the single worker takes them in turn, so by then each job has
    been sent and run that many more times (a bounded poll on the real processes)."""
    after = dt.datetime.now(dt.UTC) + dt.timedelta(seconds=seconds)
    wait_for(f"heartbeat {seconds} s on",
             lambda: Heartbeat.objects.filter(name="celery", beat_at__gte=after).exists(),
             processes)


def test_beat_draws_the_quality_sample_once_per_day_despite_repeated_ticks(
        fast_jobs: None, broker_url: str, make_order: Callable[..., WorkOrder],
        alice: Any) -> None:
    # R52: quality.tasks.sample_due_days, scheduled by beat every second here.
    yesterday = clock.today_local() - dt.timedelta(days=1)
    at = dt.datetime.combine(yesterday, dt.time(9, 0), tzinfo=clock.now().astimezone().tzinfo)
    done = [complete(make_order, alice, check_in_at=at + dt.timedelta(hours=h))
            for h in range(3)]
    assert not SamplingRun.objects.exists()

    with stack(broker_url) as processes:
        wait_for("yesterday's sampling run",
                 lambda: SamplingRun.objects.filter(day=yesterday,
                                                    finished_at__isnull=False).exists(),
                 processes)
        run = SamplingRun.objects.get(day=yesterday)
        first = list(Inspection.objects.values_list("pk", "order_id", "reason"))
        wait_for_ticks(3, processes)  # beat keeps ticking: the day is not drawn again

    assert (run.completions, run.sampled, run.signalled) == (3, 1, 0)  # one per technician
    assert len(first) == 1 and first[0][1] in {o.pk for o in done}
    assert first[0][2] == InspectionReason.SAMPLE
    assert list(Inspection.objects.values_list("pk", "order_id", "reason")) == first
    assert list(SamplingRun.objects.filter(day=yesterday).values_list("pk", flat=True)) \
        == [run.pk]


def test_beat_sweeps_complaint_deadlines_outages_and_late_exemptions_once_each(
        fast_jobs: None, broker_url: str, make_order: Callable[..., WorkOrder], alice: Any,
        agent: Any, dispatcher: Any, supervisor: Any, east: Any) -> None:
    now = dt.datetime.now(dt.UTC)
    # R51: a complaint recorded 200 minutes ago: its response deadline (120 minutes) is
    # past its warning, its breach and its escalation (at 180 minutes).
    with time_machine.travel(now - dt.timedelta(minutes=200), tick=False):
        complaint = complaint_services.complaint_record(
            by=agent, tier="complaint", order=make_order(State.COMPLETED, technician=alice),
            channel="phone", text="师傅迟到两小时")
    # R54: an outage declared 9 hours ago: its repair promise (8 hours) warned and broke.
    with time_machine.travel(now - dt.timedelta(hours=9), tick=False):
        outage = outage_services.declare(by=dispatcher, area=east,
                                         eta=now - dt.timedelta(hours=2),
                                         explanation="光缆中断.")
    # R50: an order dispatched 70 minutes ago whose contact promise (R7, 60 minutes) broke
    # 10 minutes ago, inside a storm the supervisor approved before the breach was
    # recorded: exempt_late_breaches marks it once the SLA sweep has recorded it.
    start = now - dt.timedelta(minutes=70)
    with time_machine.travel(start, tick=False):
        order = services.work_order_dispatch(order=make_order(), by=dispatcher,
                                             technician=alice)
    with time_machine.travel(start + dt.timedelta(minutes=20), tick=False):
        exemption = force_majeure.declare(by=alice.user, kind="weather", reason="暴雨",
                                          order=order, starts_at=start,
                                          ends_at=start + dt.timedelta(hours=3))
        force_majeure.decide(exemption, by=supervisor, approve=True, reason="属实")
    timer = Timer.objects.get(order=order, kind="contact")
    assert timer.breached_at is None and not ExemptBreach.objects.exists()

    response = ComplaintDeadline.objects.get(complaint=complaint, kind="response")
    with stack(broker_url) as processes:
        wait_for("the complaint's escalation",
                 lambda: ComplaintDeadlineEvent.objects.filter(
                     deadline=response, kind="escalated").exists(), processes)
        wait_for("the outage's breach",
                 lambda: type(outage).objects.filter(pk=outage.pk,
                                                     breached_at__isnull=False).exists(),
                 processes)
        wait_for("the late breach exempted",
                 lambda: ExemptBreach.objects.filter(timer=timer).exists(), processes)
        wait_for_ticks(3, processes)  # more ticks of every job: nothing fires twice

    # R51: each step once, at its true moment (R38), with its notices once each.
    steps = list(ComplaintDeadlineEvent.objects.filter(deadline=response)
                 .order_by("at", "id").values_list("kind", "level", "at"))
    recorded = response.started_at
    assert steps == [("warned", 0, recorded + dt.timedelta(minutes=96)),
                     ("breached", 1, recorded + dt.timedelta(minutes=120)),
                     ("escalated", 2, recorded + dt.timedelta(minutes=180))]
    notes = Notification.objects.filter(kind__startswith="complaint.",
                                        body__contains=complaint.number)
    assert notes.count() == 4  # warn: desk; breach: desk + supervisors; escalate
    # R54: the repair promise warned and broke once, the breach at its due time.
    outage.refresh_from_db()
    assert outage.warned_at is not None and outage.breached_at == outage.due_at
    breached = Notification.objects.filter(kind="outage_breached")
    assert sorted(n.recipient_id for n in breached) == sorted([dispatcher.pk, supervisor.pk])
    # R50: the breach stays in the history, exempted once.
    timer.refresh_from_db()
    assert timer.breached_at == timer.due_at
    assert TimerEvent.objects.filter(timer=timer, kind="breached").count() == 1
    assert ExemptBreach.objects.filter(timer=timer).get().exemption == exemption
