"""Reopening a finished order for rework (R31) when the office finds the work was not done
right: a failed quality inspection (R52) or an upheld complaint about the visit (R51).

The survey's own path into rework (an unsatisfied answer, ``start_rework``) stays in
``surveys.services``; this one starts from the office's finding, so the floors above
(quality, complaints) call it and subscribe to its event, never the other way round.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.db import models
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from ..errors import RuleViolation
from ..events import OrderAction
from ..lifecycle import User, require, require_fits, transition
from ..models import Assignment, WorkOrder, WorkOrderEvent


class ReopenCause(models.TextChoices):
    """Why a finished order goes back to rework."""

    INSPECTION = "inspection", gettext_lazy("Failed quality inspection")  # R52
    COMPLAINT = "complaint", gettext_lazy("Upheld complaint")  # R51


def work_order_reopen_rework(*, order: WorkOrder, by: User, reason: str, cause: str,
                             payload: dict[str, Any] | None = None) -> WorkOrder:
    """R52 → R31: a completed, surveyed or closed order goes back to its technician for a
    new rework round, with the rework contact timer (R31; the SLA policy's
    ``rework_contact`` rule starts on this action) and the loop of R32-R33 after it. The
    reason is required and kept on the event (R42); ``cause`` says who found the fault
    (``ReopenCause``); ``payload`` names the finding (the inspection, the complaint).
    A closed order had its assignment ended: the same technician holds it again."""
    if cause not in ReopenCause.values:
        raise RuleViolation(
            _("Say why the order is reopened: %(choices)s.")
            % {"choices": ", ".join(str(label) for label in ReopenCause.labels)},
            field="cause", rule="R52")
    require(reason, _("Record why the order goes back for rework (R31)."), field="reason",
            rule="R31")
    reason = reason.strip()
    require_fits(reason, WorkOrderEvent, "reason", field="reason", rule="R31")

    def hold_again(locked: WorkOrder, now: dt.datetime) -> None:
        if locked.technician_id is None:
            return
        if not Assignment.objects.filter(order=locked, ended_at__isnull=True).exists():
            Assignment.objects.create(order=locked, technician_id=locked.technician_id,
                                      assigned_at=now, assigned_by=by, automatic=False,
                                      reason=reason[:255])

    return transition(order, OrderAction.REOPEN_REWORK, by=by, reason=reason,
                      after=hold_again, payload={"cause": cause, **(payload or {})})
