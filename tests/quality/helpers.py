"""Completed orders with crafted evidence for the inspection tests (R52): the check-in at a
chosen time and place, with a chosen photo, the customer's signature drawn at a chosen
pace, the completion a chosen number of minutes later; all through the real services."""

from __future__ import annotations

import datetime as dt
import io
import random
from typing import Any

import time_machine
from PIL import Image, ImageDraw

from demo.scenarios import demo_signature, finish_checklist
from planning.models import OrderLocation
from workorders import services
from workorders.models import CompletionReport, State, WorkOrder


def picture(seed: int) -> bytes:
    """A photo-like JPEG, different for every seed (shapes at random places)."""
    rng = random.Random(seed)
    img = Image.new("RGB", (640, 480), (rng.randint(0, 255), rng.randint(0, 255),
                                        rng.randint(0, 255)))
    draw = ImageDraw.Draw(img)
    for _ in range(12):
        x, y = rng.randint(0, 600), rng.randint(0, 440)
        draw.rectangle([x, y, x + rng.randint(40, 200), y + rng.randint(40, 200)],
                       fill=(rng.randint(0, 255), rng.randint(0, 255), rng.randint(0, 255)))
    out = io.BytesIO()
    img.save(out, format="JPEG", quality=90)
    return out.getvalue()


def strokes(total_ms: int, count: int = 1, points: int = 6) -> list[list[list[int]]]:
    """A signature's strokes drawn over ``total_ms`` milliseconds."""
    out = []
    step = total_ms / max(count * points - 1, 1)
    t = 0.0
    for s in range(count):
        stroke = []
        for i in range(points):
            stroke.append([20 + 40 * i, 20 + 30 * s + (i % 2) * 20, round(t)])
            t += step
        out.append(stroke)
    return out


def complete(make_order: Any, technician: Any, *, check_in_at: dt.datetime,
             minutes: float = 45, offset_m: tuple[float, float] = (0.0, 0.0),
             photo: bytes | None = None, signature_ms: int = 4000,
             signature_strokes: int = 2, seed: int | None = None, **intake: Any) -> WorkOrder:
    """An order completed by ``technician``: checked in at ``check_in_at``, ``offset_m``
    (north, east metres) from its address, with ``photo`` as the check-in photo; the
    customer's signature drawn in ``signature_ms``; completed ``minutes`` later."""
    with time_machine.travel(check_in_at - dt.timedelta(hours=2), tick=False):
        order = make_order(State.EN_ROUTE, technician=technician, **intake)
    user = technician.user
    place = OrderLocation.objects.get(order=order)
    lat = place.latitude + offset_m[0] / 111_320
    lon = place.longitude + offset_m[1] / 85_000  # about right at Beijing's latitude
    with time_machine.travel(check_in_at, tick=False):
        order = services.work_order_check_in(
            order=order, by=user, latitude=lat, longitude=lon,
            photo=io.BytesIO(photo) if photo is not None else None)
    done_at = check_in_at + dt.timedelta(minutes=minutes)
    with time_machine.travel(done_at - dt.timedelta(seconds=30), tick=False):
        services.work_order_save_report(order=order, by=user, work_done="ONU installed",
                                        download_mbps=500, onu_activated=True,
                                        fault_cause="line" if order.kind == "repair" else "")
        finish_checklist(order, user)
        drawing = demo_signature(seed if seed is not None else order.pk)
        services.work_order_customer_sign_off(
            order=order, by=user, signature=drawing["signature"],
            strokes=strokes(signature_ms, signature_strokes), signer_name="张伟", rating=5)
    with time_machine.travel(done_at, tick=False):
        order = WorkOrder.objects.get(pk=order.pk)
        report = CompletionReport.objects.get(order=order).as_dict()
        return services.work_order_complete(order=order, by=user, report=report)
