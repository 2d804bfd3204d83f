"""Issue 17 (R52): where steps and survey answers came from (``RequestOrigin``) is kept only
as long as a ``survey_from_tech`` comparison can need it, the widest policy window plus
the sampling lag, and deleted by a periodic job in batches, idempotently. The clock is
moved with ``time_machine`` (the product asks ``fieldops.clock``)."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine
from django.conf import settings
from django.utils import timezone

from fieldops import clock
from quality import retention, sampling, tasks
from quality.models import InspectionPolicy, RequestOrigin, Signal, SignalKind
from workorders.models import State

from .test_survey_origin import answer, completed_from

pytestmark = pytest.mark.django_db


def _row(order, at, **extra) -> RequestOrigin:
    return RequestOrigin.objects.create(order=order, technician_id=order.technician_id,
                                        action="check_in", at=at, network="n" * 32,
                                        **extra)


def test_the_horizon_is_the_widest_window_plus_the_sampling_lag(east):
    # R52: the default policy's 24 h, then an area's wider 30 h, plus the days the day's
    # job may take to sample a finished day (DAYS_BACK 3, + the day itself).
    assert dt.timedelta(days=sampling.DAYS_BACK + 1) == retention.SAMPLING_LAG
    default = InspectionPolicy.objects.get_or_create(area=None)[0]
    default.survey_origin_window_hours = 24
    default.save()
    assert retention.horizon() == dt.timedelta(hours=24) + dt.timedelta(days=4)
    InspectionPolicy.objects.create(area=east, survey_origin_window_hours=30)
    assert retention.horizon() == dt.timedelta(hours=30) + dt.timedelta(days=4)


def test_old_rows_are_deleted_in_batches_and_a_second_run_deletes_nothing(
        make_order, alice):
    order = make_order(State.ACCEPTED, technician=alice)
    now = clock.now()
    limit = retention.horizon()
    old = [_row(order, now - limit - dt.timedelta(minutes=m)) for m in range(1, 8)]
    kept = [_row(order, now - limit + dt.timedelta(minutes=1)),
            _row(order, now - dt.timedelta(hours=1))]
    with time_machine.travel(now, tick=False):
        assert retention.purge_request_origins(batch=3) == len(old)  # 3 + 3 + 1
        assert retention.purge_request_origins(batch=3) == 0  # idempotent
    assert set(RequestOrigin.objects.values_list("pk", flat=True)) == {r.pk for r in kept}
    # Time moves on: the row one minute short of the horizon goes two minutes later.
    with time_machine.travel(now + dt.timedelta(minutes=2), tick=False):
        assert tasks.purge_request_origins() == 1
    assert list(RequestOrigin.objects.values_list("pk", flat=True)) == [kept[1].pk]


def test_beat_runs_the_purge():
    entry = settings.CELERY_BEAT_SCHEDULE["quality-purge-request-origins"]
    assert entry["task"] == tasks.purge_request_origins.name
    assert 0 < entry["schedule"] <= 86400


def test_the_purge_never_takes_what_the_days_job_still_compares(make_order, alice):
    # R52: a step and the customer's answer from its network. The day is sampled at the
    # latest DAYS_BACK days after it ended; a purge just before that last run keeps both
    # rows, so the late run still finds the signal. After the horizon both are gone, and
    # the signal keeps its evidence.
    day = clock.today_local() - dt.timedelta(days=1)
    morning = dt.datetime.combine(day, dt.time(10, 0),
                                  tzinfo=timezone.get_current_timezone())
    order = completed_from(make_order, alice, morning)
    answered = order.completed_at + dt.timedelta(hours=20)  # well inside the 24 h
    answer(order, at=answered, address="203.0.113.200")
    assert RequestOrigin.objects.filter(order=order, survey__isnull=False).exists()
    last_run = dt.datetime.combine(day + dt.timedelta(days=sampling.DAYS_BACK),
                                   dt.time(23, 59), tzinfo=timezone.get_current_timezone())
    with time_machine.travel(last_run, tick=False):
        retention.purge_request_origins()
        assert RequestOrigin.objects.filter(order=order, survey__isnull=True).exists()
        assert RequestOrigin.objects.filter(order=order, survey__isnull=False).exists()
        assert sampling.run_due() >= 1
    (signal,) = Signal.objects.filter(order=order, kind=SignalKind.SURVEY_FROM_TECHNICIAN)
    newest = RequestOrigin.objects.order_by("-at").values_list("at", flat=True).first()
    with time_machine.travel(newest + retention.horizon() + dt.timedelta(seconds=1),
                             tick=False):
        assert retention.purge_request_origins() > 0
    assert not RequestOrigin.objects.filter(order=order).exists()
    signal.refresh_from_db()
    assert signal.evidence["matched"] == "network" and signal.describe()
