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

from .errors import RuleViolation
from .models import Photo, WorkOrder

#: Image formats accepted from phones (R17, R23); everything is stored as JPEG.
PHOTO_FORMATS = frozenset({"JPEG", "MPO", "PNG", "WEBP"})
#: Refuse images larger than this many pixels before decoding them (decompression bombs).
PHOTO_MAX_PIXELS = 50_000_000


class PreparedImage:
    """A photo checked and re-encoded, ready to store."""

    def __init__(self, content: bytes, width: int, height: int) -> None:
        self.content, self.width, self.height = content, width, height
        self.sha256 = hashlib.sha256(content).hexdigest()


def prepare_image(upload: Any, *, field: str, rule: str) -> PreparedImage:
    """Refuse what is too large or not a photo, then resize (longest side
    ``PHOTO_MAX_SIDE``), turn it upright, drop its metadata (GPS, camera) and store JPEG."""
    limit = settings.PHOTO_MAX_UPLOAD_BYTES
    size = getattr(upload, "size", None)
    if size is not None and size > limit:
        raise RuleViolation(_("The photo is %(size).1f MB; the limit is %(limit).0f MB.")
                            % {"size": size / 1024 / 1024, "limit": limit / 1024 / 1024},
                            field=field, rule=rule)
    not_a_photo = _("This file is not a photo; take a JPEG, PNG or WebP picture.")
    try:
        upload.seek(0)
        with Image.open(upload) as probe:
            if probe.format not in PHOTO_FORMATS:
                raise RuleViolation(not_a_photo, field=field, rule=rule)
            if probe.width * probe.height > PHOTO_MAX_PIXELS:
                raise RuleViolation(_("The photo has too many pixels; take a smaller one."),
                                    field=field, rule=rule)
            probe.verify()
        upload.seek(0)
        with Image.open(upload) as img:
            img.load()
            upright = ImageOps.exif_transpose(img) or img
            upright.thumbnail((settings.PHOTO_MAX_SIDE, settings.PHOTO_MAX_SIDE))
            rgb = upright.convert("RGB")
            out = io.BytesIO()
            rgb.save(out, "JPEG", quality=82, optimize=True)
    except RuleViolation:
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

