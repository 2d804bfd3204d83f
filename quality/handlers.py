"""Quality listens (``fieldops.bus``): every visit photo R52 compares gets a pending
fingerprint row in the upload's transaction and a job, queued through the task outbox,
that hashes it after the answer has gone (``fingerprints``), so the day's search for
reused photos stays index lookups; and where each of the technician's steps and each
survey answered through the customer's link came from (``fieldops.origin``: keyed hashes
of the network, device and browser) is kept, so that a survey answered from the
technician's own device or network, or recorded by the technician themself, is found
(R52)."""

from __future__ import annotations

from typing import Any

from fieldops import bus, origin, outbox
from surveys.models import AnswerChannel
from technicians.models import Technician
from workorders.events import OrderAction, OrderEvent
from workorders.models import Photo

from . import fingerprints
from .models import RequestOrigin
from .sampling import signal_late
from .tasks import fingerprint_photo


def photo_uploaded(event: OrderEvent) -> None:
    if event.action not in (OrderAction.ADD_PHOTO, OrderAction.CHECK_IN):
        return
    photo_id = event.payload.get("photo")
    if not photo_id:
        return
    # The photo's row was written with the event's time as its upload time (the same
    # ``now`` in ``work_order_check_in`` and ``work_order_add_photo``).
    kind = (Photo.Kind.CHECK_IN if event.action == OrderAction.CHECK_IN
            else str(event.payload.get("kind") or ""))
    if fingerprints.pending_row(int(photo_id), order_id=event.order.pk, kind=kind,
                                uploaded_at=event.at) is not None:
        outbox.send_after_commit(fingerprint_photo, int(photo_id))


def _technician_of(user: Any) -> int | None:
    """The user's technician id, through the user's own cached ``technician`` (read once
    per user object: the technician pages have read it already, and a dispatcher's bulk
    action's many events cost one query)."""
    try:
        return user.technician.pk
    except Technician.DoesNotExist:
        return None


def request_origin(event: OrderEvent) -> None:
    """Keep where the step or the survey answer came from (R52): an answer through the
    customer's link (no actor, the ``sms`` channel) with its survey; an answer recorded by
    a call-centre agent (``callback``) or an API client (``api``) with its survey; or a
    step the order's technician did (online, or replayed from the phone: then at the
    phone's time). Only inside a request; nothing is kept of the raw address, User-Agent
    or cookie. An answer matching the technician's origins is signalled at once
    (``sampling.signal_late``) where the completion's day was already sampled.

    A recorded answer (callback, API) keeps no network: the agent types what the customer
    said on the phone from the call-centre's office, and an API client is the call-centre's
    server, so the network says where the agent or the server sits, a network technicians
    share too (the depot's Wi-Fi), and nothing of who answered. What is compared for them
    (``suspicion.survey_origins``): the recording user being the order's own technician,
    and the device cookie of the technician's phone (the answer typed on that phone)."""
    seen = origin.current()
    payload = event.payload or {}
    order = event.order
    channel = payload.get("channel")
    if payload.get("survey") and channel in (AnswerChannel.CALLBACK, AnswerChannel.API):
        if event.actor is None:
            return
        # Kept also outside a request (no hashes then): the recording user, read from the
        # survey's ``answered_by`` when compared, may be the order's technician anyway.
        _answer_row(event, seen or origin.Origin("", "", ""), network="")
        return
    if seen is None or not (seen.network or seen.device):
        return
    if event.actor is None:
        if channel != AnswerChannel.SMS or not payload.get("survey"):
            return
        _answer_row(event, seen, network=seen.network)
        return
    if order.technician_id is None:
        return
    technician = _technician_of(event.actor)
    if technician is None or technician != order.technician_id:
        return
    RequestOrigin.objects.create(order_id=order.pk, technician_id=technician, survey=None,
                                 action=event.action, at=event.at, network=seen.network,
                                 device=seen.device, browser=seen.browser)


def _answer_row(event: OrderEvent, seen: origin.Origin, *, network: str) -> None:
    payload = event.payload or {}
    order = event.order
    row = RequestOrigin(order_id=order.pk, technician_id=order.technician_id,
                        survey_id=int(payload["survey"]), round=int(payload.get("round", 0)),
                        action=event.action, at=event.at, network=network,
                        device=seen.device, browser=seen.browser)
    RequestOrigin.objects.bulk_create([row], ignore_conflicts=True)
    signal_late(order.pk, round=row.round)


def register() -> None:
    bus.subscribe(OrderEvent, photo_uploaded)
    bus.subscribe(OrderEvent, request_origin)
