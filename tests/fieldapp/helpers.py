"""Shared by the technician, appointment and browser tests: images, logins, walking an
order through the visit with the real services."""

from __future__ import annotations

import base64
import datetime as dt
import io
import itertools
import json
import random
from typing import Any

from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image, ImageDraw

from demo.scenarios import finish_checklist, make_safe
from fieldops import clock
from workorders import services
from workorders.models import WorkOrder


def jpeg(width: int = 800, height: int = 600, *, exif_gps: bool = False) -> bytes:
    img = Image.new("RGB", (width, height), (30, 120, 200))
    ImageDraw.Draw(img).rectangle([10, 10, width // 2, height // 2], fill=(250, 250, 250))
    out = io.BytesIO()
    kwargs: dict[str, Any] = {}
    if exif_gps:
        exif = Image.Exif()
        exif[0x010F] = "PhoneMaker"  # Make
        exif[0x0112] = 6  # Orientation: rotate 90° to show upright
        kwargs["exif"] = exif.tobytes()
    img.save(out, "JPEG", quality=85, **kwargs)
    return out.getvalue()


def upload(content: bytes | None = None, name: str = "photo.jpg",
           content_type: str = "image/jpeg") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, content if content is not None else jpeg(),
                              content_type=content_type)


_drawings = itertools.count(1)


def signature_png(*, blank: bool = False, seed: int | None = None) -> str:
    """A canvas-like data URL: transparent background, black strokes; a different drawing
    on every call unless ``seed`` is given (R26 refuses a drawing used on another order)."""
    img = Image.new("RGBA", (360, 200), (0, 0, 0, 0))
    if not blank:
        rng = random.Random(next(_drawings) if seed is None else seed)
        draw = ImageDraw.Draw(img)
        draw.line([(20 + 62 * i + rng.randint(0, 40), rng.randint(30, 170)) for i in range(5)],
                  fill="black", width=4)
    out = io.BytesIO()
    img.save(out, "PNG")
    return "data:image/png;base64," + base64.b64encode(out.getvalue()).decode()


def on_site_with_report(order: WorkOrder, *, checklist: bool = True,
                        **report: Any) -> WorkOrder:
    """An on-site order with a photo and a saved report (ready for the customer): with
    ``checklist``, the policy's required steps done too (R43, R44, R48, R49)."""
    user = order.technician.user
    services.work_order_add_photo(order=order, by=user, image=upload(), kind="speed_test")
    fields = {"work_done": "安装光猫并测速 ONU installed", "download_mbps": 480,
              "upload_mbps": 45, "onu_activated": True}
    if order.kind == "repair":
        fields["fault_cause"] = "line"
    fields.update(report)
    if checklist:
        make_safe(order, user)  # R49: at height, the second person before the report
    services.work_order_save_report(order=order, by=user, **fields)
    if checklist:
        finish_checklist(order, user)
    return WorkOrder.objects.get(pk=order.pk)


def in_hours(hours: float) -> dt.datetime:
    """A whole-minute time ``hours`` from now."""
    return (clock.now() + dt.timedelta(hours=hours)).replace(second=0, microsecond=0)


#: R26: the strokes the signature pad sends with the drawing ([x, y, ms]).
STROKES = [[[20, 150, 0], [80, 40, 120], [140, 160, 260]], [[220, 50, 900], [330, 140, 1100]]]
STROKES_JSON = json.dumps(STROKES)
