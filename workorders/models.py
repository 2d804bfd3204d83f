"""Work orders, their customers, contact attempts and the append-only event log.

The lifecycle of a work order is one finite-state machine (django-fsm-2) on
``WorkOrder.state``. Transitions here only move the state and set the fields
that belong to the step; they have no side effects. Every call goes through
``workorders.services``, which guards, locks, saves, writes the event row
(R42) and queues side effects after commit. ``docs/state-machine.md`` is drawn
from these declarations by ``manage.py fsm_diagram``.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterable
from typing import Any

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.crypto import constant_time_compare, salted_hmac
from django.utils.translation import gettext_lazy as _
from django_fsm import RETURN_VALUE, ConcurrentTransitionMixin, FSMField, transition

from fieldops import clock
from fieldops.phones import PhoneNumberField
from fieldops.text import refuse_hidden_characters
from technicians.models import Area, Technician

from .access import (
    PERM_CANCEL,
    PERM_DISPATCH,
    PERM_INTAKE,
    PERM_REOPEN_REWORK,
    is_order_technician,
)
from .events import OrderAction
from .visit_parts import sealed_parts


class Kind(models.TextChoices):
    INSTALL = "install", _("Install")
    MOVE = "move", _("Move")
    REPAIR = "repair", _("Repair")


class Service(models.TextChoices):
    BROADBAND = "broadband", _("Broadband")
    FIXED_LINE = "fixed_line", _("Fixed line")
    IPTV = "iptv", _("IPTV")


class AccessType(models.TextChoices):
    FTTH = "ftth", _("FTTH")
    FTTB = "fttb", _("FTTB")
    LAN = "lan", _("LAN")
    XDSL = "xdsl", _("xDSL")


class Channel(models.TextChoices):
    """Where the request came in (R1)."""

    HOTLINE = "hotline", _("Hotline")
    WEBSITE = "website", _("Website")
    APP = "app", _("App")
    STORE = "store", _("Retail store")
    SOCIAL = "social", _("Social media")
    WALK_IN = "walk_in", _("Walk-in")


class CustomerClass(models.TextChoices):
    STANDARD = "standard", _("Standard")
    VIP = "vip", _("VIP / key business")


class State(models.TextChoices):
    """Every state of DOMAIN.md's lifecycle (steps 1-14) and its side paths."""

    ACCEPTED = "accepted", _("Accepted")  # 受理 (R3)
    DISPATCHED = "dispatched", _("Dispatched")  # 派单 (R4)
    TAKEN = "taken", _("Taken")  # 接单 (R5)
    NO_RESOURCES = "no_resources", _("No resources")  # R6, clock paused
    CONTACTED = "contacted", _("Contacted")  # 一小时反馈 (R7), visit still to be booked
    SCHEDULED = "scheduled", _("Scheduled")  # 二次预约 (R9-R11)
    PARKED = "parked", _("Parked at customer's request")  # R12, clock paused
    PREPARED = "prepared", _("Kit checked")  # R20, R21
    EN_ROUTE = "en_route", _("En route")  # R13
    ON_SITE = "on_site", _("On site")  # 签到 (R17)
    NOBODY_HOME = "nobody_home", _("Nobody home")  # R18
    ABNORMAL = "abnormal", _("Abnormal")  # 异常工单 (R19)
    AWAITING_REVISIT = "awaiting_revisit", _("Awaiting revisit")  # R24
    SIGNED_OFF = "signed_off", _("Signed off")  # 客户签认 (R26)
    COMPLETED = "completed", _("Completed")  # 报竣 (R27)
    SURVEY_PENDING = "survey_pending", _("Survey pending")  # 回访 (R29, R30)
    REWORK = "rework", _("Rework")  # R31-R33
    RESOLVED_REMOTELY = "resolved_remotely", _("Resolved remotely")  # R2
    CLOSED = "closed", _("Closed")
    CANCELLED = "cancelled", _("Cancelled")


S = State
#: States in which an order is finished; nothing more happens to it.
TERMINAL_STATES = frozenset({S.CLOSED, S.CANCELLED, S.RESOLVED_REMOTELY})
#: Every other state, in the states' order: a query for open orders names these (an
#: ``IN`` the state index answers) rather than excluding the terminal ones, which reads
#: the whole table when nearly every order is closed.
OPEN_STATES = tuple(s for s in S if s not in TERMINAL_STATES)
#: States in which the order occupies a technician (for dispatch load, R4).
TECHNICIAN_LOAD_STATES = frozenset({
    S.DISPATCHED, S.TAKEN, S.CONTACTED, S.SCHEDULED, S.PREPARED, S.EN_ROUTE, S.ON_SITE,
    S.NOBODY_HOME, S.AWAITING_REVISIT, S.SIGNED_OFF, S.REWORK,
})
#: Everything before completion can be cancelled by the customer (step 14).
CANCELLABLE_STATES = [
    S.ACCEPTED, S.DISPATCHED, S.TAKEN, S.NO_RESOURCES, S.CONTACTED, S.SCHEDULED, S.PARKED,
    S.PREPARED, S.EN_ROUTE, S.ON_SITE, S.NOBODY_HOME, S.ABNORMAL, S.AWAITING_REVISIT,
    S.SIGNED_OFF,
]
#: States from which the customer may ask to wait (R12).
PARKABLE_STATES = [
    S.ACCEPTED, S.DISPATCHED, S.TAKEN, S.CONTACTED, S.SCHEDULED, S.PREPARED,
    S.NOBODY_HOME, S.AWAITING_REVISIT,
]
#: States from which a dispatcher can take the order off its technician, back to the queue
#: (R4): before the customer was reached, so no promise made to them is left hanging.
UNASSIGNABLE_STATES = [S.DISPATCHED, S.TAKEN]
#: States from which a dispatcher can hand the order to another technician (R4).
REASSIGNABLE_STATES = [
    S.DISPATCHED, S.TAKEN, S.CONTACTED, S.SCHEDULED, S.PREPARED, S.NOBODY_HOME,
    S.AWAITING_REVISIT,
]


