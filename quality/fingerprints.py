"""The photos' perceptual fingerprints (R52), computed by a job after the upload, not in
the technician's request.

A check-in, installation or speed-test photo gets a *pending* ``PhotoHash`` row in the
upload's transaction (no hash yet, ``hashed_at`` empty) and a ``fingerprint_photo`` job
through the task outbox (``fieldops.outbox.send_after_commit``). The job hashes the photo
and runs the duplicate-photo check on it: the nearest photo of another order within the
area policy's bits and window, kept on the row (``match``). It does both once per photo:
the row is locked and ``hashed_at`` written in the same transaction, so a retried or
doubled job finds it done and does nothing.

The daily search for reused photos (``suspicion``) hashes whatever is still pending
first (a job not run yet, the broker down), so the sample never misses a signal because
a job was late.
"""

from __future__ import annotations

import datetime as dt
import logging
from typing import Any

from django.db import transaction
from PIL import Image

from fieldops import clock
from workorders.models import Photo, WorkOrder

from .models import InspectionPolicy, PhotoHash

log = logging.getLogger(__name__)

#: The photos R52 compares (the check-in's, R17; the installation's and speed test's, R23).
HASHED_KINDS = frozenset({Photo.Kind.CHECK_IN, Photo.Kind.INSTALLATION,
                          Photo.Kind.SPEED_TEST})


def pending_row(photo_id: int, *, order_id: int | None = None, kind: str = "",
                uploaded_at: dt.datetime | None = None) -> PhotoHash | None:
    """In the upload's transaction: the photo's pending row (none for a kind R52 does not
    compare). The caller queues ``fingerprint_photo`` for it. Given the photo's order, kind
    and upload time (the upload's event carries them), the photo is not read again."""
    if order_id is None or not kind or uploaded_at is None:
        row = (Photo.objects.filter(pk=photo_id)
               .values_list("order_id", "kind", "uploaded_at").first())
        if row is None:
            return None
        order_id, kind, uploaded_at = row
    if kind not in HASHED_KINDS:
        return None
    pending = PhotoHash(photo_id=photo_id, order_id=order_id, kind=kind,
                        uploaded_at=uploaded_at)
    PhotoHash.objects.bulk_create([pending], ignore_conflicts=True)
    return pending


def _read_hash(photo: Photo) -> int | None:
    from . import phash  # imagehash (and scipy, on first use) only where photos are hashed

    try:
        with photo.image.open("rb") as handle, Image.open(handle) as image:
            return phash.photo_hash(image)
    except (OSError, ValueError):
        # The upload already decoded it: a storage fault, logged, not a refusal.
        log.warning("photo %s could not be read for its fingerprint", photo.pk, exc_info=True)
        return None


def _policy(order_id: int) -> InspectionPolicy:
    area_id = WorkOrder.objects.filter(pk=order_id).values_list("area_id", flat=True).first()
    own = InspectionPolicy.objects.filter(area_id=area_id).first() if area_id else None
    return (own or InspectionPolicy.objects.filter(area__isnull=True).first()
            or InspectionPolicy())


def duplicate_of(row: PhotoHash, value: int) -> dict[str, Any] | None:
    """The duplicate-photo check (R52) on one freshly hashed photo: the nearest photo of
    another order uploaded within the policy's window before it, at most the policy's
    bits apart; ``None`` when there is none."""
    from . import phash

    policy = _policy(row.order_id)
    found = phash.matches(value, exclude_order=row.order_id,
                          since=row.uploaded_at - dt.timedelta(days=policy.photo_window_days),
                          until=row.uploaded_at, max_bits=policy.photo_max_distance)
    if not found:
        return None
    best = found[0]
    return {"photo": best.photo_id, "order": best.order_id, "kind": best.kind,
            "bits": best.bits}


def fingerprint(photo_id: int) -> bool:
    """Hash one pending photo and check it for a duplicate, once: ``True`` if this call did
    it, ``False`` if it was done already (a retry, a second job) or there is nothing to
    do."""
    from . import phash

    with transaction.atomic():
        row = PhotoHash.objects.select_for_update().filter(photo_id=photo_id).first()
        if row is None or row.hashed_at is not None:
            return False
        photo = Photo.objects.filter(pk=photo_id).first()
        value = _read_hash(photo) if photo is not None else None
        fields = ["hashed_at"]
        if value is not None:
            signed = phash.row_for(photo_id=row.photo_id, order_id=row.order_id,
                                   kind=row.kind, value=value, uploaded_at=row.uploaded_at)
            row.value = signed.value
            row.band0, row.band1, row.band2, row.band3 = (
                signed.band0, signed.band1, signed.band2, signed.band3)
            row.match = duplicate_of(row, value)
            fields += ["value", "band0", "band1", "band2", "band3", "match"]
        row.hashed_at = clock.now()
        row.save(update_fields=fields)
    return True


def hash_pending(*, limit: int = 10_000) -> int:
    """Every photo still waiting for its job, hashed now (the daily search's first step);
    returns how many this call hashed."""
    ids = list(PhotoHash.objects.filter(hashed_at__isnull=True).order_by("uploaded_at")
               .values_list("photo_id", flat=True)[:limit])
    return sum(1 for photo_id in ids if fingerprint(photo_id))
