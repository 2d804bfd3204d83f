"""Writes about appointments that are not a state change of the order."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.db import transaction
from django.utils.translation import gettext as _

from fieldops import clock
from workorders.errors import IllegalTransition, RuleViolation
from workorders.models import State, WorkOrder
from workorders.services import record_event

from .models import Appointment, AppointmentStatus, ChangeRequest

#: While the visit can still be moved.
CHANGEABLE_STATES = frozenset({State.ACCEPTED, State.DISPATCHED, State.TAKEN, State.CONTACTED,
                               State.SCHEDULED, State.PREPARED, State.NOBODY_HOME,
                               State.AWAITING_REVISIT})


def appointment_request_change(*, order: WorkOrder, by: Any, preferred_start: dt.datetime,
                               preferred_end: dt.datetime, source: str,
                               note: str = "") -> ChangeRequest:
    """R10: record the customer's wish for another time and hand it to the technician,
    who re-books it (``work_order_schedule``). The current booking stays until then."""
    if preferred_end <= preferred_start:
        raise RuleViolation(_("The preferred window must end after it starts."),
                            field="preferred_end", rule="R10")
    if preferred_start < clock.now():
        raise RuleViolation(_("The preferred time is in the past; choose a later time."),
                            field="preferred_start", rule="R10")
    with transaction.atomic():
        locked = WorkOrder.objects.select_for_update().get(pk=order.pk)
        if locked.state not in CHANGEABLE_STATES:
            raise IllegalTransition(locked, "request_change", [])
        current = Appointment.objects.filter(order=locked,
                                             status=AppointmentStatus.BOOKED).first()
        request = ChangeRequest.objects.create(
            order=locked, appointment=current, preferred_start=preferred_start,
            preferred_end=preferred_end, note=note, source=source, requested_by=by)
        record_event(order=locked, by=by, action="request_change", from_state=locked.state,
                     to_state=locked.state, reason=note,
                     payload={"preferred_start": preferred_start.isoformat(),
                              "preferred_end": preferred_end.isoformat(), "source": source})
    return request
