"""Sealing the customer's consent (R26): the one-time sign-off code kept only as an HMAC,
and the drawn signature checked to be a real drawing before it is bound to the order."""

from __future__ import annotations

import base64
import binascii
import hashlib
import io
import json
from typing import Any

from django.db.models import F, Q
from django.utils.crypto import constant_time_compare, salted_hmac
from django.utils.translation import gettext as _
from PIL import Image, UnidentifiedImageError

from fieldops import clock

from .errors import RuleViolation
from .images import ImageBusy, image_work, refuse_too_many_pixels
from .models import Signature, SignOffCode, WorkOrder

#: R26: a drawn signature is a small PNG; it must have at least this many inked pixels.
SIGNATURE_MAX_BYTES = 300_000
SIGNATURE_MIN_INK = 150
#: R26: the SMS sign-off code.
SIGN_OFF_CODE_MINUTES = 10
SIGN_OFF_CODE_MAX_TRIES = 5
SIGN_OFF_CODES_PER_HOUR = 5
#: R26: the drawing is compared on this grid (ink cropped and scaled to it).
FINGERPRINT_GRID = (64, 32)
#: R26: the strokes field of a signature (a few thousand points) is at most this long.
STROKES_MAX_CHARS = 200_000


def code_hmac(order: WorkOrder, code: str) -> str:
    return salted_hmac("workorders.SignOffCode", f"{order.pk}:{code.strip()}",
                       algorithm="sha256").hexdigest()


def check_code(order: WorkOrder, code: str) -> SignOffCode:
    """The pending code matching ``code``; a wrong try is counted (and kept, even though
    the caller's sign-off fails) and a few of them burn the code. Its lifetime is the
    server's time, also while a step done offline is replayed at an earlier time."""
    now = clock.received()
    row = (SignOffCode.objects.filter(order=order, used_at__isnull=True)
           .order_by("-created_at", "-id").first())
    if row is None or row.expires_at <= now:
        raise RuleViolation(_("The code has expired or was never sent; send a new one."),
                            field="code", rule="R26")
    if row.attempts >= SIGN_OFF_CODE_MAX_TRIES:
        raise RuleViolation(_("Too many wrong codes; send a new one."), field="code",
                            rule="R26")
    if not constant_time_compare(row.code_hash, code_hmac(order, code)):
        def count_try() -> int:
            return SignOffCode.objects.filter(pk=row.pk).update(attempts=F("attempts") + 1)

        count_try()
        wrong = RuleViolation(_("The code is not the one sent to the customer's phone."),
                              field="code", rule="R26")
        wrong.durable.append(count_try)  # kept even when the caller rolls back
        raise wrong
    return row


def signature_png(data: str | bytes) -> bytes:
    """The drawn signature as PNG bytes (from the canvas's data URL), refused when it is
    not a PNG, too large, or (nearly) blank; re-encoded, so what is stored is the drawing
    and nothing else that came with the upload."""
    if isinstance(data, str):
        prefix = "data:image/png;base64,"
        if not data.startswith(prefix):
            raise RuleViolation(_("The customer must draw their signature (R26)."),
                                field="signature", rule="R26")
        try:
            data = base64.b64decode(data[len(prefix):], validate=True)
        except (binascii.Error, ValueError) as exc:
            raise RuleViolation(_("The customer must draw their signature (R26)."),
                                field="signature", rule="R26") from exc
    if len(data) > SIGNATURE_MAX_BYTES:
        raise RuleViolation(_("The signature image is too large."), field="signature",
                            rule="R26")
    not_drawn = RuleViolation(_("The customer must draw their signature (R26)."),
                              field="signature", rule="R26")
    try:
        with image_work(), Image.open(io.BytesIO(data)) as img:
            if img.format != "PNG":
                raise not_drawn
            refuse_too_many_pixels(img, signature=True, field="signature", rule="R26")
            img.load()
            rgba = img.convert("RGBA")
            # Stored re-encoded, like the photos: only the pixels are kept, not the
            # uploaded file's text chunks, EXIF (GPS) or bytes appended after its end.
            out = io.BytesIO()
            rgba.save(out, "PNG")
    except (RuleViolation, ImageBusy):
        raise
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError,
            Image.DecompressionBombError) as exc:
        raise not_drawn from exc
    white = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
    gray = Image.alpha_composite(white, rgba).convert("L")
    histogram = gray.histogram()
    if sum(histogram[:128]) < SIGNATURE_MIN_INK:
        raise RuleViolation(_("The signature is empty; the customer must sign with a finger "
                              "(R26)."), field="signature", rule="R26")
    return out.getvalue()


def ink_fingerprint(png: bytes) -> str:
    """R26: the drawing itself, whatever its encoding: ink on white, cropped to the ink,
    scaled to a fixed grid and thresholded, hashed. A signature copied from another order
    (byte for byte, or re-saved, re-scaled or padded) has the same fingerprint."""
    with Image.open(io.BytesIO(png)) as img:
        rgba = img.convert("RGBA")
    white = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
    gray = Image.alpha_composite(white, rgba).convert("L")
    ink = gray.point(lambda v: 255 if v < 128 else 0)
    box = ink.getbbox()
    if box is not None:
        ink = ink.crop(box)
    grid = ink.resize(FINGERPRINT_GRID, Image.Resampling.BOX).point(
        lambda v: 255 if v >= 64 else 0).convert("1")
    return hashlib.sha256(grid.tobytes()).hexdigest()


def signature_strokes(raw: Any) -> list[list[list[int]]]:
    """R26: the strokes the customer drew, as the signature pad records them: a JSON list
    of strokes, each a list of ``[x, y, ms]`` points (ms since the first touch). Refused
    when there is no stroke of two points or more: an image without the drawing's timing
    was not drawn on this screen."""
    no_strokes = RuleViolation(
        _("The signature was not drawn on this screen; the customer must sign with a finger "
          "(R26)."), field="signature", rule="R26")
    if isinstance(raw, str):
        if len(raw) > STROKES_MAX_CHARS:
            raise RuleViolation(_("The signature is too long; clear it and sign again."),
                                field="signature", rule="R26")
        try:
            raw = json.loads(raw) if raw.strip() else []
        except ValueError as exc:
            raise no_strokes from exc
    strokes: list[list[list[int]]] = []
    if not isinstance(raw, list):
        raise no_strokes
    for stroke in raw:
        if not isinstance(stroke, list):
            raise no_strokes
        points = []
        for point in stroke:
            if (not isinstance(point, list | tuple) or len(point) != 3 or not all(
                    isinstance(v, int | float) and not isinstance(v, bool) for v in point)):
                raise no_strokes
            points.append([round(point[0]), round(point[1]), round(point[2])])
        if points:
            strokes.append(points)
    if not any(len(points) >= 2 for points in strokes):
        raise no_strokes
    return strokes


def refuse_replayed(*, order: WorkOrder, sha256: str, fingerprint: str) -> None:
    """R26: a drawing already bound to another order is a copy, not the customer's hand:
    refused, whether or not the SMS code is required."""
    used = (Signature.objects.filter(Q(image_sha256=sha256) | Q(ink_hash=fingerprint))
            .exclude(order=order).select_related("order").first())
    if used is not None:
        raise RuleViolation(
            _("This signature is a copy of the one on order %(number)s. The customer must "
              "sign this order with their own finger (R26).") % {"number": used.order.number},
            field="signature", rule="R26")

