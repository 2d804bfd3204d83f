"""The Celery app. Configuration comes from Django settings (``CELERY_*``)."""

import logging
import logging.config
import os
from typing import Any

from celery import Celery
from celery.signals import setup_logging, task_postrun, worker_init
from django.conf import settings

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "fieldops.settings")

app = Celery("fieldops")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@worker_init.connect
def _ensure_broker_folders(**_: object) -> None:
    """The filesystem broker (embedded mode) needs its folders to exist."""
    for key in ("data_folder_in", "data_folder_out", "processed_folder", "control_folder"):
        folder = getattr(settings, "CELERY_BROKER_TRANSPORT_OPTIONS", {}).get(key)
        if folder:
            os.makedirs(folder, exist_ok=True)


@setup_logging.connect
def _use_django_logging(**_: object) -> None:
    """Worker and beat log through Django's ``LOGGING`` (so ``-l`` is not used): beat's
    "Sending due task" and the worker's received/succeeded lines sit below INFO there,
    and ``_say_what_a_job_did`` gives one line per periodic job that did something."""
    logging.config.dictConfig(settings.LOGGING)


jobs_logger = logging.getLogger("fieldops.jobs")


@task_postrun.connect
def _say_what_a_job_did(task: Any = None, retval: Any = None, **_: object) -> None:
    """One INFO line when a periodic job (one beat schedules) changed something: the jobs
    return how many rows they handled, and a tick that found nothing stays silent."""
    if task is None or isinstance(retval, bool) or not isinstance(retval, int) or retval <= 0:
        return
    if any(entry.get("task") == task.name for entry in (app.conf.beat_schedule or {}).values()):
        jobs_logger.info("%s: %d", task.name, retval)
