"""The customer's signed link after an outage's repair (R54): "is your service back?".

The token (``fieldops.signed_links``) names an ``OutageOrder`` row by its id and nonce, so
a link answers for one order of one outage, once."""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.urls import reverse
from django.utils.translation import gettext as _

from fieldops.signed_links import LinkError, LinkInvalid, LinkUsed, sign, unsign

from .models import Link, OutageOrder

SALT = "outages.service-back"
#: How long the question stays open; the sweep releases unanswered orders much earlier.
MAX_AGE = dt.timedelta(days=3)
__all__ = ["LinkError", "absolute_url", "resolve", "token_for"]


def token_for(link: OutageOrder) -> str:
    return sign(SALT, link.pk, link.nonce)


def absolute_url(link: OutageOrder) -> str:
    return settings.PUBLIC_URL + reverse("outage:answer", args=[token_for(link)])


def resolve(token: str, *, for_use: bool = False) -> OutageOrder:
    """The attachment named by ``token``, or ``LinkError``; with ``for_use`` it must still
    wait for the customer's answer."""
    invalid = _("This link is not valid. Check that the whole address from the SMS was "
                "opened.")
    pk, nonce = unsign(SALT, token, max_age=MAX_AGE, invalid=invalid,
                       expired=_("This link has expired. Call us if your service is still "
                                 "down."))
    link = (OutageOrder.objects.select_related("outage", "order")
            .filter(pk=pk, nonce=nonce).exclude(nonce="").first())
    if link is None:
        raise LinkInvalid(invalid)
    if for_use and link.state != Link.ASKED:
        raise LinkUsed(_("This link was already used. Your answer has been recorded."))
    return link
