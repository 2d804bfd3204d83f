"""With Redis down the site degrades instead of answering 500 (issue 18 #7): API requests
are served and rate-limited per process, the warning is logged once a minute, /health/
says "degraded: redis", and Celery jobs queued meanwhile wait in the outbox until Redis is
back. Each test runs its own throw-away redis-server and kills it mid-test (never the
shared one)."""

from __future__ import annotations

import datetime as dt
import json
import logging
import os
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from typing import Any

import pytest
import redis
import time_machine
from django.test import Client

from api import services as api_services
from api import throttling
from api.models import ClientRole
from fieldops.celery import app as celery_app
from fieldops.models import QueuedTask
from tests.conftest import REQUIRE_SERVICES, reset_broker_connections

START = dt.datetime(2026, 11, 23, 9, 0, 5, tzinfo=dt.UTC)


class PrivateRedis:
    """A redis-server of this test's own, on a free port, without persistence."""

    def __init__(self, folder: Any) -> None:
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port = probe.getsockname()[1]
        self.folder = folder
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        self.process = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "no", "--dir", str(self.folder)],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        client = redis.Redis(port=self.port, socket_connect_timeout=0.2)
        for _ in range(100):  # a process start, not a timing under test
            try:
                client.ping()
                return
            except redis.ConnectionError:
                time.sleep(0.05)
        raise RuntimeError(f"redis-server did not start on port {self.port}")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=10)
        self.process = None

    def client(self) -> redis.Redis:
        return redis.Redis(port=self.port, socket_connect_timeout=1)


@pytest.fixture
def private_redis(tmp_path: Any, settings: Any) -> Iterator[PrivateRedis]:
    """The cache (rate limits), the broker and /health/ point at a private Redis."""
    if shutil.which("redis-server") is None:
        message = "redis-server is not installed"
        if REQUIRE_SERVICES or os.environ.get("CI"):
            pytest.fail(message, pytrace=False)
        pytest.skip(message)
    server = PrivateRedis(tmp_path)
    server.start()
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache",
                                   "LOCATION": server.url,
                                   "OPTIONS": {"socket_connect_timeout": 1,
                                               "socket_timeout": 1}}}
    settings.CELERY_BROKER_URL = server.url
    previous = celery_app.conf.broker_url
    celery_app.conf.broker_url = server.url
    celery_app.conf.task_always_eager = False
    reset_broker_connections()
    throttling._local.clear()
    try:
        yield server
    finally:
        server.stop()
        celery_app.conf.broker_url = previous
        celery_app.conf.task_always_eager = True
        reset_broker_connections()
        throttling._local.clear()


@pytest.fixture
def call_centre_token(reference_data: None) -> str:
    client = api_services.api_client_create(name="10010 呼叫中心", role=ClientRole.CALL_CENTRE)
    client.rate_limit_per_minute = 3
    client.save()
    return api_services.api_token_issue(client=client)[1]


def health(browser: Client) -> tuple[int, dict[str, Any]]:
    response = browser.get("/health/")
    return response.status_code, json.loads(response.content)


def test_api_requests_are_served_when_redis_dies_and_rate_limited_per_process(
        private_redis, call_centre_token, caplog):
    """The defect: with Redis down every API request answered 500 (the rate counter)."""
    api = Client(headers={"Authorization": f"Bearer {call_centre_token}"})
    with time_machine.travel(START, tick=False):
        assert api.get("/api/v1/me/").status_code == 200  # counted in Redis
        private_redis.stop()
        with caplog.at_level(logging.WARNING, logger="api.throttling"):
            served = [api.get("/api/v1/me/").status_code for _ in range(4)]
    # The limit (3 a minute) still holds, counted in this process from here on.
    assert served == [200, 200, 200, 429]
    warnings = [r for r in caplog.records if r.name == "api.throttling"]
    assert len(warnings) == 1 and "Redis unavailable" in warnings[0].getMessage()

    with time_machine.travel(START + dt.timedelta(seconds=30), tick=False), \
            caplog.at_level(logging.WARNING, logger="api.throttling"):
        assert api.get("/api/v1/me/").status_code == 429  # same minute, same local count
    assert len([r for r in caplog.records if r.name == "api.throttling"]) == 1
    with time_machine.travel(START + dt.timedelta(seconds=61), tick=False), \
            caplog.at_level(logging.WARNING, logger="api.throttling"):
        assert api.get("/api/v1/me/").status_code == 200  # a new minute
    assert len([r for r in caplog.records if r.name == "api.throttling"]) == 2  # once a minute

    private_redis.start()  # back (empty): counting is shared again once it answers
    with time_machine.travel(START + dt.timedelta(seconds=67), tick=False), \
            caplog.at_level(logging.WARNING, logger="api.throttling"):
        assert api.get("/api/v1/me/").status_code == 200
    said = [r.getMessage() for r in caplog.records if r.name == "api.throttling"]
    assert len(said) == 3 and said[-1].startswith("Redis answers again")
    assert private_redis.client().keys(f"*{throttling.NAMESPACE}*")


