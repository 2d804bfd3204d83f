"""The customer's signed link to their copy of the signed report (``/r/<token>/``).

The token (``fieldops.signed_links``, as the booking and survey links) names a
``Signature`` by its id with a nonce derived from the signature itself (an HMAC of its id
and time under the server's key), so no row is needed and a guessed id is refused. It is
signed with its own salt: a booking or survey token is refused here. The copy only shows
(it never acts), so the link is not single-use; it expires after
``REPORT_LINK_MAX_AGE_DAYS`` (410)."""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.urls import reverse
from django.utils.crypto import constant_time_compare, salted_hmac
from django.utils.translation import gettext as _

from fieldops.signed_links import LinkError, LinkExpired, LinkInvalid, sign, unsign
from workorders.models import Signature

SALT = "reports.signed-report-link"
__all__ = ["LinkError", "LinkExpired", "LinkInvalid", "absolute_url", "max_age", "pdf_url",
           "resolve", "token_for"]


def max_age() -> dt.timedelta:
    return dt.timedelta(days=settings.REPORT_LINK_MAX_AGE_DAYS)


def _nonce(signature: Signature) -> str:
    moment = round(signature.signed_at.timestamp() * 1_000_000)
    return salted_hmac(SALT, f"{signature.pk}|{moment}", algorithm="sha256").hexdigest()[:16]


def token_for(signature: Signature) -> str:
    return sign(SALT, signature.pk, _nonce(signature))


def absolute_url(signature: Signature) -> str:
    """The address texted to the customer."""
    return settings.PUBLIC_URL + reverse("report:copy", args=[token_for(signature)])


def pdf_url(token: str) -> str:
    return reverse("report:pdf", args=[token])


def _invalid_text() -> str:
    return _("This link is not valid. Check that the whole address from the SMS was opened.")


def resolve(token: str) -> Signature:
    """The signature named by ``token``, or ``LinkError`` (404 tampered or unknown, 410
    expired)."""
    pk, nonce = unsign(SALT, token, max_age=max_age(), invalid=_invalid_text(),
                       expired=_("This link has expired. Call us and we will send your "
                                 "report again."))
    signature = (Signature.objects.select_related("order__technician", "order__report")
                 .filter(pk=pk).first())
    if signature is None or not constant_time_compare(nonce, _nonce(signature)):
        raise LinkInvalid(_invalid_text())
    return signature
