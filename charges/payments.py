"""Payment backends (R47): the customer pays by QR code shown on the technician's phone.

``PAYMENT_BACKEND`` (a dotted path) names a class with this interface:

- ``create(payment) -> PaymentRequest``: ask the provider for a payment of
  ``payment.amount`` under ``payment.reference``; the answer's ``qr_payload`` is what the
  QR code holds (a URL), ``provider_ref`` the provider's own id if it gives one then;
- ``verify_callback(body, headers) -> Confirmation``: check that a callback really comes
  from the provider (its signature) and read which payment was paid, how much and when;
  raise ``BadCallback`` otherwise. The confirmation's ``paid_at`` is the provider's
  time of payment: the receipt's time.

``DemoPayments`` (the default) needs no provider: the QR code links to a signed customer
page (``/pay/<token>/``) where the customer confirms and the payment is marked paid at that
moment. ``SignedCallbackPayments`` is the generic shape of a real provider: a payment page
at ``PAYMENT_PROVIDER_URL`` and callbacks to ``/pay/callback/`` signed with HMAC-SHA256
under ``PAYMENT_CALLBACK_SECRET``. WeChat Pay and Alipay adapters are classes of the same
interface whose ``verify_callback`` checks their own signatures (docs/charges.md).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any, Protocol
from urllib.parse import urlencode

from django.conf import settings
from django.utils.module_loading import import_string

from fieldops import clock

from . import links
from .models import Payment

#: A callback signed longer ago than this is refused (a replayed old message).
CALLBACK_MAX_SKEW = dt.timedelta(minutes=5)


@dataclass(frozen=True)
class PaymentRequest:
    qr_payload: str
    provider_ref: str = ""


@dataclass(frozen=True)
class Confirmation:
    reference: str
    amount: Decimal
    paid_at: dt.datetime
    provider_ref: str = ""


class BadCallback(Exception):
    """A callback that can't be trusted or read; ``message`` says why (for the log and the
    provider's answer, never shown to a customer)."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class PaymentBackend(Protocol):
    name: str

    def create(self, payment: Payment) -> PaymentRequest: ...

    def verify_callback(self, body: bytes, headers: Mapping[str, str]) -> Confirmation: ...


def backend() -> PaymentBackend:
    path = getattr(settings, "PAYMENT_BACKEND", "") or "charges.payments.DemoPayments"
    found: PaymentBackend = import_string(path)()
    return found


def sign_callback(body: bytes, timestamp: str, secret: str) -> str:
    """The signature a provider puts in ``X-Payment-Signature``: hex HMAC-SHA256 of
    ``<timestamp>.<body>`` under the shared secret."""
    message = timestamp.encode() + b"." + body
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


class SignedCallbackPayments:
    """A provider with a hosted payment page and HMAC-signed callbacks (JSON body:
    ``reference``, ``amount`` as text, ``paid_at`` ISO 8601 with its zone,
    ``transaction``)."""

    name = "signed"

    def secret(self) -> str:
        secret = getattr(settings, "PAYMENT_CALLBACK_SECRET", "")
        if not secret:
            raise BadCallback("PAYMENT_CALLBACK_SECRET is not set; no callback is trusted")
        return str(secret)

    def create(self, payment: Payment) -> PaymentRequest:
        query = urlencode({"reference": payment.reference, "amount": str(payment.amount)})
        return PaymentRequest(qr_payload=f"{settings.PAYMENT_PROVIDER_URL}?{query}")

    def verify_callback(self, body: bytes, headers: Mapping[str, str]) -> Confirmation:
        given = headers.get("X-Payment-Signature", "")
        timestamp = headers.get("X-Payment-Timestamp", "")
        if not given or not timestamp.isdigit():
            raise BadCallback("the callback is not signed")
        expected = sign_callback(body, timestamp, self.secret())
        if not hmac.compare_digest(given.strip().lower(), expected):
            raise BadCallback("the callback's signature does not match")
        sent = dt.datetime.fromtimestamp(int(timestamp), tz=dt.UTC)
        if abs(clock.now() - sent) > CALLBACK_MAX_SKEW:
            raise BadCallback("the callback's timestamp is too far from now (a replay?)")
        try:
            data: Any = json.loads(body)
            reference = str(data["reference"])
            amount = Decimal(str(data["amount"]))
            paid_at = dt.datetime.fromisoformat(str(data["paid_at"]))
        except (ValueError, KeyError, TypeError, InvalidOperation):
            raise BadCallback("the callback's body is not a payment confirmation") from None
        if paid_at.tzinfo is None:
            raise BadCallback("the callback's paid_at has no time zone")
        return Confirmation(reference=reference, amount=amount, paid_at=paid_at,
                            provider_ref=str(data.get("transaction", ""))[:100])


class DemoPayments(SignedCallbackPayments):
    """The demo: the QR code opens the customer's signed payment page on this site, where
    the customer confirms; signed callbacks are accepted as by a real provider."""

    name = "demo"

    def create(self, payment: Payment) -> PaymentRequest:
        return PaymentRequest(qr_payload=links.pay_url(payment))
