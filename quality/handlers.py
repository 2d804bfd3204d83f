"""Quality listens (``fieldops.bus``): every visit photo gets its perceptual fingerprint as
it is uploaded (R52), so the day's search for reused photos is index lookups only."""

from __future__ import annotations

import logging

from PIL import Image

from fieldops import bus
from workorders.events import OrderAction, OrderEvent
from workorders.models import Photo

from . import phash
from .models import PhotoHash

log = logging.getLogger(__name__)

#: The photos R52 compares (the check-in's, R17; the installation's and speed test's, R23).
HASHED_KINDS = frozenset({Photo.Kind.CHECK_IN, Photo.Kind.INSTALLATION,
                          Photo.Kind.SPEED_TEST})


def fingerprint(photo: Photo) -> PhotoHash | None:
    """The photo's fingerprint row, written once (a photo that cannot be read gets none:
    the upload already decoded it, so this is a storage fault, logged, not a refusal)."""
    if photo.kind not in HASHED_KINDS:
        return None
    try:
        with photo.image.open("rb") as handle, Image.open(handle) as image:
            value = phash.photo_hash(image)
    except (OSError, ValueError):
        log.warning("photo %s could not be read for its fingerprint", photo.pk, exc_info=True)
        return None
    row = phash.row_for(photo_id=photo.pk, order_id=photo.order_id, kind=photo.kind,
                        value=value, uploaded_at=photo.uploaded_at)
    PhotoHash.objects.bulk_create([row], ignore_conflicts=True)
    return row


def photo_uploaded(event: OrderEvent) -> None:
    if event.action not in (OrderAction.ADD_PHOTO, OrderAction.CHECK_IN):
        return
    photo_id = event.payload.get("photo")
    if not photo_id:
        return
    photo = Photo.objects.filter(pk=int(photo_id)).first()
    if photo is not None:
        fingerprint(photo)


def register() -> None:
    bus.subscribe(OrderEvent, photo_uploaded)
