"""The order-action vocabulary and the lifecycle event.

``OrderAction`` names everything that can happen to an order: one member per
``WorkOrder`` transition (the member's value is the transition method's name) and one per
recorded fact (a contact attempt, a saved report, a callback opened ...). The state
machine, the event log, the SLA timer rules, the dashboard facts, the webhooks, the demo
and the tests all use these members; a bare action string anywhere else is a bug that a
typo would hide.

``workorders.lifecycle.record_event`` appends the R42 row and publishes an ``OrderEvent``
on the bus (``fieldops.bus``) in the same transaction; the engines above (SLA timers,
dashboard facts, bookings, surveys, webhooks) subscribe to it in their
``AppConfig.ready()`` (see docs/architecture.md).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Any

from django.db import models
from django.utils.translation import gettext_lazy as _


class OrderAction(models.TextChoices):
    # Intake and dispatch (R1-R6)
    CREATE = "create", _("Order taken")
    MERGE_CUSTOMER = "merge_customer", _("Duplicate customer merged")
    DISPATCH = "dispatch", _("Dispatch")
    REASSIGN = "reassign", _("Reassign")
    UNASSIGN = "unassign", _("Unassign")
    ACCEPT = "accept", _("Accept")
    CONFIRM_RESOURCES = "confirm_resources", _("Line and port resources OK")
    REPORT_NO_RESOURCES = "report_no_resources", _("No line or port resources")
    RESOLVE_REMOTELY = "resolve_remotely", _("Resolved remotely")
    # Contact and booking (R7-R12, R15, R16, R19)
    LOG_CONTACT = "log_contact", _("Contact attempt")
    CONTACT = "contact", _("Customer reached")
    SCHEDULE = "schedule", _("Book the visit")
    RESCHEDULE = "reschedule", _("Move the appointment")
    REQUEST_CHANGE = "request_change", _("Customer asked for another time")
    CUSTOMER_CONFIRMED = "customer_confirmed", _("Customer confirmed the visit")
    APPOINTMENT_MISSED = "appointment_missed", _("Appointment missed by us")
    #: The technician's check-in, done offline in time, reached the server after the sweep
    #: had recorded the appointment as missed (issue 16): the miss is withdrawn.
    APPOINTMENT_MISS_WITHDRAWN = ("appointment_miss_withdrawn",
                                  _("Missed appointment withdrawn: the technician was there"))
    CUSTOMER_REFUSED = "customer_refused", _("Customer refused the booking")
    #: The dispatcher planned when inside the booked window the visit starts (the day
    #: board, an accepted day plan); the booking itself, the customer's promise, is unchanged.
    PLAN_VISIT = "plan_visit", _("Visit start planned")
    PARK = "park", _("Park at customer's request")
    RESUME = "resume", _("Resume")
    # Travel, check-in and the visit (R13, R17-R24)
    CONFIRM_KIT = "confirm_kit", _("Kit checked")
    DEPART = "depart", _("On my way")
    CHECK_IN = "check_in", _("Check in")
    NOBODY_HOME = "nobody_home", _("Nobody home")
    MAKE_ABNORMAL = "make_abnormal", _("Make abnormal")
    RETURN_FROM_ABNORMAL = "return_from_abnormal", _("Callback done: book again")
    CLOSE_ABNORMAL = "close_abnormal", _("Callback done: close")
    ADD_PHOTO = "add_photo", _("Photo added")
    RECORD_CONSENT = "record_consent", _("Consent recorded")
    CANT_FINISH = "cant_finish", _("Can't finish")
    # Sign-off and report (R25-R28)
    SAVE_REPORT = "save_report", _("Report saved")
    SEND_SIGN_OFF_CODE = "send_sign_off_code", _("Sign-off code sent")
    SIGN_OFF = "sign_off", _("Customer sign-off")
    COMPLETE = "complete", _("File completion report")
    FOLLOW_UP_LOGGED = "follow_up_logged", _("Open question logged")
    FOLLOW_UP_ANSWERED = "follow_up_answered", _("Open question answered")
    # Survey and rework (R29-R33)
    START_SURVEY = "start_survey", _("Send survey")
    CALLBACK_OPENED = "callback_opened", _("Callback opened")
    CALLBACK_NOT_REACHED = "callback_not_reached", _("Callback: customer not reached")
    CLOSE_SATISFIED = "close_satisfied", _("Customer satisfied")
    START_REWORK = "start_rework", _("Customer not satisfied")
    REASSIGN_REWORK = "reassign_rework", _("Reassign rework")
    RESOLVE_REWORK = "resolve_rework", _("Complaint resolved")
    REOPEN_REWORK = "reopen_rework", _("Reopened for rework")  # R52 (R51)
    # The whole visit (R43-R49): facts recorded by the visit's phases while on site
    RECORD_VISIT_STEP = "record_visit_step", _("Visit step recorded")
    RECORD_TEST_RESULT = "record_test_result", _("Test result recorded")
    INSTALL_DEVICE = "install_device", _("Device installed")
    SWAP_DEVICE = "swap_device", _("Device swapped")
    TAKE_BACK_DEVICE = "take_back_device", _("Device taken back")
    USE_MATERIAL = "use_material", _("Material used")
    ADD_CHARGE = "add_charge", _("Charge added")
    RECEIVE_PAYMENT = "receive_payment", _("Payment received")
    REFUND_CHARGE = "refund_charge", _("Charge refunded")
    # Quality and exceptions (R50-R54)
    DECLARE_FORCE_MAJEURE = "declare_force_majeure", _("Force majeure declared")
    DECIDE_FORCE_MAJEURE = "decide_force_majeure", _("Force majeure decided")
    RECORD_COMPLAINT = "record_complaint", _("Complaint recorded")
    CLOSE_COMPLAINT = "close_complaint", _("Complaint closed")
    INSPECT = "inspect", _("Inspection recorded")
    ATTACH_OUTAGE = "attach_outage", _("Attached to an outage")
    RELEASE_OUTAGE = "release_outage", _("Released from an outage")
    # Step 14
    CANCEL = "cancel", _("Cancel")


@dataclasses.dataclass(frozen=True)
class OrderEvent:
    """Something happened to an order; published on the bus inside its transaction.

    ``order`` is the caller's (locked, just saved) instance: handlers may read it and may
    attach what they computed for the caller (e.g. the intake's first booking)."""

    order: Any  # workorders.models.WorkOrder
    action: OrderAction
    from_state: str
    to_state: str
    at: dt.datetime
    actor: Any  # a user, or None when the product acts by itself
    payload: dict[str, Any]
    row: Any  # the WorkOrderEvent written for it (R42)

    @property
    def is_transition(self) -> bool:
        return self.from_state != self.to_state


def actor_label(by: Any) -> str:
    if by is None:
        return "system"
    return by.get_full_name() or by.get_username()