# --- Who may fire a transition (checked by django-fsm's has_transition_perm) --
def is_technician_or(perm: str) -> Callable[[Any, Any], bool]:
    """The assigned technician, or staff holding ``perm`` (e.g. the call-centre)."""

    def check(order: Any, user: Any) -> bool:
        return is_order_technician(order, user) or bool(user.has_perm(perm))

    return check


def system_only(order: Any, user: Any) -> bool:
    """Steps the product takes by itself (a task or another service); no user fires them."""
    return False


class Customer(models.Model):
    name = models.CharField(_("name"), max_length=100, validators=[refuse_hidden_characters])
    phone = PhoneNumberField(_("phone"), db_index=True, validators=[refuse_hidden_characters])
    alt_phone = PhoneNumberField(_("second phone"), blank=True,
                                 validators=[refuse_hidden_characters])
    customer_class = models.CharField(_("customer class"), max_length=16,
                                      choices=CustomerClass.choices,
                                      default=CustomerClass.STANDARD)
    created_at = models.DateTimeField(_("created"), default=clock.now)

    class Meta:
        verbose_name = _("customer")
        verbose_name_plural = _("customers")
        permissions = [("merge_customer", _("Can merge duplicate customer records"))]

    def __str__(self) -> str:
        return str(self.name)


class ServiceAccount(models.Model):
    """A customer's service account (宽带/固话账号) at one address."""

    number = models.CharField(_("account number"), max_length=32, unique=True,
                              validators=[refuse_hidden_characters])
    customer = models.ForeignKey(Customer, on_delete=models.PROTECT, related_name="accounts",
                                 verbose_name=_("customer"))
    address = models.CharField(_("address"), max_length=255, validators=[refuse_hidden_characters])
    area = models.ForeignKey(Area, on_delete=models.PROTECT, related_name="accounts",
                             verbose_name=_("area"))
    service = models.CharField(_("service"), max_length=16, choices=Service.choices)
    access_type = models.CharField(_("access type"), max_length=8, choices=AccessType.choices)

    class Meta:
        verbose_name = _("service account")
        verbose_name_plural = _("service accounts")

    def __str__(self) -> str:
        return str(self.number)


