"""The survey's signed link (no login), one per survey round (R29, R32).

Same pattern as the appointment links (``appointments.links``): the token is
``django.core.signing`` output (HMAC under SECRET_KEY, with a timestamp) naming a
``Survey`` row and its nonce. A changed character is refused (tampered), an old one is
refused (expired: the row's ``expires_at``), an answered survey refuses its link (used),
and a token signed for another purpose (an appointment link) is refused too: it was
signed with another salt.
"""

from __future__ import annotations

import datetime as dt
import secrets

from django.conf import settings
from django.core import signing
from django.urls import reverse
from django.utils.translation import gettext as _

from fieldops import clock

from .models import Survey, SurveyStatus

SALT = "surveys.survey-link"


class LinkError(Exception):
    """Why a link can't be used; ``message`` is shown to the customer."""

    code = "invalid"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class LinkInvalid(LinkError):
    code = "invalid"


class LinkExpired(LinkError):
    code = "expired"


class LinkUsed(LinkError):
    code = "used"


def max_age() -> dt.timedelta:
    """How long a link works after its SMS went out."""
    return dt.timedelta(hours=settings.SURVEY_LINK_MAX_AGE_HOURS)


def new_nonce() -> str:
    return secrets.token_hex(12)


def token_for(survey: Survey) -> str:
    return signing.TimestampSigner(salt=SALT).sign(f"{survey.pk}.{survey.nonce}")


def absolute_url(survey: Survey) -> str:
    return settings.PUBLIC_URL + reverse("survey:answer", args=[token_for(survey)])


def _invalid() -> LinkInvalid:
    return LinkInvalid(_("This link is not valid. Check that the whole address from the SMS "
                         "was opened."))


def _expired() -> LinkExpired:
    return LinkExpired(_("This survey link has expired. Thank you all the same: our "
                         "call-centre may call you to ask."))


def already_used() -> LinkUsed:
    return LinkUsed(_("This survey was already answered. Thank you: your answer has been "
                      "recorded."))


def resolve(token: str, *, for_use: bool = False) -> Survey:
    """The survey named by ``token``, or ``LinkError``. With ``for_use`` it must still be
    waiting for an answer."""
    signer = signing.TimestampSigner(salt=SALT)
    try:
        # The signature's own age bound is a backstop; ``expires_at`` decides (the SMS may
        # have waited for the end of the quiet hours before it went out).
        value = signer.unsign(token, max_age=max_age() + dt.timedelta(days=2))
    except signing.SignatureExpired as exc:
        raise _expired() from exc
    except signing.BadSignature as exc:
        raise _invalid() from exc
    pk, _sep, nonce = value.partition(".")
    survey = (Survey.objects.select_related("order__technician__user", "order__customer")
              .filter(pk=int(pk) if pk.isdigit() else 0, nonce=nonce).first())
    if survey is None:
        raise _invalid()
    if survey.status == SurveyStatus.ANSWERED:
        if for_use:
            raise already_used()
        return survey
    if survey.status == SurveyStatus.SUPERSEDED:
        raise LinkExpired(_("This survey is no longer open; use the link in the newest SMS."))
    if clock.now() >= survey.expires_at:
        raise _expired()
    return survey
