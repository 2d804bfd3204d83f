"""Quality listens (``fieldops.bus``): every visit photo gets its perceptual fingerprint as
it is uploaded (R52), so the day's search for reused photos is index lookups only; and
where each of the technician's steps and each survey answered through the customer's link
came from (``fieldops.origin``: keyed hashes of the network, device and browser) is kept,
so that a survey answered from the technician's own device or network is found (R52)."""

from __future__ import annotations

import logging
from typing import Any

from PIL import Image

from fieldops import bus, origin
from surveys.models import AnswerChannel
from technicians.models import Technician
from workorders.events import OrderAction, OrderEvent
from workorders.models import Photo

from . import phash
from .models import PhotoHash, RequestOrigin
from .sampling import signal_late

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


def _technician_of(user: Any) -> int | None:
    """The user's technician id, read once per user object (a request's many events, e.g.
    a dispatcher's bulk action, cost one query)."""
    memo = getattr(user, "_quality_technician", False)
    if memo is False:
        memo = (Technician.objects.filter(user_id=user.pk).values_list("pk", flat=True)
                .first())
        user._quality_technician = memo
    return memo


def request_origin(event: OrderEvent) -> None:
    """Keep where the step or the survey answer came from (R52): an answer through the
    customer's link (no actor, the ``sms`` channel) with its survey, or a step the order's
    technician did (online, or replayed from the phone: then at the phone's time). Only
    inside a request; nothing is kept of the raw address, User-Agent or cookie. An answer
    matching the technician's origins is signalled at once (``sampling.signal_late``)
    where the completion's day was already sampled."""
    seen = origin.current()
    if seen is None or not (seen.network or seen.device):
        return
    payload = event.payload or {}
    order = event.order
    if event.actor is None:
        if payload.get("channel") != AnswerChannel.SMS or not payload.get("survey"):
            return
        row = RequestOrigin(order_id=order.pk, technician_id=order.technician_id,
                            survey_id=int(payload["survey"]), round=int(payload.get("round", 0)),
                            action=event.action, at=event.at, network=seen.network,
                            device=seen.device, browser=seen.browser)
        RequestOrigin.objects.bulk_create([row], ignore_conflicts=True)
        signal_late(order.pk, round=row.round)
        return
    if order.technician_id is None:
        return
    technician = _technician_of(event.actor)
    if technician is None or technician != order.technician_id:
        return
    RequestOrigin.objects.create(order_id=order.pk, technician_id=technician, survey=None,
                                 action=event.action, at=event.at, network=seen.network,
                                 device=seen.device, browser=seen.browser)


def register() -> None:
    bus.subscribe(OrderEvent, photo_uploaded)
    bus.subscribe(OrderEvent, request_origin)