class WorkOrder(ConcurrentTransitionMixin, models.Model):
    """One install, move or repair job and where it is in its lifecycle."""

    NUMBER_PREFIX = "WO"

    kind = models.CharField(_("kind"), max_length=8, choices=Kind.choices)
    service = models.CharField(_("service"), max_length=16, choices=Service.choices)
    access_type = models.CharField(_("access type"), max_length=8, choices=AccessType.choices)
    channel = models.CharField(_("channel"), max_length=16, choices=Channel.choices)  # R1
    customer_class = models.CharField(_("customer class"), max_length=16,
                                      choices=CustomerClass.choices,
                                      default=CustomerClass.STANDARD)
    customer = models.ForeignKey(Customer, on_delete=models.PROTECT, related_name="orders",
                                 verbose_name=_("customer"))
    account = models.ForeignKey(ServiceAccount, on_delete=models.PROTECT, null=True, blank=True,
                                related_name="orders", verbose_name=_("service account"))
    contact_phone = PhoneNumberField(_("contact phone"), validators=[refuse_hidden_characters])
    address = models.CharField(_("address"), max_length=255, validators=[refuse_hidden_characters])
    #: Indexed by ``wo_area_state_id`` (its first column), like technician and state.
    area = models.ForeignKey(Area, on_delete=models.PROTECT, related_name="orders",
                             db_index=False, verbose_name=_("area"))
    symptoms = models.TextField(_("fault symptoms"), blank=True)
    fault_started_at = models.DateTimeField(_("fault started"), null=True, blank=True)
    preferred_day = models.DateField(_("preferred day"), null=True, blank=True)  # R3
    external_ref = models.CharField(_("call-centre reference"), max_length=64, blank=True,
                                    validators=[refuse_hidden_characters])
    notes = models.TextField(_("notes"), blank=True)

    state = FSMField(_("state"), default=State.ACCEPTED, choices=State.choices,
                     protected=True)
    #: Bumped by every change; the API exposes it as the ETag (If-Match).
    version = models.PositiveIntegerField(_("version"), default=1)

    technician = models.ForeignKey(Technician, on_delete=models.PROTECT, null=True, blank=True,
                                   related_name="orders", db_index=False,
                                   verbose_name=_("technician"))
    dispatched_at = models.DateTimeField(_("dispatched"), null=True, blank=True)
    resources_confirmed_at = models.DateTimeField(_("resources confirmed"), null=True,
                                                  blank=True)  # R5
    parked_until = models.DateField(_("parked until"), null=True, blank=True)  # R12
    parked_from = models.CharField(_("parked from"), max_length=20, blank=True,
                                   choices=State.choices)
    #: Bookings the customer refused or did not keep (R19: two make the order abnormal).
    customer_missed_bookings = models.PositiveSmallIntegerField(_("customer-missed bookings"),
                                                                default=0)
    #: Appointments we missed (R16: after the first, the order is flagged).
    our_missed_appointments = models.PositiveSmallIntegerField(_("missed by us"), default=0)
    supervisor_flag = models.BooleanField(_("flagged to supervisor"), default=False)
    rework_round = models.PositiveSmallIntegerField(_("rework round"), default=0)  # R31-R33
    completed_at = models.DateTimeField(_("completed"), null=True, blank=True)
    closed_at = models.DateTimeField(_("closed"), null=True, blank=True)
    cancel_reason = models.CharField(_("cancellation reason"), max_length=255, blank=True)

    created_at = models.DateTimeField(_("created"), default=clock.now, db_index=True)
    updated_at = models.DateTimeField(_("updated"), default=clock.now)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL,
                                   null=True, blank=True, related_name="+",
                                   verbose_name=_("created by"))

    class Meta:
        verbose_name = _("work order")
        verbose_name_plural = _("work orders")
        ordering = ["-created_at", "-id"]
        # Every index is paid for on every intake and change, so none repeats the first
        # columns of another. The API's list reads an area's orders in one state newest
        # first straight from ``wo_area_state_id``, stopping at the page's end.
        indexes = [
            models.Index(fields=["technician", "state"], name="wo_technician_state"),
            models.Index(fields=["area", "state", "id"], name="wo_area_state_id"),
            models.Index(fields=["state"], name="wo_state"),
            models.Index(fields=["external_ref"], name="wo_external_ref"),
        ]
        permissions = [
            ("dispatch_workorder", _("Can dispatch and reassign work orders")),
            ("intake_workorder", _("Can take calls: resolve remotely, park, callbacks")),
            ("cancel_workorder", _("Can cancel work orders")),
            ("perform_fieldwork", _("Can do field work on own orders")),
            ("view_customer_pii", _("Can see customers' full phone numbers")),
            ("view_all_workorders", _("Can see every work order (read only)")),
            ("reopen_rework", _("Can send a finished order back for rework (R31, R52)")),
        ]

    def __str__(self) -> str:
        return self.number

    @classmethod
    def number_for(cls, pk: int | None) -> str:
        """Order number shown to people: WO + zero-padded id (never reused, never drifts)."""
        return f"{cls.NUMBER_PREFIX}{pk:08d}" if pk else f"{cls.NUMBER_PREFIX}-new"

    @property
    def number(self) -> str:
        return self.number_for(self.pk)

    @property
    def state_label(self) -> str:
        """The state's name in the current language."""
        return str(State(self.state).label)

    @classmethod
    def pk_from_number(cls, text: str) -> int | None:
        text = text.strip().upper()
        if text.startswith(cls.NUMBER_PREFIX) and text[len(cls.NUMBER_PREFIX):].isdigit():
            return int(text[len(cls.NUMBER_PREFIX):])
        return None

    @property
    def is_terminal(self) -> bool:
        return self.state in TERMINAL_STATES

    # --- The state machine -------------------------------------------------
    # Each method is a transition. Bodies only set the step's own fields.

    @transition(field=state, source=[S.ACCEPTED, S.NO_RESOURCES], target=S.DISPATCHED,
                permission=PERM_DISPATCH, custom={"label": _("Dispatch"), "rule": "R4"})
    def dispatch(self, *, technician: Technician, at: Any) -> None:
        self.technician = technician
        self.dispatched_at = at

    @transition(field=state, source=REASSIGNABLE_STATES, target=S.DISPATCHED,
                permission=PERM_DISPATCH, custom={"label": _("Reassign"), "rule": "R4"})
    def reassign(self, *, technician: Technician, at: Any) -> None:
        self.technician = technician
        self.dispatched_at = at

    @transition(field=state, source=UNASSIGNABLE_STATES, target=S.ACCEPTED,
                permission=PERM_DISPATCH, custom={"label": _("Unassign"), "rule": "R4"})
    def unassign(self) -> None:
        # Back to the queue: the next technician checks the resources again (R5).
        self.technician = None
        self.dispatched_at = None
        self.resources_confirmed_at = None

    @transition(field=state, source=S.DISPATCHED, target=S.TAKEN,
                permission=is_order_technician, custom={"label": _("Accept"), "rule": "R5"})
    def accept(self) -> None:
        pass

    @transition(field=state, source=S.TAKEN, target=S.TAKEN,
                permission=is_order_technician,
                custom={"label": _("Line and port resources OK"), "rule": "R5"})
    def confirm_resources(self, *, at: Any) -> None:
        self.resources_confirmed_at = at

    @transition(field=state, source=S.TAKEN, target=S.NO_RESOURCES,
                permission=is_order_technician,
                custom={"label": _("No line or port resources"), "rule": "R6"})
    def report_no_resources(self) -> None:
        self.resources_confirmed_at = None

    @transition(field=state, source=[S.ACCEPTED, S.DISPATCHED, S.NO_RESOURCES],
                target=S.RESOLVED_REMOTELY, permission=PERM_INTAKE,
                custom={"label": _("Resolved remotely"), "rule": "R2"})
    def resolve_remotely(self, *, at: Any) -> None:
        self.closed_at = at

    @transition(field=state, source=S.TAKEN, target=S.CONTACTED,
                permission=is_order_technician,
                custom={"label": _("Customer reached"), "rule": "R7"})
    def contact(self) -> None:
        pass

    @transition(field=state, source=[S.CONTACTED, S.NOBODY_HOME, S.AWAITING_REVISIT],
                target=S.SCHEDULED, permission=is_order_technician,
                custom={"label": _("Book the visit"), "rule": "R9"})
    def schedule(self) -> None:
        pass

    @transition(field=state, source=[S.SCHEDULED, S.PREPARED], target=S.SCHEDULED,
                permission=is_order_technician,
                custom={"label": _("Move the appointment"), "rule": "R15"})
    def reschedule(self) -> None:
        pass

    @transition(field=state, source=PARKABLE_STATES, target=S.PARKED,
                permission=is_technician_or(PERM_INTAKE),
                custom={"label": _("Park at customer's request"), "rule": "R12"})
    def park(self, *, until: Any) -> None:
        self.parked_from = self.state
        self.parked_until = until

    @transition(field=state, source=S.PARKED,
                target=RETURN_VALUE(S.ACCEPTED, S.DISPATCHED, S.TAKEN, S.CONTACTED),
                permission=is_technician_or(PERM_INTAKE),
                custom={"label": _("Resume"), "rule": "R12"})
    def resume(self) -> str:
        # Before the customer was reached the order picks up where it stopped;
        # after that, any booking is stale and the visit must be booked again.
        back_to = self.parked_from
        self.parked_from = ""
        self.parked_until = None
        if back_to in (S.ACCEPTED, S.DISPATCHED, S.TAKEN):
            return back_to
        return S.CONTACTED

    @transition(field=state, source=S.SCHEDULED, target=S.PREPARED,
                permission=is_order_technician,
                custom={"label": _("Kit checked"), "rule": "R20"})
    def confirm_kit(self) -> None:
        pass

    @transition(field=state, source=S.PREPARED, target=S.EN_ROUTE,
                permission=is_order_technician,
                custom={"label": _("On my way"), "rule": "R13"})
    def depart(self) -> None:
        pass

    @transition(field=state, source=S.EN_ROUTE, target=S.ON_SITE,
                permission=is_order_technician,
                custom={"label": _("Check in"), "rule": "R17"})
    def check_in(self) -> None:
        pass

    @transition(field=state, source=[S.EN_ROUTE, S.ON_SITE], target=S.NOBODY_HOME,
                permission=is_order_technician,
                custom={"label": _("Nobody home"), "rule": "R18"})
    def nobody_home(self) -> None:
        self.customer_missed_bookings += 1

    @transition(field=state, source=[S.CONTACTED, S.SCHEDULED, S.NOBODY_HOME],
                target=S.ABNORMAL, permission=system_only,
                custom={"label": _("Make abnormal"), "rule": "R19"})
    def make_abnormal(self) -> None:
        pass

    @transition(field=state, source=S.ABNORMAL, target=S.CONTACTED,
                permission=PERM_INTAKE,
                custom={"label": _("Callback done: book again"), "rule": "R19"})
    def return_from_abnormal(self) -> None:
        self.customer_missed_bookings = 0

    @transition(field=state, source=S.ABNORMAL, target=S.CLOSED, permission=PERM_INTAKE,
                custom={"label": _("Callback done: close"), "rule": "R19"})
    def close_abnormal(self, *, at: Any) -> None:
        self.closed_at = at

    @transition(field=state, source=S.ON_SITE, target=S.AWAITING_REVISIT,
                permission=is_order_technician,
                custom={"label": _("Can't finish"), "rule": "R24"})
    def cant_finish(self) -> None:
        pass

    @transition(field=state, source=S.ON_SITE, target=S.SIGNED_OFF,
                permission=is_order_technician,
                custom={"label": _("Customer sign-off"), "rule": "R26"})
    def sign_off(self) -> None:
        pass

    @transition(field=state, source=S.SIGNED_OFF, target=S.COMPLETED,
                permission=is_order_technician,
                custom={"label": _("File completion report"), "rule": "R27"})
    def complete(self, *, at: Any) -> None:
        self.completed_at = at

    @transition(field=state, source=S.COMPLETED, target=S.SURVEY_PENDING,
                permission=system_only, custom={"label": _("Send survey"), "rule": "R29"})
    def start_survey(self) -> None:
        pass

    @transition(field=state, source=[S.COMPLETED, S.SURVEY_PENDING], target=S.CLOSED,
                permission=PERM_INTAKE,
                custom={"label": _("Customer satisfied"), "rule": "R29"})
    def close_satisfied(self, *, at: Any) -> None:
        self.closed_at = at

    @transition(field=state, source=[S.COMPLETED, S.SURVEY_PENDING], target=S.REWORK,
                permission=PERM_INTAKE,
                custom={"label": _("Customer not satisfied"), "rule": "R31"})
    def start_rework(self) -> None:
        self.rework_round += 1

    @transition(field=state, source=[S.COMPLETED, S.SURVEY_PENDING, S.CLOSED],
                target=S.REWORK, permission=PERM_REOPEN_REWORK,
                custom={"label": _("Reopen for rework"), "rule": "R31, R52"})
    def reopen_rework(self) -> None:
        """R52: a failed inspection (or an upheld complaint, R51) sends a finished order
        back to its technician for rework (R31), as an unsatisfied survey answer does."""
        self.rework_round += 1
        self.closed_at = None

    @transition(field=state, source=S.REWORK, target=S.REWORK, permission=PERM_DISPATCH,
                custom={"label": _("Reassign rework"), "rule": "R33"})
    def reassign_rework(self, *, technician: Technician, at: Any) -> None:
        self.technician = technician
        self.dispatched_at = at

    @transition(field=state, source=S.REWORK, target=S.SURVEY_PENDING,
                permission=is_order_technician,
                custom={"label": _("Complaint resolved"), "rule": "R32"})
    def resolve_rework(self) -> None:
        pass

    @transition(field=state, source=CANCELLABLE_STATES, target=S.CANCELLED,
                permission=PERM_CANCEL, custom={"label": _("Cancel"), "rule": "step 14"})
    def cancel(self, *, cancel_reason: str, at: Any) -> None:
        self.cancel_reason = cancel_reason
        self.closed_at = at


