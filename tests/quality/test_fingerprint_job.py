"""R52: a visit photo's fingerprint is computed by a job queued through the task outbox
after the upload commits, not in the technician's request; the job hashes the photo and
runs the duplicate-photo check once however often it runs, and the day's sample still
sees a reused photo whose job has not run yet."""

from __future__ import annotations

import datetime as dt
from unittest import mock

import pytest

from fieldops import clock
from fieldops.models import QueuedTask
from quality import fingerprints, sampling, tasks
from quality.models import Inspection, PhotoHash, Signal, SignalKind
from workorders import services
from workorders.models import Photo, State

from .helpers import complete, picture

pytestmark = pytest.mark.django_db


@pytest.fixture
def morning():
    day = clock.today_local() - dt.timedelta(days=1)
    return dt.datetime.combine(day, dt.time(10, 0), tzinfo=clock.now().astimezone().tzinfo)


def test_the_upload_does_not_hash_the_photo_it_queues_the_job(make_order, alice, morning):
    # R52: the request stores the photo, a pending row and an outbox row; no hashing
    with mock.patch("quality.phash.photo_hash") as hashing:
        order = complete(make_order, alice, check_in_at=morning, photo=picture(3))
    hashing.assert_not_called()
    photo = Photo.objects.get(order=order, kind=Photo.Kind.CHECK_IN)
    row = PhotoHash.objects.get(photo=photo)
    assert (row.hashed_at, row.value, row.match) == (None, None, None)
    assert (row.kind, row.uploaded_at, row.order_id) == (photo.kind, photo.uploaded_at,
                                                         order.pk)
    queued = QueuedTask.objects.get(name="quality.tasks.fingerprint_photo")
    assert queued.args == [photo.pk]


def test_the_job_runs_after_commit_and_finds_the_duplicate_once(
        make_order, alice, morning, django_capture_on_commit_callbacks):
    # R52: the job (eager here) hashes the photo and records the other order's photo
    with django_capture_on_commit_callbacks(execute=True):
        first = complete(make_order, alice, check_in_at=morning - dt.timedelta(days=2),
                         photo=picture(5))
    with django_capture_on_commit_callbacks(execute=True):
        second = complete(make_order, alice, check_in_at=morning, photo=picture(5))
    assert not QueuedTask.objects.exists()  # the broker took every job
    theirs = PhotoHash.objects.get(order_id=first.pk)
    ours = PhotoHash.objects.get(order_id=second.pk)
    assert theirs.hashed_at is not None and theirs.match is None
    assert ours.match == {"photo": theirs.photo_id, "order": first.pk,
                          "kind": Photo.Kind.CHECK_IN, "bits": 0}
    done_at = ours.hashed_at
    # a retried or doubled job changes nothing and never hashes again
    with mock.patch("quality.phash.photo_hash") as hashing:
        assert tasks.fingerprint_photo(ours.photo_id) is False
        assert fingerprints.hash_pending() == 0
    hashing.assert_not_called()
    ours.refresh_from_db()
    assert ours.hashed_at == done_at


def test_the_sample_hashes_pending_photos_first(make_order, alice, morning):
    # R52: both jobs still waiting (broker down, worker late) when the day is drawn:
    # the day's job hashes them first and the reused photo is inspected
    first = complete(make_order, alice, check_in_at=morning - dt.timedelta(days=2),
                     photo=picture(11))
    second = complete(make_order, alice, check_in_at=morning, photo=picture(11))
    assert PhotoHash.objects.filter(hashed_at__isnull=True).count() == 2
    sampling.run_day(morning.date())
    assert not PhotoHash.objects.filter(hashed_at__isnull=True).exists()
    inspection = Inspection.objects.get(order=second)
    signal = Signal.objects.get(inspection=inspection, kind=SignalKind.PHOTO_REUSED)
    assert signal.evidence["other_order"] == first.number
    # the job that arrives afterwards finds the photo done
    assert tasks.fingerprint_photo(signal.order.photos.get().pk) is False


def test_an_unreadable_photo_is_done_without_a_hash(make_order, alice, morning):
    order = complete(make_order, alice, check_in_at=morning, photo=picture(4))
    photo = Photo.objects.get(order=order)
    photo.image.storage.delete(photo.image.name)
    assert fingerprints.fingerprint(photo.pk) is True
    row = PhotoHash.objects.get(photo=photo)
    assert row.hashed_at is not None and row.value is None
    assert fingerprints.hash_pending() == 0  # not tried again forever


def test_installation_and_speed_test_photos_are_queued_and_others_not(make_order, alice):
    # R23's photos are compared (R52); a photo of another kind gets no row and no job
    from tests.fieldapp.helpers import upload

    order = make_order(State.ON_SITE, technician=alice)
    for kind in (Photo.Kind.INSTALLATION, Photo.Kind.OTHER):
        services.work_order_add_photo(order=order, by=alice.user, image=upload(), kind=kind)
    installation = Photo.objects.get(order=order, kind=Photo.Kind.INSTALLATION)
    row = PhotoHash.objects.get(order=order)
    assert (row.photo_id, row.kind, row.uploaded_at) == (installation.pk, "installation",
                                                         installation.uploaded_at)
    assert [q.args for q in QueuedTask.objects.filter(
        name="quality.tasks.fingerprint_photo")] == [[installation.pk]]
