"""Cancel: the customer withdraws the request, with the reason (DOMAIN step 14)."""

from __future__ import annotations

from django.utils.translation import gettext as _

from ..events import OrderAction
from ..lifecycle import User, require, require_fits, transition
from ..models import WorkOrder


def work_order_cancel(*, order: WorkOrder, by: User, reason: str) -> WorkOrder:
    """Cancelled by the customer, with the reason, at any point before completion (step
    14). The open assignment ends in ``transition``, as for every finished order; the open
    booking is cancelled by the bookings' handler of this event."""
    require(reason, _("Record why the order is cancelled."), field="reason")
    require_fits(reason, WorkOrder, "cancel_reason", field="reason")
    return transition(order, OrderAction.CANCEL, by=by, reason=reason, at=None,
                      cancel_reason=reason)