class ContactAttempt(models.Model):
    """One try to reach the customer (R7: every attempt is logged)."""

    class Channel(models.TextChoices):
        PHONE = "phone", _("Phone call")
        SMS = "sms", _("SMS")
        IN_PERSON = "in_person", _("In person")

    class Outcome(models.TextChoices):
        REACHED = "reached", _("Reached")
        NO_ANSWER = "no_answer", _("No answer")
        BUSY = "busy", _("Busy")
        UNREACHABLE = "unreachable", _("Switched off / unreachable")
        WRONG_NUMBER = "wrong_number", _("Wrong number")

    order = models.ForeignKey(WorkOrder, on_delete=models.CASCADE, related_name="contacts",
                              verbose_name=_("work order"))
    technician = models.ForeignKey(Technician, on_delete=models.PROTECT, null=True, blank=True,
                                   related_name="+", verbose_name=_("technician"))
    at = models.DateTimeField(_("at"))
    channel = models.CharField(_("channel"), max_length=16, choices=Channel.choices)
    outcome = models.CharField(_("outcome"), max_length=16, choices=Outcome.choices)
    note = models.CharField(_("note"), max_length=255, blank=True)
    sms_sent = models.BooleanField(_("SMS sent"), default=False)  # R8

    class Meta:
        verbose_name = _("contact attempt")
        verbose_name_plural = _("contact attempts")
        ordering = ["at", "id"]

    def __str__(self) -> str:
        return f"{self.order} {self.at:%Y-%m-%d %H:%M} {self.get_outcome_display()}"


