"""The customer's copy follows the lifecycle (fieldops.bus): once the order is completed,
the customer is texted the link to their copy of the signed report (R26), through the
notification outbox in the completing transaction. Nothing here is called by the
lifecycle."""

from __future__ import annotations

from django.utils.translation import gettext as _

from fieldops import bus
from workorders.events import OrderAction, OrderEvent
from workorders.messages import sms_customer

from . import links
from .copy import latest_signature


def text_the_copy(event: OrderEvent) -> None:
    """R26: the customer gets the signed report (serials, materials, readings, charges
    and the signature) by a signed link, once per signature."""
    if event.action != OrderAction.COMPLETE:
        return
    order = event.order
    signature = latest_signature(order)
    if signature is None or not order.contact_phone:
        return
    url = links.absolute_url(signature)
    sms_customer(order, kind="signed_report",
                 body=lambda: _("Work order %(number)s is complete. Your signed report: "
                                "%(url)s") % {"number": order.number, "url": url},
                 params={"number": order.number, "url": url},
                 dedupe_key=f"signed_report:{signature.pk}")


def register() -> None:
    bus.subscribe(OrderEvent, text_the_copy)
