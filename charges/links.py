"""The customer's signed links for charges (R47), no login: the payment page of the demo
backend (``/pay/<token>/``) and the receipt (``/rc/<token>/``; ``/r/`` is the copy of
the signed report, ``reports.links``).

Tokens as the booking and survey links (``fieldops.signed_links``): HMAC under SECRET_KEY
with a timestamp, naming one ``Payment`` by its id and nonce, each kind with its own salt,
so a payment link is no receipt link and a changed character is refused."""

from __future__ import annotations

import datetime as dt
import secrets

from django.conf import settings
from django.urls import reverse
from django.utils.translation import gettext as _

from fieldops.signed_links import LinkError, LinkExpired, LinkInvalid, sign, unsign

from .models import Payment, PaymentStatus

PAY_SALT = "charges.payment-link"
RECEIPT_SALT = "charges.receipt-link"
#: A QR code is scanned there and then; a receipt is kept.
PAY_MAX_AGE = dt.timedelta(hours=24)
RECEIPT_MAX_AGE = dt.timedelta(days=400)

__all__ = ["LinkError", "pay_url", "receipt_token", "receipt_url", "resolve_payment",
           "resolve_receipt"]


def new_nonce() -> str:
    return secrets.token_hex(12)


def pay_url(payment: Payment) -> str:
    return settings.PUBLIC_URL + reverse("pay:page", args=[sign(PAY_SALT, payment.pk,
                                                                 payment.nonce)])


def receipt_token(payment: Payment) -> str:
    return sign(RECEIPT_SALT, payment.pk, payment.nonce)


def receipt_url(payment: Payment) -> str:
    return settings.PUBLIC_URL + reverse("pay:receipt", args=[receipt_token(payment)])


def _invalid() -> str:
    return _("This link is not valid. Check that the whole address was opened.")


def _find(salt: str, token: str, max_age: dt.timedelta, expired: str) -> Payment:
    pk, nonce = unsign(salt, token, max_age=max_age, invalid=_invalid(), expired=expired)
    payment = (Payment.objects.select_related("order", "order__technician__user")
               .filter(pk=pk, nonce=nonce).first())
    if payment is None:
        raise LinkInvalid(_invalid())
    return payment


def resolve_payment(token: str) -> Payment:
    """The payment a QR code names; a replaced one (the amount changed) is refused."""
    payment = _find(PAY_SALT, token, PAY_MAX_AGE,
                    _("This payment code has expired; ask the technician for a new one."))
    if payment.status == PaymentStatus.CANCELLED:
        raise LinkExpired(_("The amount changed after this code was shown; scan the new "
                            "code on the technician's phone."))
    return payment


def resolve_receipt(token: str) -> Payment:
    payment = _find(RECEIPT_SALT, token, RECEIPT_MAX_AGE,
                    _("This receipt link has expired; the call-centre can send it again."))
    if payment.status != PaymentStatus.PAID:
        raise LinkInvalid(_invalid())
    return payment