class Assignment(models.Model):
    """Who held the order when (R4: reassignment keeps the history)."""

    order = models.ForeignKey(WorkOrder, on_delete=models.CASCADE, related_name="assignments",
                              verbose_name=_("work order"))
    technician = models.ForeignKey(Technician, on_delete=models.PROTECT, related_name="+",
                                   verbose_name=_("technician"))
    assigned_at = models.DateTimeField(_("assigned"))
    ended_at = models.DateTimeField(_("ended"), null=True, blank=True)
    assigned_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL,
                                    null=True, blank=True, related_name="+",
                                    verbose_name=_("assigned by"))
    automatic = models.BooleanField(_("automatic"), default=False)
    reason = models.CharField(_("reason"), max_length=255, blank=True)

    class Meta:
        verbose_name = _("assignment")
        verbose_name_plural = _("assignments")
        ordering = ["assigned_at", "id"]
        constraints = [
            models.UniqueConstraint(fields=["order"], condition=models.Q(ended_at__isnull=True),
                                    name="one_open_assignment_per_order"),
        ]

    def __str__(self) -> str:
        return f"{self.order} → {self.technician}"


def shown_times(at: Any, received_at: Any) -> str:
    """When something happened, and when it reached the server if that was later (a step
    done offline): "2026-12-07 10:02 (sent 10:40)", local time; the second date only when
    it is another day."""
    local_at = timezone.localtime(at)
    at_text = f"{local_at:%Y-%m-%d %H:%M}"
    if received_at is None:
        return at_text
    local_received = timezone.localtime(received_at)
    received_text = (f"{local_received:%H:%M}" if local_received.date() == local_at.date()
                     else f"{local_received:%Y-%m-%d %H:%M}")
    return str(_("%(at)s (sent %(received)s)") % {"at": at_text, "received": received_text})


class AppendOnlyQuerySet(models.QuerySet):
    def update(self, **kwargs: Any) -> int:
        raise TypeError("The work-order event log is append-only (R42).")

    def delete(self) -> tuple[int, dict[str, int]]:
        raise TypeError("The work-order event log is append-only (R42).")


class WorkOrderEvent(models.Model):
    """One row per change to an order: who, when, from, to, why (R42). Append-only."""

    order = models.ForeignKey(WorkOrder, on_delete=models.PROTECT, related_name="events",
                              verbose_name=_("work order"))
    at = models.DateTimeField(_("at"), db_index=True)
    #: When a step done offline on the phone reached the server (``at`` is when it was
    #: done); empty for everything recorded as it happened (``workorders.offline``).
    received_at = models.DateTimeField(_("received"), null=True, blank=True)
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True,
                              blank=True, related_name="+", verbose_name=_("by"))
    #: Who acted, as shown: a user name, "system", or an API client's name.
    actor_label = models.CharField(_("by (label)"), max_length=150)
    action = models.CharField(_("action"), max_length=64, choices=OrderAction.choices)
    from_state = models.CharField(_("from"), max_length=20, choices=State.choices, blank=True)
    to_state = models.CharField(_("to"), max_length=20, choices=State.choices)
    reason = models.TextField(_("reason"), blank=True)
    payload = models.JSONField(_("details"), default=dict, blank=True)

    objects = AppendOnlyQuerySet.as_manager()

    class Meta:
        verbose_name = _("work-order event")
        verbose_name_plural = _("work-order events")
        ordering = ["at", "id"]
        indexes = [models.Index(fields=["order", "at"], name="woevent_order_at")]

    def __str__(self) -> str:
        return f"{self.order_id} {self.action} {self.from_state}→{self.to_state}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        if self.pk is not None:
            raise TypeError("The work-order event log is append-only (R42).")
        super().save(*args, **kwargs)

    @property
    def shown_at(self) -> str:
        """"2026-12-07 10:02", or for a step replayed from a phone "2026-12-07 10:02 (sent
        10:40)" (``shown_times``)."""
        return shown_times(self.at, self.received_at)

    def delete(self, *args: Any, **kwargs: Any) -> tuple[int, dict[str, int]]:
        raise TypeError("The work-order event log is append-only (R42).")


