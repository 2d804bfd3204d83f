"""Issue 18: the image-work limit is across processes, not per process. Holders in separate
processes (each its own Redis connection) take leases in the real Redis (REDIS_URL); the
next one waits or is refused; a holder killed with SIGKILL keeps its slot only until its
lease ends (the product's clock moved past it, no sleeping); with Redis down the limit
falls back to the process's own, with one warning a minute."""

from __future__ import annotations

import datetime as dt
import logging
import os
import signal
import socket
import subprocess
import sys
import threading
import uuid
from pathlib import Path

import pytest
import time_machine
from django.test import override_settings

from fieldops import clock, semaphores
from workorders import images
from workorders.images import ImageBusy

pytestmark = pytest.mark.redis

ROOT = Path(__file__).resolve().parents[2]

#: A holder in a process of its own: takes the slot, says so, holds until told (a line on
#: stdin) or killed.
HOLDER = """
import os, sys
import django
django.setup()
from fieldops import semaphores
sem = semaphores.Semaphore(sys.argv[1], limit=int(sys.argv[2]), lease=float(sys.argv[3]))
try:
    with sem.hold(wait=0) as how:
        print("held", how, flush=True)
        sys.stdin.readline()
except semaphores.Busy:
    print("busy", flush=True)
"""


class Holder:
    def __init__(self, name: str, limit: int, lease: float) -> None:
        env = {**os.environ, "DJANGO_SETTINGS_MODULE": "fieldops.test_settings"}
        self.process = subprocess.Popen(
            [sys.executable, "-c", HOLDER, name, str(limit), str(lease)], cwd=ROOT, env=env,
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        assert self.process.stdout is not None
        self.said = self.process.stdout.readline().strip()  # blocks until it took or not

    def release(self) -> None:
        assert self.process.stdin is not None
        self.process.stdin.write("\n")
        self.process.stdin.flush()
        assert self.process.wait(timeout=30) == 0

    def kill(self) -> None:
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=30)

    def close(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=30)


@pytest.fixture
def holders():
    started: list[Holder] = []

    def start(name: str, limit: int, lease: float = 60.0) -> Holder:
        holder = Holder(name, limit, lease)
        started.append(holder)
        return holder

    yield start
    for holder in started:
        holder.close()


@pytest.fixture(autouse=True)
def _fresh_fallback():
    semaphores._fallback.clear()
    yield
    semaphores._fallback.clear()


def test_n_holders_in_separate_processes_and_the_next_waits_or_is_refused(holders):
    name = f"test-{uuid.uuid4().hex}"
    sem = semaphores.Semaphore(name, limit=2, lease=60)
    a, b = holders(name, 2), holders(name, 2)
    assert (a.said, b.said) == ("held shared", "held shared")
    assert sem.holders() == 2
    # The third, in this process or in another, is refused when it does not wait.
    with pytest.raises(semaphores.Busy), sem.hold(wait=0):
        pass
    assert holders(name, 2).said == "busy"
    # One that waits gets the slot when a holder gives it back.
    got: list[str] = []

    def waiter() -> None:
        with sem.hold(wait=30) as how:
            got.append(how)

    thread = threading.Thread(target=waiter)
    thread.start()
    b.release()
    thread.join(timeout=30)
    assert got == ["shared"] and sem.holders() == 1  # a still holds


def test_a_killed_holders_slot_ends_with_its_lease(holders):
    name = f"test-{uuid.uuid4().hex}"
    sem = semaphores.Semaphore(name, limit=2, lease=60)
    a = holders(name, 2, lease=60)
    assert a.said == "held shared"
    a.kill()  # SIGKILL: it never gives the slot back
    # The dead holder's lease still counts until it ends.
    with sem.hold(wait=0), pytest.raises(semaphores.Busy), sem.hold(wait=0):
        pass
    later = clock.now() + dt.timedelta(seconds=61)
    with (time_machine.travel(later, tick=False), sem.hold(wait=0) as first,
          sem.hold(wait=0) as second):
        assert (first, second) == ("shared", "shared") and sem.holders() == 2
    assert sem.holders() == 0


def test_the_products_image_work_is_limited_across_processes(holders, settings):
    # Another process decodes an image: with a limit of 1 this one is told to try again.
    settings.IMAGE_WORK_CONCURRENCY = 1
    settings.IMAGE_WORK_WAIT_SECONDS = 0
    shared = semaphores.Semaphore("image-work", limit=1,
                                  lease=settings.IMAGE_WORK_LEASE_SECONDS)
    found = semaphores._redis()
    assert found is not None
    client, cache = found
    client.delete(shared._key(cache))  # a killed run's leftover lease, if any
    other = holders("image-work", 1, settings.IMAGE_WORK_LEASE_SECONDS)
    assert other.said == "held shared"
    with pytest.raises(ImageBusy), images.image_work():
        pass
    other.release()
    with images.image_work():
        assert shared.holders() == 1


def _dead_redis() -> str:
    with socket.socket() as probe:  # a free port: nothing listens there
        probe.bind(("127.0.0.1", 0))
        return f"redis://127.0.0.1:{probe.getsockname()[1]}/0"


def test_with_redis_down_the_limit_is_the_processs_own_with_a_warning(caplog):
    caches = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache",
                          "LOCATION": _dead_redis(),
                          "OPTIONS": {"socket_connect_timeout": 0.5, "socket_timeout": 0.5}}}
    sem = semaphores.Semaphore(f"test-{uuid.uuid4().hex}", limit=1, lease=60)
    start = clock.now()
    with override_settings(CACHES=caches), caplog.at_level(logging.WARNING,
                                                           "fieldops.semaphores"):
        with time_machine.travel(start, tick=False), sem.hold(wait=0) as how:
            assert how == "local"
            with pytest.raises(semaphores.Busy), sem.hold(wait=0):
                pass  # the local limit holds too
        warnings = [r for r in caplog.records if r.name == "fieldops.semaphores"]
        assert len(warnings) == 1 and "per process" in warnings[0].getMessage()
        # Asked again after the retry delay: still down, no second warning in the minute.
        with (time_machine.travel(start + dt.timedelta(seconds=10), tick=False),
              sem.hold(wait=0) as how):
            assert how == "local"
        assert len([r for r in caplog.records if r.name == "fieldops.semaphores"]) == 1
        with time_machine.travel(start + dt.timedelta(seconds=75), tick=False), \
                sem.hold(wait=0):
            pass
        assert len([r for r in caplog.records if r.name == "fieldops.semaphores"]) == 2
