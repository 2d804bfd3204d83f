"""Delivery backends, one small interface per channel.

An SMS backend is a class with ``send(*, to: str, text: str, message_id: str)`` that raises
on failure (``PermanentSmsError`` when trying again can't help: the row fails at once;
anything else is retried with backoff). ``message_id`` is stable per notification, so a
gateway that de-duplicates on it never sends a retried message twice. It may return the
gateway's id of the message, which delivery receipts name. A gateway that sends only
approved templates also has ``send_template(*, to, kind, params, text, message_id)`` and
is called with that instead (``templates``; ``aliyun`` and ``tencent`` are two). Choose
one with ``SMS_BACKEND`` (dotted path); real gateways plug in the same way.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from django.conf import settings
from django.utils.module_loading import import_string

from fieldops import clock

logger = logging.getLogger("fieldops.sms")


class SmsBackend(Protocol):
    def send(self, *, to: str, text: str, message_id: str) -> str | None: ...


class PermanentSmsError(Exception):
    """The gateway refused this message for good (an invalid or blocked number, a text it
    will never accept): retrying can't help, so the outbox row fails at once."""


@dataclass(frozen=True)
class SmsReceipt:
    """A gateway's delivery receipt: which message (the gateway's id, or our
    ``message_id`` where the gateway echoes it), whether the phone got it, and when."""

    gateway_id: str
    delivered: bool
    at: dt.datetime | None
    error: str = ""
    message_id: str = ""


@dataclass(frozen=True)
class SentSms:
    """A sent SMS still waiting for its receipt (what a gateway that is asked message by
    message needs to find it)."""

    gateway_id: str
    to: str
    sent_at: dt.datetime


class ConsoleSmsBackend:
    """Logs each message (development)."""

    #: Nothing leaves this machine (the demo lets such messages through, see ``demo.sandbox``).
    stays_here = True

    def send(self, *, to: str, text: str, message_id: str) -> None:
        logger.info("SMS %s to %s: %s", message_id, to, text)


class FileSmsBackend:
    """Appends each message as a JSON line to ``SMS_FILE_PATH`` (the embedded default)."""

    stays_here = True

    def send(self, *, to: str, text: str, message_id: str) -> None:
        path = Path(settings.SMS_FILE_PATH)
        path.parent.mkdir(parents=True, exist_ok=True)
        line = {"at": clock.now().isoformat(), "id": message_id, "to": to, "text": text}
        with path.open("a", encoding="utf-8") as f:
            f.write(json.dumps(line, ensure_ascii=False) + "\n")


#: Messages "sent" by ``LocmemSmsBackend`` (tests read them, like Django's mail.outbox).
outbox: list[dict[str, str]] = []


class LocmemSmsBackend:
    stays_here = True

    def send(self, *, to: str, text: str, message_id: str) -> None:
        outbox.append({"to": to, "text": text, "id": message_id})


def sms_backend() -> SmsBackend:
    return import_string(settings.SMS_BACKEND)()


def sms_stays_here() -> bool:
    """True when the configured SMS backend only writes on this machine (a log, a file,
    memory): no text can reach a real phone. A gateway class does not say so."""
    return bool(getattr(import_string(settings.SMS_BACKEND), "stays_here", False))


#: Senders of the channels whose code lives above this app (the call-centre API registers
#: ``webhook`` in its ``AppConfig.ready()``): channel -> ``send(notification)``, raising on
#: failure like a backend.
_senders: dict[str, Callable[[Any], None]] = {}


def register_channel(channel: str, send: Callable[[Any], None]) -> None:
    _senders[channel] = send


def channel_sender(channel: str) -> Callable[[Any], None] | None:
    return _senders.get(channel)