class Face(models.TextChoices):
    """Through which part of the product customer data was shown (R40)."""

    ADMIN = "admin", _("Admin desk")
    API = "api", _("API")
    FIELD = "field", _("Technician pages")
    PORTAL = "portal", _("Customer pages")
    EXPORT = "export", _("Export")


class PiiAccess(models.Model):
    """Someone was shown a customer's full contact data (R40: attributable): who, when,
    which customer and order, what, through which face and on which page or endpoint.
    Written only by ``workorders.pii``."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT,
                             related_name="+", verbose_name=_("user"))
    order = models.ForeignKey(WorkOrder, on_delete=models.CASCADE, related_name="+",
                              null=True, blank=True, verbose_name=_("work order"))
    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="+",
                                 null=True, blank=True, verbose_name=_("customer"))
    at = models.DateTimeField(_("at"))
    face = models.CharField(_("face"), max_length=16, choices=Face.choices,
                            default=Face.ADMIN)
    where = models.CharField(_("where"), max_length=64)
    what = models.CharField(_("what"), max_length=64, default="phone")
    #: For an export (``Face.EXPORT``): how many rows of customer data the file held.
    rows = models.PositiveIntegerField(_("rows"), null=True, blank=True)

    class Meta:
        verbose_name = _("personal-data access")
        verbose_name_plural = _("personal-data accesses")
        ordering = ["-at"]
        indexes = [models.Index(fields=["customer", "at"], name="piiaccess_customer_at")]

    def __str__(self) -> str:
        return f"{self.user} {self.order_id or self.customer_id} {self.at:%Y-%m-%d %H:%M}"


# --- The visit's records: photos, consent, the completion report, the sign-off ----------
# (R17, R22, R23, R25-R27). Written only by ``workorders.services``; never edited in place
# once the customer has signed.

class FaultCause(models.TextChoices):
    """Why a repaired fault happened (R25)."""

    LINE = "line", _("Line")
    EQUIPMENT = "equipment", _("Equipment")
    EXTERNAL_DAMAGE = "external_damage", _("External damage")
    WEATHER = "weather", _("Weather")
    CUSTOMER_EQUIPMENT = "customer_equipment", _("Customer equipment")
    OTHER = "other", _("Other")


def photo_upload_to(instance: Any, filename: str) -> str:
    return f"orders/{instance.order_id}/photos/{filename}"


def signature_upload_to(instance: Any, filename: str) -> str:
    return f"orders/{instance.order_id}/signatures/{filename}"


class Photo(models.Model):
    """A photo taken on the visit, resized server-side and kept in the default storage."""

    class Kind(models.TextChoices):
        CHECK_IN = "check_in", _("Check-in")  # R17
        INSTALLATION = "installation", _("Installation")  # R23
        SPEED_TEST = "speed_test", _("Speed test")  # R23
        OTHER = "other", _("Other")

    order = models.ForeignKey(WorkOrder, on_delete=models.CASCADE, related_name="photos",
                              verbose_name=_("work order"))
    kind = models.CharField(_("kind"), max_length=16, choices=Kind.choices)
    image = models.FileField(_("image"), upload_to=photo_upload_to, max_length=200)
    width = models.PositiveIntegerField(_("width"))
    height = models.PositiveIntegerField(_("height"))
    size = models.PositiveIntegerField(_("bytes"))
    #: SHA-256 of the stored file: the signed report names its photos by this (R26).
    sha256 = models.CharField(_("SHA-256"), max_length=64)
    caption = models.CharField(_("caption"), max_length=200, blank=True)
    taken_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL,
                                 null=True, blank=True, related_name="+",
                                 verbose_name=_("taken by"))
    uploaded_at = models.DateTimeField(_("uploaded"), default=clock.now)

    class Meta:
        verbose_name = _("photo")
        verbose_name_plural = _("photos")
        ordering = ["uploaded_at", "id"]

    def __str__(self) -> str:
        return f"{self.order_id} {self.get_kind_display()} {self.uploaded_at:%Y-%m-%d %H:%M}"


class Consent(models.Model):
    """The customer's answer before a risky step, recorded (R22)."""

    class Risk(models.TextChoices):
        DRILLING = "drilling", _("Drilling walls")
        DATA_LOSS = "data_loss", _("Possible data loss")
        OTHER = "other", _("Other risky step")

    order = models.ForeignKey(WorkOrder, on_delete=models.CASCADE, related_name="consents",
                              verbose_name=_("work order"))
    risk = models.CharField(_("risk"), max_length=16, choices=Risk.choices)
    description = models.CharField(_("what will be done"), max_length=255)
    customer_name = models.CharField(_("who agreed"), max_length=100,
                                     validators=[refuse_hidden_characters])
    agreed = models.BooleanField(_("agreed"))
    recorded_at = models.DateTimeField(_("recorded"), default=clock.now)
    recorded_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL,
                                    null=True, blank=True, related_name="+",
                                    verbose_name=_("recorded by"))

    class Meta:
        verbose_name = _("consent")
        verbose_name_plural = _("consents")
        ordering = ["recorded_at", "id"]

    def __str__(self) -> str:
        return f"{self.order_id} {self.get_risk_display()}"


#: The report fields the customer signs (R26) and the completion report files (R27).
REPORT_FIELDS = ("work_done", "fault_cause", "materials", "download_mbps", "upload_mbps",
                 "onu_activated", "outstanding_issue")


