"""Sealing the customer's consent (R26): the one-time sign-off code kept only as an HMAC,
and the drawn signature checked to be a real drawing before it is bound to the order."""

from __future__ import annotations

import base64
import binascii
import io

from django.db.models import F
from django.utils.crypto import constant_time_compare, salted_hmac
from django.utils.translation import gettext as _
from PIL import Image, UnidentifiedImageError

from fieldops import clock

from .errors import RuleViolation
from .models import SignOffCode, WorkOrder

#: R26: a drawn signature is a small PNG; it must have at least this many inked pixels.
SIGNATURE_MAX_BYTES = 300_000
SIGNATURE_MIN_INK = 150
#: R26: the SMS sign-off code.
SIGN_OFF_CODE_MINUTES = 10
SIGN_OFF_CODE_MAX_TRIES = 5
SIGN_OFF_CODES_PER_HOUR = 5


def code_hmac(order: WorkOrder, code: str) -> str:
    return salted_hmac("workorders.SignOffCode", f"{order.pk}:{code.strip()}",
                       algorithm="sha256").hexdigest()


def check_code(order: WorkOrder, code: str) -> SignOffCode:
    """The pending code matching ``code``; a wrong try is counted (and kept, even though
    the caller's sign-off fails) and a few of them burn the code."""
    now = clock.now()
    row = (SignOffCode.objects.filter(order=order, used_at__isnull=True)
           .order_by("-created_at", "-id").first())
    if row is None or row.expires_at <= now:
        raise RuleViolation(_("The code has expired or was never sent; send a new one."),
                            field="code", rule="R26")
    if row.attempts >= SIGN_OFF_CODE_MAX_TRIES:
        raise RuleViolation(_("Too many wrong codes; send a new one."), field="code",
                            rule="R26")
    if not constant_time_compare(row.code_hash, code_hmac(order, code)):
        SignOffCode.objects.filter(pk=row.pk).update(attempts=F("attempts") + 1)
        raise RuleViolation(_("The code is not the one sent to the customer's phone."),
                            field="code", rule="R26")
    return row


def signature_png(data: str | bytes) -> bytes:
    """The drawn signature as PNG bytes (from the canvas's data URL), refused when it is
    not a PNG, too large, or (nearly) blank."""
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
    try:
        with Image.open(io.BytesIO(data)) as img:
            if img.format != "PNG" or img.width * img.height > 4_000_000:
                raise RuleViolation(_("The customer must draw their signature (R26)."),
                                    field="signature", rule="R26")
            img.load()
            rgba = img.convert("RGBA")
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as exc:
        raise RuleViolation(_("The customer must draw their signature (R26)."),
                            field="signature", rule="R26") from exc
    white = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
    gray = Image.alpha_composite(white, rgba).convert("L")
    histogram = gray.histogram()
    if sum(histogram[:128]) < SIGNATURE_MIN_INK:
        raise RuleViolation(_("The signature is empty; the customer must sign with a finger "
                              "(R26)."), field="signature", rule="R26")
    return data