def test_health_reports_degraded_redis_while_it_is_down(private_redis, db):
    browser = Client()
    assert health(browser) == (200, {"status": "ok", "database": "ok", "redis": "ok",
                                     "queued_tasks": 0})
    private_redis.stop()
    code, body = health(browser)
    assert code == 200 and body["status"] == "degraded: redis" and body["redis"] == "down"
    private_redis.start()
    assert health(browser)[1]["status"] == "ok"


def test_jobs_queued_while_redis_is_down_wait_in_the_outbox_and_go_out_after(
        private_redis, make_order, alice, django_capture_on_commit_callbacks):
    """The defect: a job queued while the broker was down was lost (and its request
    failed): here, the survey job of an order completed during the outage."""
    from fieldops.tasks import flush_queued_tasks
    from workorders import services
    from workorders.models import CompletionReport

    order = make_order("signed_off", technician=alice)
    private_redis.stop()
    report = CompletionReport.objects.get(order=order).as_dict()
    with django_capture_on_commit_callbacks(execute=True):
        services.work_order_complete(order=order, by=alice.user, report=report)
    waiting = QueuedTask.objects.get()
    assert waiting.name == "surveys.tasks.start_survey" and waiting.args == [order.pk]
    assert waiting.attempts == 1 and waiting.last_error
    assert health(Client())[1]["queued_tasks"] == 1

    # Beat's flush while Redis is still down keeps the row.
    with time_machine.travel(waiting.created_at + dt.timedelta(minutes=1)):
        assert flush_queued_tasks() == 0
    assert QueuedTask.objects.count() == 1

    private_redis.start()
    with time_machine.travel(waiting.created_at + dt.timedelta(minutes=2)):
        assert flush_queued_tasks() == 1
    assert not QueuedTask.objects.exists()
    queued = [json.loads(m) for m in private_redis.client().lrange("celery", 0, -1)]
    assert [(m["headers"]["task"], m["headers"]["argsrepr"]) for m in queued] == [
        ("surveys.tasks.start_survey", f"({order.pk},)")]


class _NetworkGeocoder:
    """Stands for a geocoder that needs the network (``immediate = False``): its answers
    come from a Celery job after the order's commit, never from the order's request."""

    name = "network-test"
    immediate = False

    def locate(self, address: str, area: Any) -> Any:
        from planning.geocoding import Point
        return Point(39.9339, 116.4318)

    def area_centre(self, area: Any) -> Any:
        return None


def test_an_order_taken_while_redis_is_down_is_geocoded_when_it_is_back(
        private_redis, call_centre_token, east, settings, django_capture_on_commit_callbacks):
    """The defect: with a network geocoder the intake queued its geocode job straight to
    the broker after commit, so with Redis down POST /api/v1/work-orders/ answered 500;
    the job now waits in the outbox like any other."""
    from fieldops import clock
    from fieldops.tasks import flush_queued_tasks
    from planning import geocoding
    from planning.models import OrderLocation

    settings.GEOCODER = f"{__name__}._NetworkGeocoder"
    geocoding._geocoder.cache_clear()
    api = Client(headers={"Authorization": f"Bearer {call_centre_token}",
                          "Idempotency-Key": "outage-geocode-1"})
    body = {"channel": "hotline", "kind": "install", "service": "broadband",
            "access_type": "ftth", "customer": {"name": "张伟", "phone": "13812345678"},
            "address": "北京市东城区东四十条 88 号 3 单元 502", "area": east.code,
            "preferred_day": clock.today_local().isoformat()}
    private_redis.stop()
    try:
        with django_capture_on_commit_callbacks(execute=True):
            response = api.post("/api/v1/work-orders/", body, content_type="application/json")
    finally:
        geocoding._geocoder.cache_clear()
    assert response.status_code == 201, response.content
    order_id = json.loads(response.content)["id"]
    waiting = QueuedTask.objects.get(name="planning.tasks.geocode_order")
    assert waiting.args == [order_id] and waiting.attempts == 1
    assert not OrderLocation.objects.filter(order_id=order_id).exists()

    private_redis.start()
    with time_machine.travel(waiting.created_at + dt.timedelta(minutes=2)):
        assert flush_queued_tasks() >= 1
    assert not QueuedTask.objects.filter(name="planning.tasks.geocode_order").exists()
    queued = [json.loads(m) for m in private_redis.client().lrange("celery", 0, -1)]
    [job] = [m for m in queued if m["headers"]["task"] == "planning.tasks.geocode_order"]
    assert job["headers"]["argsrepr"] == f"({order_id},)"
    settings.GEOCODER = f"{__name__}._NetworkGeocoder"
    geocoding._geocoder.cache_clear()
    try:
        celery_app.tasks["planning.tasks.geocode_order"].apply(args=(order_id,)).get()
    finally:
        geocoding._geocoder.cache_clear()
    location = OrderLocation.objects.get(order_id=order_id)
    assert (location.latitude, location.longitude, location.geocoder) == (
        39.9339, 116.4318, "network-test")