class CompletionReport(models.Model):
    """What was done on the visit (R27). A draft while on site; the customer signs exactly
    this text (R26); completion files it (``filed_at``)."""

    order = models.OneToOneField(WorkOrder, on_delete=models.CASCADE, related_name="report",
                                 verbose_name=_("work order"))
    work_done = models.TextField(_("work done"))
    fault_cause = models.CharField(_("fault cause"), max_length=20, blank=True,
                                   choices=FaultCause.choices)  # R25
    materials = models.TextField(_("materials used"), blank=True)
    download_mbps = models.PositiveIntegerField(_("download speed (Mbit/s)"), null=True,
                                                blank=True)  # R23
    upload_mbps = models.PositiveIntegerField(_("upload speed (Mbit/s)"), null=True,
                                              blank=True)
    onu_activated = models.BooleanField(_("ONU activated"), default=False)  # R23
    #: 遗留问题 (R27): something left to do or to answer, flagged for the office.
    outstanding_issue = models.TextField(_("outstanding issue"), blank=True)
    updated_at = models.DateTimeField(_("updated"), default=clock.now)
    updated_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL,
                                   null=True, blank=True, related_name="+",
                                   verbose_name=_("updated by"))
    filed_at = models.DateTimeField(_("filed"), null=True, blank=True)
    filed_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL,
                                 null=True, blank=True, related_name="+",
                                 verbose_name=_("filed by"))

    class Meta:
        verbose_name = _("completion report")
        verbose_name_plural = _("completion reports")

    def __str__(self) -> str:
        return f"{self.order_id} report"

    def as_dict(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in REPORT_FIELDS}

    @property
    def has_outstanding_issue(self) -> bool:
        return bool(self.outstanding_issue.strip())


def report_hash(order: WorkOrder, report: dict[str, Any],
                photos: Iterable[str] | None = None,
                parts: dict[str, Any] | None = None) -> str:
    """SHA-256 of what the customer signs (R26): the order, the report's fields, the
    photos of the visit (their SHA-256s, read from the order unless given) and the parts
    the visit's phases register (``visit_parts``: serials R45, fee lines R47, readings
    R48..., read from the order unless given as ``sealed_parts`` gives them). Any later
    change to one of them changes the hash."""

    fields: dict[str, Any] = {name: report.get(name) for name in REPORT_FIELDS}
    fields["onu_activated"] = bool(fields["onu_activated"])
    for name in ("work_done", "materials", "outstanding_issue", "fault_cause"):
        fields[name] = str(fields[name] or "").strip()
    for name in ("download_mbps", "upload_mbps"):
        value = fields[name]
        fields[name] = None if value in (None, "") else int(value)
    content: dict[str, Any] = {
        "order": order.number, "report": fields,
        "photos": sorted(order.photos.values_list("sha256", flat=True)
                         if photos is None else photos)}
    if parts is None:
        parts = sealed_parts(order)  # equipment, fee lines, readings... (visit_parts.py)
    if parts:
        content["parts"] = parts
    text = json.dumps(content, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()


class SignOffMethod(models.TextChoices):
    DRAWN = "drawn", _("Drawn by the customer on the technician's phone")
    SMS_CODE = "sms_code", _("Drawn, and confirmed with a code sent to the customer's phone")


class Signature(models.Model):
    """The customer's sign-off (R26), bound to the order, the time and the report's hash
    by ``seal`` (an HMAC under the server's key): editing any of them breaks the seal."""

    order = models.ForeignKey(WorkOrder, on_delete=models.PROTECT, related_name="signatures",
                              verbose_name=_("work order"))
    method = models.CharField(_("method"), max_length=10, choices=SignOffMethod.choices)
    image = models.FileField(_("drawn signature"), upload_to=signature_upload_to,
                             max_length=200)
    image_sha256 = models.CharField(_("signature image SHA-256"), max_length=64,
                                    db_index=True)
    #: R26: the drawing's ink, normalised (cropped, scaled, thresholded), hashed: the same
    #: drawing saved again, re-encoded or re-sized, gives the same value.
    ink_hash = models.CharField(_("drawing fingerprint"), max_length=64, blank=True,
                                db_index=True)
    #: R26: how it was drawn: strokes of [x, y, milliseconds since the first touch].
    strokes = models.JSONField(_("strokes"), default=list, blank=True)
    signer_name = models.CharField(_("signed by"), max_length=100,
                                   validators=[refuse_hidden_characters])
    rating = models.PositiveSmallIntegerField(_("rating (1-5)"))
    comment = models.CharField(_("customer's comment"), max_length=500, blank=True)
    report_hash = models.CharField(_("report SHA-256"), max_length=64)
    signed_at = models.DateTimeField(_("signed"))
    #: R26 strong form: when the code sent to the customer's phone was typed in.
    code_verified_at = models.DateTimeField(_("SMS code verified"), null=True, blank=True)
    code_sent_to = models.CharField(_("code sent to"), max_length=32, blank=True)
    captured_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT,
                                    null=True, blank=True, related_name="+",
                                    verbose_name=_("on the phone of"))
    user_agent = models.CharField(_("browser"), max_length=255, blank=True)
    seal = models.CharField(_("seal"), max_length=64)

    class Meta:
        verbose_name = _("customer signature")
        verbose_name_plural = _("customer signatures")
        ordering = ["signed_at", "id"]

    def __str__(self) -> str:
        return f"{self.order_id} {self.get_method_display()} {self.signed_at:%Y-%m-%d %H:%M}"

    def expected_seal(self) -> str:

        def micros(moment: Any) -> str:
            return str(round(moment.timestamp() * 1_000_000)) if moment else ""

        message = "|".join([str(self.order_id), micros(self.signed_at), self.report_hash,
                            self.image_sha256, self.method, micros(self.code_verified_at)])
        return salted_hmac("workorders.Signature", message, algorithm="sha256").hexdigest()

    @property
    def seal_valid(self) -> bool:
        return constant_time_compare(self.seal, self.expected_seal())

    @property
    def content_intact(self) -> bool:
        """The report, photos and registered parts (R45-R48) still hash to what was
        signed: a row changed behind the services' back shows here."""
        report = CompletionReport.objects.filter(order_id=self.order_id).first()
        if report is None:
            return False
        return constant_time_compare(self.report_hash,
                                     report_hash(self.order, report.as_dict()))


