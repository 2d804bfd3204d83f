"""The customer's signed links (no login), shared by the booking links
(``appointments.links``) and the survey links (``surveys.links``).

A token is ``django.core.signing`` output (HMAC under SECRET_KEY, with a timestamp) naming
one row by its id and nonce: a changed character is refused (tampered), an old token is
refused (expired), and a token signed for another purpose is refused because each kind of
link signs with its own salt. The row makes a link single-use and lets its owner refuse it
later; those checks stay with each kind."""

from __future__ import annotations

import datetime as dt
import re

from django.core import signing
from django.urls import reverse


class LinkError(Exception):
    """Why a link can't be used; ``message`` is shown to the customer."""

    code = "invalid"
    #: The HTTP status the customer's page answers with.
    status = 404

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class LinkInvalid(LinkError):
    code = "invalid"


class LinkExpired(LinkError):
    code = "expired"
    status = 410


class LinkUsed(LinkError):
    code = "used"
    status = 409


class LinkSuperseded(LinkError):
    """A newer link replaced this one (the booking it names was moved)."""

    code = "superseded"
    status = 410


def sign(salt: str, pk: int, nonce: str) -> str:
    """The token naming row ``pk`` with its ``nonce``."""
    return signing.TimestampSigner(salt=salt).sign(f"{pk}.{nonce}")


def unsign(salt: str, token: str, *, max_age: dt.timedelta, invalid: str,
           expired: str) -> tuple[int, str]:
    """The (row id, nonce) a token names; ``LinkInvalid`` (with the message ``invalid``)
    for a tampered or foreign token, ``LinkExpired`` (``expired``) for an old one. The id
    is 0 when the signed value holds none (no row has it)."""
    try:
        value = signing.TimestampSigner(salt=salt).unsign(token, max_age=max_age)
    except signing.SignatureExpired as exc:
        raise LinkExpired(expired) from exc
    except signing.BadSignature as exc:
        raise LinkInvalid(invalid) from exc
    pk, _sep, nonce = value.partition(".")
    return (int(pk) if pk.isdigit() else 0), nonce


#: The URL names of the customer's signed pages: the booking, the survey, the copy of the
#: signed report, payment and receipt (R47), the question after an outage's repair (R54).
LINK_VIEWS = ("customer:appointment", "survey:answer", "report:copy", "pay:page",
              "pay:receipt", "outage:answer")


def mask_links(text: str) -> str:
    """``text`` with the token of every customer link cut out (``/c/…/``), for staff
    screens that show what was sent to a customer: the link acts as the customer, so
    staff must not be able to open it from there (R29, R40)."""
    for name in LINK_VIEWS:
        prefix = reverse(name, args=["-"])[:-2]
        text = re.sub(re.escape(prefix) + r"[^/\s]+/", prefix + "…/", text)
    return text
