"""Scale-out (docs/scaling.md): with CELERY_QUEUES_BY_KIND each kind of work goes to its own
queue, so each can have its own workers; without it everything shares the default queue."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

PROBE = """
import django; django.setup()
from fieldops.celery import app
app.loader.import_default_modules()
for name in sorted(app.tasks):
    if name.startswith("celery."):
        continue
    route = app.amqp.router.route({}, name)
    print(name, route["queue"].name)
"""


def _queues(by_kind: str) -> dict[str, str]:
    env = {"DJANGO_SETTINGS_MODULE": "fieldops.test_settings", "CELERY_QUEUES_BY_KIND": by_kind,
           "PATH": "/usr/bin:/bin"}
    out = subprocess.run([sys.executable, "-c", PROBE], cwd=ROOT, env=env, check=True,
                         capture_output=True, text=True).stdout
    return dict(line.split() for line in out.splitlines())


def test_each_kind_of_work_has_its_queue_when_asked():
    queues = _queues("1")
    assert queues["sla.tasks.sweep_timers"] == "sla"  # the breach storm
    assert queues["notifications.tasks.deliver_notification"] == "notifications"
    assert queues["notifications.tasks.deliver_webhook"] == "webhooks"
    assert queues["dashboards.tasks.refresh_stale_facts"] == "facts"
    assert queues["fieldops.tasks.heartbeat"] == "celery"
    assert set(queues.values()) == {"sla", "notifications", "webhooks", "facts", "celery"}


def test_one_queue_for_everything_by_default():
    assert set(_queues("0").values()) == {"celery"}
