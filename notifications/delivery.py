"""Sending what the outbox holds: claim a due row, send it through its channel, record the
result (retry with backoff, or failed for good). ``services`` writes the rows; the Celery
tasks in ``tasks`` call this module."""

from __future__ import annotations

import datetime as dt
import logging

from django.conf import settings
from django.core.mail import send_mail
from django.db.models import F

from fieldops import clock

from .backends import PermanentSmsError, channel_sender, sms_backend
from .models import Channel, Notification, Status

logger = logging.getLogger(__name__)

#: Seconds to wait before retry n (1-based); the last entry repeats until MAX_ATTEMPTS.
BACKOFF = (30, 120, 600, 1800, 3600)
MAX_ATTEMPTS = 8
#: A claimed row is invisible to other deliverers for this long (a crashed worker's
#: claim expires and the row is retried).
LEASE = dt.timedelta(minutes=2)

def _claim(note_id: int) -> Notification | None:
    """Compare-and-swap: take the row only if it is pending and due, and push its due time
    forward by the lease so no other deliverer takes it meanwhile."""
    now = clock.now()
    claimed = Notification.objects.filter(
        pk=note_id, status=Status.PENDING, next_attempt_at__lte=now,
    ).update(next_attempt_at=now + LEASE, attempts=F("attempts") + 1)
    if not claimed:
        return None
    return Notification.objects.get(pk=note_id)


def _send(note: Notification) -> str | None:
    """Send through the row's channel; returns the gateway's id of the message, if any."""
    if note.channel == Channel.SMS:
        backend = sms_backend()
        message_id = f"fieldops-{note.pk}"
        send_template = getattr(backend, "send_template", None)
        if send_template is not None:  # a gateway of approved templates (backends.templates)
            return send_template(to=note.address, kind=note.kind, params=note.params or {},
                                 text=note.body, message_id=message_id)
        return backend.send(to=note.address, text=note.body, message_id=message_id)
    elif note.channel == Channel.EMAIL:
        if not note.address:
            raise ValueError("no email address")
        send_mail(note.subject or note.kind, note.body, settings.DEFAULT_FROM_EMAIL,
                  [note.address])
    else:
        sender = channel_sender(note.channel)
        if sender is None:
            raise ValueError(f"no sender registered for channel {note.channel!r}")
        sender(note)
    return None


def deliver(note_id: int) -> str:
    """Send one notification if it is still due. Returns what happened ("sent", "retry",
    "failed" or "skipped"); running it again for a sent row does nothing. A refusal for good
    (``PermanentSmsError``: an invalid number...) fails the row at once."""
    note = _claim(note_id)
    if note is None:
        return "skipped"
    try:
        gateway_id = _send(note)
    except Exception as exc:
        now = clock.now()
        if note.attempts >= MAX_ATTEMPTS or isinstance(exc, PermanentSmsError):
            Notification.objects.filter(pk=note.pk).update(status=Status.FAILED,
                                                           last_error=str(exc)[:2000])
            logger.error("notification %s failed for good: %s", note.pk, exc)
            return "failed"
        delay = BACKOFF[min(note.attempts, len(BACKOFF)) - 1]
        Notification.objects.filter(pk=note.pk).update(
            next_attempt_at=now + dt.timedelta(seconds=delay), last_error=str(exc)[:2000])
        return "retry"
    Notification.objects.filter(pk=note.pk).update(
        status=Status.SENT, sent_at=clock.now(), last_error="",
        gateway_id=gateway_id[:64] if isinstance(gateway_id, str) else "")
    return "sent"


def flush_due(*, limit: int = 500) -> int:
    """Deliver every pending notification that is due (after a broker outage, a crash, or a
    backoff). Returns how many were sent."""
    due = list(Notification.objects.filter(status=Status.PENDING,
                                           next_attempt_at__lte=clock.now())
               .order_by("next_attempt_at").values_list("pk", flat=True)[:limit])
    return sum(deliver(pk) == "sent" for pk in due)
