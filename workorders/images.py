"""Photos from the technicians' phones (R17, R23): checked, re-encoded and stored, and
deleted again when the step that stored them fails."""

from __future__ import annotations

import datetime as dt
import hashlib
import io
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

from django.conf import settings
from django.core.files.base import ContentFile
from django.utils.translation import gettext as _
from PIL import Image, ImageOps, UnidentifiedImageError

from fieldops import semaphores

from .errors import DomainError, RuleViolation
from .models import Photo, WorkOrder

#: Image formats accepted from phones (R17, R23); everything is stored as JPEG.
PHOTO_FORMATS = frozenset({"JPEG", "MPO", "PNG", "WEBP"})
#: Formats Pillow can scale down while decoding (``Image.draft``: 1/2, 1/4 or 1/8 per side).
DRAFT_FORMATS = frozenset({"JPEG", "MPO"})


class ImageBusy(DomainError):
    """Every slot for image work is taken: try again shortly."""

    status = 503
    code = "busy"


def _semaphore() -> semaphores.Semaphore:
    return semaphores.Semaphore("image-work", limit=settings.IMAGE_WORK_CONCURRENCY,
                                lease=settings.IMAGE_WORK_LEASE_SECONDS)


@contextmanager
def image_work() -> Iterator[None]:
    """At most ``IMAGE_WORK_CONCURRENCY`` images are decoded at once across every web
    process and worker sharing Redis (a decoded photo takes tens of MB; issue 18): a
    lease in Redis (``fieldops.semaphores``) that ends by itself after
    ``IMAGE_WORK_LEASE_SECONDS`` if its process is killed holding it. The others wait up to
    ``IMAGE_WORK_WAIT_SECONDS`` and are then told to try again, nothing stored. With Redis
    down the limit is each process's own (a warning logged once a minute)."""
    try:
        with _semaphore().hold(wait=settings.IMAGE_WORK_WAIT_SECONDS):
            yield
    except semaphores.Busy:
        raise ImageBusy(_("Many photos are being processed right now; send this one again in "
                          "a minute. Nothing was saved.")) from None


def refuse_too_many_pixels(img: Image.Image, *, signature: bool = False, field: str,
                           rule: str) -> None:
    """Before decoding: the pixels that decoding ``img`` would produce (after any
    ``draft``) stay within ``IMAGE_MAX_PIXELS``; a small file can declare a huge image."""
    limit = settings.IMAGE_MAX_PIXELS
    if img.width * img.height <= limit:
        return
    if signature:
        message = _("The signature is %(width)d×%(height)d pixels; at most %(limit).1f million "
                    "pixels are accepted. Clear it and sign again.")
    else:
        message = _("The photo is %(width)d×%(height)d pixels; at most %(limit).1f million "
                    "pixels are accepted. Take it at a lower resolution, or as a JPEG.")
    raise RuleViolation(message % {"width": img.width, "height": img.height,
                                   "limit": limit / 1_000_000}, field=field, rule=rule)


class PreparedImage:
    """A photo checked and re-encoded, ready to store."""

    def __init__(self, content: bytes, width: int, height: int) -> None:
        self.content, self.width, self.height = content, width, height
        self.sha256 = hashlib.sha256(content).hexdigest()


def prepare_image(upload: Any, *, field: str, rule: str) -> PreparedImage:
    """Refuse what is too large or not a photo, then resize (longest side
    ``PHOTO_MAX_SIDE``), turn it upright, drop its metadata (GPS, camera) and store JPEG.
    A JPEG is decoded already scaled down; nothing decodes to more than
    ``IMAGE_MAX_PIXELS``, and only ``IMAGE_WORK_CONCURRENCY`` decode at once."""
    limit = settings.PHOTO_MAX_UPLOAD_BYTES
    size = getattr(upload, "size", None)
    if size is not None and size > limit:
        raise RuleViolation(_("The photo is %(size).1f MB; the limit is %(limit).0f MB.")
                            % {"size": size / 1024 / 1024, "limit": limit / 1024 / 1024},
                            field=field, rule=rule)
    not_a_photo = _("This file is not a photo; take a JPEG, PNG or WebP picture.")
    side = settings.PHOTO_MAX_SIDE
    try:
        upload.seek(0)
        with Image.open(upload) as probe:
            if probe.format not in PHOTO_FORMATS:
                raise RuleViolation(not_a_photo, field=field, rule=rule)
            if probe.format not in DRAFT_FORMATS:
                refuse_too_many_pixels(probe, field=field, rule=rule)
            probe.verify()
        upload.seek(0)
        with image_work(), Image.open(upload) as img:
            scale = side / max(img.size)
            if img.format in DRAFT_FORMATS and scale < 1:
                # Decode at the smallest of 1/2, 1/4, 1/8 that still covers the stored size.
                img.draft("RGB", (max(1, int(img.width * scale)),
                                  max(1, int(img.height * scale))))
            refuse_too_many_pixels(img, field=field, rule=rule)
            img.load()
            # In place, and no conversion of what is RGB already: each copy of a decoded
            # photo costs as much as decoding it again.
            ImageOps.exif_transpose(img, in_place=True)
            img.thumbnail((side, side))
            rgb = img if img.mode == "RGB" else img.convert("RGB")
            out = io.BytesIO()
            rgb.save(out, "JPEG", quality=82, optimize=True)
    except (RuleViolation, ImageBusy):
        raise
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError,
            Image.DecompressionBombError) as exc:
        raise RuleViolation(not_a_photo, field=field, rule=rule) from exc
    return PreparedImage(out.getvalue(), rgb.width, rgb.height)


#: The files stored by the service running in this context (``files_discarded_on_error``).
_stored_files: ContextVar[list[Any] | None] = ContextVar("stored_files", default=None)


@contextmanager
def files_discarded_on_error() -> Iterator[None]:
    """Photos and signatures are stored outside the database. When the service's
    transaction fails after storing one (a refusal, a conflict, a lost connection), the
    file is deleted again, so a step that left no row leaves no file either."""
    stored: list[Any] = []
    token = _stored_files.set(stored)
    try:
        yield
    except BaseException:
        for field_file in stored:
            field_file.storage.delete(field_file.name)
        raise
    finally:
        _stored_files.reset(token)


def remember_stored(field_file: Any) -> None:
    """Remember a file just stored, for ``files_discarded_on_error``."""
    stored = _stored_files.get()
    if stored is not None:
        stored.append(field_file)


def save_photo(order: WorkOrder, image: PreparedImage, *, kind: str, by: Any,
                now: dt.datetime, caption: str = "") -> Photo:
    photo = Photo(order=order, kind=kind, width=image.width, height=image.height,
                  size=len(image.content), sha256=image.sha256, caption=caption,
                  taken_by=by, uploaded_at=now)
    photo.image.save(f"{kind}-{now:%Y%m%d-%H%M%S}-{image.sha256[:10]}.jpg",
                     ContentFile(image.content), save=False)
    remember_stored(photo.image)
    photo.save()
    return photo

