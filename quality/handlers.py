"""Quality listens (``fieldops.bus``): every visit photo R52 compares gets a pending
fingerprint row in the upload's transaction and a job, queued through the task outbox,
that hashes it after the answer has gone (``fingerprints``); the day's search for reused
photos stays index lookups."""

from __future__ import annotations

from fieldops import bus, outbox
from workorders.events import OrderAction, OrderEvent
from workorders.models import Photo

from . import fingerprints
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


def register() -> None:
    bus.subscribe(OrderEvent, photo_uploaded)
