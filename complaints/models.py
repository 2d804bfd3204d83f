"""Complaints (投诉, R51): what the call-centre records, how it is handled and closed, and
the response and resolution deadlines each tier promises.

A ``Complaint`` is against an order (then its customer and technician come from it) or
against a customer only. ``ComplaintPolicy`` (one row per tier, edited in the admin) says
how long the operator has to respond and to resolve; each complaint gets one
``ComplaintDeadline`` row per promise, whose due times live in the database and are swept
by a periodic job (``complaints.deadlines``) with the SLA engine's ladder: warn, breach,
escalate, each step once (``ComplaintDeadlineEvent``'s unique step). The order-bound
``sla.Timer`` cannot hold them: a complaint against a customer has no order.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.conf import settings
from django.core.validators import MinValueValidator
from django.db import models
from django.utils.translation import gettext_lazy as _

from fieldops import clock


class Tier(models.TextChoices):
    COMPLAINT = "complaint", _("Complaint")
    ESCALATED = "escalated", _("Escalated complaint (越级投诉)")
    REGULATOR = "regulator", _("Regulator appeal (申诉)")


class ComplaintChannel(models.TextChoices):
    PHONE = "phone", _("Phone call")
    ONLINE = "online", _("Online (app, web, message)")
    IN_PERSON = "in_person", _("In person")
    LETTER = "letter", _("Letter")
    REGULATOR = "regulator", _("Through the regulator")


class ComplaintStatus(models.TextChoices):
    OPEN = "open", _("Open")
    IN_HAND = "in_hand", _("Being handled")
    CLOSED = "closed", _("Closed")


class Outcome(models.TextChoices):
    PENDING = "", _("Not decided yet")
    UPHELD = "upheld", _("Upheld")
    NOT_UPHELD = "not_upheld", _("Not upheld")


class Closure(models.TextChoices):
    CONFIRMED = "confirmed", _("The customer confirmed the solution")
    CALLBACK = "callback", _("A callback was made and recorded")


def default_ladder() -> list[dict[str, Any]]:
    """R51 with the SLA engine's ladder (R38): warn the call-centre at 80 %, tell the
    call-centre and the supervisors at the deadline, the supervisors again at 150 %."""
    return [
        {"percent": 80, "event": "warned", "notify": ["call_centre"]},
        {"percent": 100, "event": "breached", "notify": ["call_centre", "supervisor"]},
        {"percent": 150, "event": "escalated", "notify": ["supervisor"]},
    ]


class ComplaintPolicy(models.Model):
    """R51: per tier, how long the operator has to respond to the customer and to resolve
    the complaint. Editable in the admin; a change applies to complaints recorded after it."""

    tier = models.CharField(_("tier"), max_length=16, choices=Tier.choices, unique=True)
    response_minutes = models.PositiveIntegerField(
        _("respond within (minutes)"), validators=[MinValueValidator(1)])
    resolution_minutes = models.PositiveIntegerField(
        _("resolve within (minutes)"), validators=[MinValueValidator(1)])
    calendar = models.ForeignKey("sla.BusinessCalendar", on_delete=models.PROTECT, null=True,
                                 blank=True, related_name="+", verbose_name=_("calendar"),
                                 help_text=_("Empty: calendar time (every hour counts)."))
    ladder = models.JSONField(_("escalation ladder"), default=default_ladder)

    class Meta:
        verbose_name = _("complaint deadline policy")
        verbose_name_plural = _("complaint deadline policies")
        ordering = ["tier"]

    def __str__(self) -> str:
        return str(self.get_tier_display())


class Complaint(models.Model):
    NUMBER_PREFIX = "TS"

    tier = models.CharField(_("tier"), max_length=16, choices=Tier.choices)
    channel = models.CharField(_("channel"), max_length=16, choices=ComplaintChannel.choices)
    #: The complainant's words: never shown to the technician concerned (R51).
    text = models.TextField(_("what the customer says"))
    order = models.ForeignKey("workorders.WorkOrder", on_delete=models.PROTECT, null=True,
                              blank=True, related_name="complaints",
                              verbose_name=_("work order"))
    customer = models.ForeignKey("workorders.Customer", on_delete=models.PROTECT,
                                 related_name="complaints", verbose_name=_("customer"))
    #: The technician complained about (the order's, when it was recorded), if any.
    technician = models.ForeignKey("technicians.Technician", on_delete=models.PROTECT,
                                   null=True, blank=True, related_name="complaints",
                                   verbose_name=_("technician concerned"))
    status = models.CharField(_("status"), max_length=10, choices=ComplaintStatus.choices,
                              default=ComplaintStatus.OPEN)
    recorded_at = models.DateTimeField(_("recorded"), default=clock.now)
    recorded_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT,
                                    related_name="+", verbose_name=_("recorded by"))
    solution = models.TextField(_("solution"), blank=True)
    compensation = models.DecimalField(_("compensation (yuan)"), max_digits=10,
                                       decimal_places=2, default=Decimal("0.00"))
    compensation_note = models.CharField(_("compensation details"), max_length=255,
                                         blank=True)
    outcome = models.CharField(_("outcome"), max_length=12, choices=Outcome.choices,
                               blank=True, default=Outcome.PENDING)
    decided_at = models.DateTimeField(_("decided"), null=True, blank=True)
    decided_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT,
                                   null=True, blank=True, related_name="+",
                                   verbose_name=_("decided by"))
    decision_note = models.TextField(_("decision note"), blank=True)
    #: What a supervisor chose to let the technician read (R51: nothing else of the text).
    released_note = models.TextField(_("note released to the technician"), blank=True)
    closed_at = models.DateTimeField(_("closed"), null=True, blank=True)
    closed_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT,
                                  null=True, blank=True, related_name="+",
                                  verbose_name=_("closed by"))
    closure = models.CharField(_("closed on"), max_length=12, choices=Closure.choices,
                               blank=True)
    closure_note = models.TextField(_("closing note"), blank=True)
    version = models.PositiveIntegerField(_("version"), default=1)

    class Meta:
        verbose_name = _("complaint")
        verbose_name_plural = _("complaints")
        ordering = ["-recorded_at", "-id"]
        permissions = [
            ("handle_complaint", _("Can handle and close complaints")),
            ("decide_complaint", _("Can decide complaints and release notes")),
        ]
        indexes = [models.Index(fields=["status", "recorded_at"], name="complaint_status")]

    def __str__(self) -> str:
        return self.number

    @property
    def number(self) -> str:
        return f"{self.NUMBER_PREFIX}{self.pk:08d}" if self.pk else f"{self.NUMBER_PREFIX}-new"


class ContactKind(models.TextChoices):
    CALL = "call", _("Phone call")
    CALLBACK = "callback", _("Callback after the solution")
    VISIT = "visit", _("Visit")
    MESSAGE = "message", _("Message")


class ComplaintContact(models.Model):
    """One contact with the customer about the complaint (R51: recorded in full). The first
    one meets the response deadline."""

    complaint = models.ForeignKey(Complaint, on_delete=models.CASCADE, related_name="contacts",
                                  verbose_name=_("complaint"))
    kind = models.CharField(_("contact"), max_length=10, choices=ContactKind.choices)
    at = models.DateTimeField(_("at"), default=clock.now)
    by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT,
                           related_name="+", verbose_name=_("by"))
    note = models.TextField(_("what was said"))
    customer_confirmed = models.BooleanField(_("customer confirmed the solution"),
                                             default=False)

    class Meta:
        verbose_name = _("complaint contact")
        verbose_name_plural = _("complaint contacts")
        ordering = ["at", "id"]

    def __str__(self) -> str:
        return f"{self.complaint_id} {self.kind} {self.at:%Y-%m-%d %H:%M}"


class DeadlineKind(models.TextChoices):
    RESPONSE = "response", _("Respond to the customer")
    RESOLUTION = "resolution", _("Resolve the complaint")


class DeadlineStatus(models.TextChoices):
    ARMED = "armed", _("Running")
    MET = "met", _("Done")
    CANCELLED = "cancelled", _("Cancelled")


class ComplaintDeadline(models.Model):
    """One promise of one complaint (R51). ``due_at`` is fixed when it is armed (a
    complaint's clock never pauses); ``next_check_at`` is the next ladder step, NULL when
    nothing is left to fire; ``breached_at`` (the true due time, set once) stays set."""

    complaint = models.ForeignKey(Complaint, on_delete=models.CASCADE,
                                  related_name="deadlines", verbose_name=_("complaint"))
    kind = models.CharField(_("deadline"), max_length=12, choices=DeadlineKind.choices)
    status = models.CharField(_("status"), max_length=10, choices=DeadlineStatus.choices,
                              default=DeadlineStatus.ARMED)
    started_at = models.DateTimeField(_("started"))
    target_minutes = models.PositiveIntegerField(_("target (minutes)"))
    calendar = models.ForeignKey("sla.BusinessCalendar", on_delete=models.PROTECT, null=True,
                                 blank=True, related_name="+", verbose_name=_("calendar"))
    ladder = models.JSONField(_("escalation ladder"), default=default_ladder)
    due_at = models.DateTimeField(_("due"))
    next_check_at = models.DateTimeField(_("next check"), null=True, blank=True)
    escalation_level = models.PositiveSmallIntegerField(_("ladder steps fired"), default=0)
    warned_at = models.DateTimeField(_("warned"), null=True, blank=True)
    breached_at = models.DateTimeField(_("breached"), null=True, blank=True)
    met_at = models.DateTimeField(_("done"), null=True, blank=True)
    failures = models.PositiveSmallIntegerField(_("evaluation failures"), default=0)

    class Meta:
        verbose_name = _("complaint deadline")
        verbose_name_plural = _("complaint deadlines")
        ordering = ["due_at", "id"]
        constraints = [models.UniqueConstraint(fields=["complaint", "kind"],
                                               name="one_deadline_per_complaint_kind")]
        indexes = [models.Index(fields=["next_check_at"], name="complaint_deadline_due",
                                condition=models.Q(status="armed",
                                                   next_check_at__isnull=False))]

    def __str__(self) -> str:
        return f"{self.complaint_id} {self.kind} {self.status}"

    @property
    def outcome(self) -> str:
        """"breached", "met" (done in time), or "" while it is still running."""
        if self.breached_at is not None:
            return "breached"
        if self.status == DeadlineStatus.MET:
            return "met"
        return ""


class DeadlineEventKind(models.TextChoices):
    WARNED = "warned", _("Warned")
    BREACHED = "breached", _("Breached")
    ESCALATED = "escalated", _("Escalated")
    MET = "met", _("Done")


class ComplaintDeadlineEvent(models.Model):
    """Append-only log of a deadline's ladder; a step fires once however many sweeps race."""

    deadline = models.ForeignKey(ComplaintDeadline, on_delete=models.CASCADE,
                                 related_name="events", verbose_name=_("deadline"),
                                 db_index=False)
    kind = models.CharField(_("event"), max_length=10, choices=DeadlineEventKind.choices)
    #: When the step was truly reached (not when the sweep noticed).
    at = models.DateTimeField(_("at"))
    recorded_at = models.DateTimeField(_("recorded"), default=clock.now)
    level = models.PositiveSmallIntegerField(_("ladder step"), null=True, blank=True)

    class Meta:
        verbose_name = _("complaint deadline event")
        verbose_name_plural = _("complaint deadline events")
        ordering = ["at", "id"]
        constraints = [models.UniqueConstraint(fields=["deadline", "level"],
                                               name="one_complaint_event_per_step")]

    def __str__(self) -> str:
        return f"{self.deadline_id} {self.kind} {self.at:%Y-%m-%d %H:%M}"
