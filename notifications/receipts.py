"""Delivery receipts of sent SMS: the gateway's callback (``views``) or beat's pull
(``pull_due``) records on the outbox row whether the phone got the message. Recording is
idempotent: the first final receipt of a row wins, a repeated one changes nothing."""

from __future__ import annotations

import datetime as dt
import logging

from fieldops import clock

from .backends import SentSms, SmsReceipt, sms_backend
from .models import Channel, Delivery, Notification, Status

logger = logging.getLogger("fieldops.sms")

#: Receipts are asked for this long after a message went out (the gateways keep them
#: a few days; a phone that is off for longer gets no receipt).
PULL_WINDOW = dt.timedelta(days=2)


def _message_pk(message_id: str) -> int | None:
    prefix, _sep, pk = message_id.partition("-")
    return int(pk) if prefix == "fieldops" and pk.isdigit() else None


def record(receipt: SmsReceipt) -> bool:
    """Mark the SMS the receipt names delivered or not. True when a row changed; False for
    a repeated receipt or one of no message of ours."""
    waiting = Notification.objects.filter(channel=Channel.SMS, delivery=Delivery.UNKNOWN)
    values = {"delivery": Delivery.DELIVERED if receipt.delivered else Delivery.UNDELIVERED,
              "delivered_at": receipt.at or clock.now(),
              "delivery_error": receipt.error[:200]}
    # (Excluding the blank id says what the partial index ``notification_gateway`` holds.)
    if receipt.gateway_id and waiting.exclude(gateway_id="").filter(
            gateway_id=receipt.gateway_id).update(**values):
        return True
    # The gateway's id is stored right after the send returns; a receipt faster than that
    # still finds its row by our id, where the gateway echoes it (Alibaba Cloud's OutId).
    pk = _message_pk(receipt.message_id)
    if pk is not None and receipt.gateway_id:
        values["gateway_id"] = receipt.gateway_id
    return pk is not None and bool(waiting.filter(pk=pk).update(**values))


def record_all(receipts: list[SmsReceipt]) -> int:
    return sum(record(receipt) for receipt in receipts)


def pull_due(*, limit: int = 100) -> int:
    """Ask the gateway for the receipts of recent messages still without one (a backend
    with ``pull_receipts``; others have nothing to pull). Returns how many rows changed."""
    backend = sms_backend()
    pull = getattr(backend, "pull_receipts", None)
    if pull is None:
        return 0
    rows = (Notification.objects
            .filter(channel=Channel.SMS, status=Status.SENT, delivery=Delivery.UNKNOWN,
                    sent_at__gte=clock.now() - PULL_WINDOW)
            .exclude(gateway_id="").order_by("sent_at")
            .values_list("gateway_id", "address", "sent_at")[:limit])
    sent = [SentSms(gateway_id=gid, to=to, sent_at=at) for gid, to, at in rows
            if at is not None]
    changed = record_all(pull(sent=sent))
    if changed:
        logger.info("%s SMS receipts recorded", changed)
    return changed
