"""The customer's signed links (no login): one per booking SMS.

The token (``fieldops.signed_links``) names a ``CustomerLink`` row, which makes the link
single-use and lets a booking that was moved refuse the links sent for it.
"""

from __future__ import annotations

import datetime as dt
import secrets

from django.conf import settings
from django.urls import reverse
from django.utils.translation import gettext as _

from fieldops import clock
from fieldops.signed_links import (
    LinkError,
    LinkExpired,
    LinkInvalid,
    LinkSuperseded,
    LinkUsed,
    sign,
    unsign,
)

from .models import Appointment, AppointmentStatus, CustomerLink

SALT = "appointments.customer-link"
__all__ = ["LinkError", "LinkExpired", "LinkInvalid", "LinkSuperseded", "LinkUsed",
           "absolute_url", "issue", "max_age", "resolve", "token_for"]


def max_age() -> dt.timedelta:
    return dt.timedelta(hours=settings.CUSTOMER_LINK_MAX_AGE_HOURS)


def issue(appointment: Appointment) -> tuple[CustomerLink, str]:
    """A new link for ``appointment``; returns the row and the absolute URL for the SMS.
    Call inside the transaction that books the appointment."""
    now = clock.now()
    expires = min(now + max_age(), max(appointment.end, now + dt.timedelta(hours=1)))
    link = CustomerLink.objects.create(appointment=appointment, nonce=secrets.token_hex(8),
                                       created_at=now, expires_at=expires)
    return link, absolute_url(token_for(link))


def token_for(link: CustomerLink) -> str:
    return sign(SALT, link.pk, link.nonce)


def absolute_url(token: str) -> str:
    return settings.PUBLIC_URL + reverse("customer:appointment", args=[token])


def resolve(token: str, *, for_use: bool = False) -> CustomerLink:
    """The link named by ``token``, or ``LinkError``. With ``for_use`` it must also be
    unused and its booking still the current one."""
    pk, nonce = unsign(
        SALT, token, max_age=max_age(),
        invalid=_("This link is not valid. Check that the whole address from the SMS was "
                  "opened."),
        expired=_("This link has expired. Call us, or wait for our next SMS."))
    link = (CustomerLink.objects.select_related("appointment__order__technician__user")
            .filter(pk=pk, nonce=nonce).first())
    if link is None:
        raise LinkInvalid(_("This link is not valid. Check that the whole address from the "
                            "SMS was opened."))
    if link.appointment.status == AppointmentStatus.MOVED:
        # Moving a booking texts the customer a new link; this one must not show the old
        # time as if it still held.
        raise LinkSuperseded(_("This link was replaced: your visit was moved and we sent you "
                               "a new SMS with the new time. Please use the link in that "
                               "SMS."))
    if clock.now() >= link.expires_at:
        raise LinkExpired(_("This link has expired. Call us, or wait for our next SMS."))
    if for_use:
        if link.used_at is not None:
            raise LinkUsed(_("This link was already used. Your answer has been recorded."))
        if link.appointment.status != AppointmentStatus.BOOKED:
            raise LinkExpired(_("This booking has changed since this SMS was sent; use the "
                                "link in the newest SMS."))
    return link
