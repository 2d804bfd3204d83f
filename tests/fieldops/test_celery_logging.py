"""Worker and beat logs (issue 18 #11): quiet at INFO, one line per periodic job that did
something, errors still shown."""

from __future__ import annotations

import logging
import logging.config
from typing import Any

import pytest
from celery.signals import setup_logging
from django.conf import settings

from fieldops.celery import app

CHATTER = ("celery.beat", "celery.app.trace", "celery.worker.strategy")


@app.task(name="tests.fieldops.handled")
def handled(count: int) -> int:
    return count


@pytest.fixture
def periodic(monkeypatch: pytest.MonkeyPatch) -> None:
    schedule = dict(app.conf.beat_schedule)
    schedule["handled"] = {"task": "tests.fieldops.handled", "schedule": 5.0}
    monkeypatch.setattr(app.conf, "beat_schedule", schedule)


def test_celery_chatter_is_below_info_and_errors_still_show() -> None:
    logging.config.dictConfig(settings.LOGGING)
    for name in CHATTER:
        logger = logging.getLogger(name)
        assert not logger.isEnabledFor(logging.INFO), name
        assert logger.isEnabledFor(logging.ERROR), name
    assert logging.getLogger("fieldops.jobs").isEnabledFor(logging.INFO)


def test_worker_and_beat_take_django_logging_instead_of_their_own() -> None:
    # With a setup_logging receiver Celery leaves logging to it (so `-l info` cannot
    # turn the per-tick lines back on).
    assert setup_logging.receivers


@pytest.mark.usefixtures("periodic")
def test_a_periodic_job_that_did_something_says_so_once(caplog: Any) -> None:
    with caplog.at_level(logging.INFO, logger="fieldops.jobs"):
        handled.apply(args=(3,))
    assert [r.getMessage() for r in caplog.records if r.name == "fieldops.jobs"] == [
        "tests.fieldops.handled: 3"]


@pytest.mark.usefixtures("periodic")
def test_a_tick_that_found_nothing_is_silent(caplog: Any) -> None:
    with caplog.at_level(logging.INFO, logger="fieldops.jobs"):
        handled.apply(args=(0,))
    assert not [r for r in caplog.records if r.name == "fieldops.jobs"]


def test_a_task_beat_does_not_schedule_is_not_reported(caplog: Any) -> None:
    with caplog.at_level(logging.INFO, logger="fieldops.jobs"):
        handled.apply(args=(5,))
    assert not [r for r in caplog.records if r.name == "fieldops.jobs"]