class SignOffCode(models.Model):
    """A one-time code sent by SMS to the customer's phone for the strong sign-off (R26).
    Only its HMAC is kept; it expires, and a few wrong tries burn it."""

    order = models.ForeignKey(WorkOrder, on_delete=models.CASCADE, related_name="+",
                              verbose_name=_("work order"))
    code_hash = models.CharField(_("code HMAC"), max_length=64)
    sent_to = models.CharField(_("sent to"), max_length=32)
    created_at = models.DateTimeField(_("created"), default=clock.now)
    expires_at = models.DateTimeField(_("expires"))
    attempts = models.PositiveSmallIntegerField(_("wrong tries"), default=0)
    used_at = models.DateTimeField(_("used"), null=True, blank=True)

    class Meta:
        verbose_name = _("sign-off code")
        verbose_name_plural = _("sign-off codes")
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.order_id} {self.created_at:%Y-%m-%d %H:%M}"


# --- Steps done offline on the phone and sent later (workorders.offline) -----------------

class PhoneStepStatus(models.TextChoices):
    APPLIED = "applied", _("Applied")
    REFUSED = "refused", _("Refused")
    #: A sign-off drawn offline where the SMS code is required (R26): kept, with its time,
    #: until the technician types in the code sent when the step arrived.
    HELD = "held", _("Waiting for the customer's code")


class PhoneTimeFlag(models.TextChoices):
    """Why the phone's time of a step was not used (the arrival time was, R42)."""

    FUTURE = "future", _("Phone time after the arrival")
    BEFORE_PREVIOUS = "before_previous", _("Phone time before the order's previous event")
    TOO_OLD = "too_old", _("Phone time older than allowed")


class PhoneStepQuerySet(models.QuerySet):
    """Append-only: a row is written once, and its outcome once in the same transaction
    (``PhoneStep.settle``); nothing edits or deletes it afterwards. The one exception is a
    held step (``PhoneStepStatus.HELD``): its final outcome is written once more, when the
    customer's code arrives."""

    def update(self, **kwargs: Any) -> int:
        raise TypeError("Steps sent from phones are append-only.")

    def delete(self) -> tuple[int, dict[str, int]]:
        raise TypeError("Steps sent from phones are append-only.")


class PhoneStep(models.Model):
    """One step a technician's phone sent (done offline, queued, replayed): what, on which
    order, both of the phone's times, when it arrived, the time recorded and why the
    phone's was not used, and whether it was applied or refused and why (issue 16). The
    ``client_id`` the phone chose makes sending it twice have one effect."""

    client_id = models.UUIDField(_("client id"), unique=True)
    order = models.ForeignKey(WorkOrder, on_delete=models.PROTECT, related_name="phone_steps",
                              verbose_name=_("work order"))
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT,
                             related_name="+", verbose_name=_("technician"))
    step = models.CharField(_("step"), max_length=64)
    phone_at = models.DateTimeField(_("done (phone clock)"))
    phone_sent_at = models.DateTimeField(_("sent (phone clock)"))
    received_at = models.DateTimeField(_("received"), db_index=True)
    recorded_at = models.DateTimeField(_("recorded at"), null=True, blank=True)
    flag = models.CharField(_("time flag"), max_length=20, choices=PhoneTimeFlag.choices,
                            blank=True)
    #: The order version the phone's page showed (first of a chain), or the one the
    #: previous step of the chain left.
    based_on = models.PositiveIntegerField(_("based on version"), null=True, blank=True)
    after = models.UUIDField(_("after step"), null=True, blank=True)
    status = models.CharField(_("status"), max_length=10, choices=PhoneStepStatus.choices,
                              blank=True)
    code = models.CharField(_("refusal"), max_length=16, blank=True)
    message = models.TextField(_("message"), blank=True)
    version = models.PositiveIntegerField(_("order version after"), null=True, blank=True)
    event = models.ForeignKey(WorkOrderEvent, on_delete=models.PROTECT, null=True, blank=True,
                              related_name="+", verbose_name=_("event"))

    objects = PhoneStepQuerySet.as_manager()

    class Meta:
        verbose_name = _("step sent from a phone")
        verbose_name_plural = _("steps sent from phones")
        ordering = ["-received_at", "-id"]
        indexes = [models.Index(fields=["status", "received_at"], name="phonestep_status")]

    def __str__(self) -> str:
        return f"{self.order_id} {self.step} {self.client_id}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        if self.pk is not None:
            raise TypeError("Steps sent from phones are append-only.")
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> tuple[int, dict[str, int]]:
        raise TypeError("Steps sent from phones are append-only.")

    def settle(self, **outcome: Any) -> None:
        """Write the outcome (status, time, message, version, event) once: a new step is
        inserted with it, in the transaction that applied or refused it; a held step's
        final outcome is written once more."""
        before = self.status
        if before and before != PhoneStepStatus.HELD:
            raise TypeError("This step's outcome is written already.")
        for name, value in outcome.items():
            setattr(self, name, value)
        if self.pk is None:
            self.save()
            return
        values = {name: getattr(self, name) for name in outcome}
        models.QuerySet.update(PhoneStep.objects.filter(pk=self.pk, status=before), **values)
