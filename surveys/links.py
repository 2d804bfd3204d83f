"""The survey's signed link (no login), one per survey round (R29, R32).

The token (``fieldops.signed_links``, as the appointment links) names a ``Survey`` row
and its nonce. A changed character is refused (tampered), an old one is refused
(expired: the row's ``expires_at``), an answered survey refuses its link (used), and a
token signed for another purpose (an appointment link) is refused too: it was signed with
another salt.
"""

from __future__ import annotations

import datetime as dt
import secrets

from django.conf import settings
from django.urls import reverse
from django.utils.translation import gettext as _

from fieldops import clock
from fieldops.signed_links import LinkError, LinkExpired, LinkInvalid, LinkUsed, sign, unsign

from .models import Survey, SurveyStatus

SALT = "surveys.survey-link"
__all__ = ["LinkError", "LinkExpired", "LinkInvalid", "LinkUsed", "absolute_url", "already_used",
           "max_age", "new_nonce", "resolve", "token_for"]


def max_age() -> dt.timedelta:
    """How long a link works after its SMS went out."""
    return dt.timedelta(hours=settings.SURVEY_LINK_MAX_AGE_HOURS)


def new_nonce() -> str:
    return secrets.token_hex(12)


def token_for(survey: Survey) -> str:
    return sign(SALT, survey.pk, survey.nonce)


def absolute_url(survey: Survey) -> str:
    return settings.PUBLIC_URL + reverse("survey:answer", args=[token_for(survey)])


def _invalid_text() -> str:
    return _("This link is not valid. Check that the whole address from the SMS was opened.")


def _expired_text() -> str:
    return _("This survey link has expired. Thank you all the same: our call-centre may "
             "call you to ask.")


def already_used() -> LinkUsed:
    return LinkUsed(_("This survey was already answered. Thank you: your answer has been "
                      "recorded."))


def resolve(token: str, *, for_use: bool = False) -> Survey:
    """The survey named by ``token``, or ``LinkError``. With ``for_use`` it must still be
    waiting for an answer."""
    # The signature's own age bound is a backstop; ``expires_at`` decides (the SMS may
    # have waited for the end of the quiet hours before it went out).
    pk, nonce = unsign(SALT, token, max_age=max_age() + dt.timedelta(days=2),
                       invalid=_invalid_text(), expired=_expired_text())
    survey = (Survey.objects.select_related("order__technician__user", "order__customer")
              .filter(pk=pk, nonce=nonce).first())
    if survey is None:
        raise LinkInvalid(_invalid_text())
    if survey.status == SurveyStatus.ANSWERED:
        if for_use:
            raise already_used()
        return survey
    if survey.status == SurveyStatus.SUPERSEDED:
        raise LinkExpired(_("This survey is no longer open; use the link in the newest SMS."))
    if clock.now() >= survey.expires_at:
        raise LinkExpired(_expired_text())
    return survey
