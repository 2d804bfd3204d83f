"""The assessment ledger (考核, R53): append-only entries per technician, the policy that
prices each kind of entry, and appeals.

An entry is never edited or deleted (the model, its queryset and, on PostgreSQL, a trigger
refuse it). A supervisor's decision to reverse an entry is a *new* entry with the opposite
points and amount that references the original. Each entry has a source (the timer, the
appointment, the complaint, the inspection, the entry it reverses) and (kind, source) is
unique: an event handled twice makes one entry.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from fieldops import clock


class EntryKind(models.TextChoices):
    # Missed promises, one kind per SLA timer kind (sla.timers.TimerKind; R38).
    BREACH_CONTACT = "breach_contact", _("Late first contact")  # R7, R7a
    BREACH_VISIT = "breach_visit", _("Late on site for a repair")  # R34, R35
    BREACH_NO_VISIT_ANSWER = "breach_no_visit_answer", _("Late answer without a visit")  # R36
    BREACH_ARRIVAL = "breach_arrival", _("Late arrival")  # R14
    BREACH_REWORK_CONTACT = "breach_rework_contact", _("Late re-contact after a complaint")  # R31
    MISSED_APPOINTMENT = "missed_appointment", _("Appointment missed by us")  # R15, R16
    SECOND_MISS = "second_miss", _("Same customer's appointment missed twice")  # R16
    COMPLAINT_UPHELD = "complaint_upheld", _("Upheld complaint")  # R51
    INSPECTION_FAILED = "inspection_failed", _("Failed inspection")  # R52
    ON_TIME_MONTH = "on_time_month", _("A month without a missed promise")  # positive
    REVERSAL = "reversal", _("Reversal after an appeal")  # R53


#: The points and amount of a kind when the policy table has no row for it (R53: the
#: operator edits them in the admin; these are the defaults a new installation starts from).
DEFAULT_POLICY: dict[str, tuple[int, Decimal]] = {
    EntryKind.BREACH_CONTACT: (-1, Decimal("-20.00")),
    EntryKind.BREACH_VISIT: (-2, Decimal("-50.00")),
    EntryKind.BREACH_NO_VISIT_ANSWER: (-1, Decimal("-20.00")),
    EntryKind.BREACH_ARRIVAL: (-1, Decimal("-20.00")),
    EntryKind.BREACH_REWORK_CONTACT: (-2, Decimal("-50.00")),
    EntryKind.MISSED_APPOINTMENT: (-2, Decimal("-50.00")),
    EntryKind.SECOND_MISS: (-5, Decimal("-200.00")),
    EntryKind.COMPLAINT_UPHELD: (-3, Decimal("-100.00")),
    EntryKind.INSPECTION_FAILED: (-3, Decimal("-100.00")),
    EntryKind.ON_TIME_MONTH: (2, Decimal("100.00")),
}
DEFAULT_APPEAL_DAYS = 7


class AssessmentRule(models.Model):
    """What one kind of entry is worth, from a day on (effective-dated: a change applies to
    entries whose event happens on or after ``effective_from``; older rows stay as they
    were priced). R53: the points and amounts are policy."""

    kind = models.CharField(_("kind"), max_length=32,
                            choices=[c for c in EntryKind.choices if c[0] != EntryKind.REVERSAL])
    effective_from = models.DateField(_("effective from"))
    points = models.IntegerField(_("points"), help_text=_("Negative for a deduction."))
    amount = models.DecimalField(_("amount (yuan)"), max_digits=10, decimal_places=2,
                                 help_text=_("Negative for a deduction."))
    appeal_window_days = models.PositiveSmallIntegerField(
        _("appeal window (days)"), default=DEFAULT_APPEAL_DAYS,
        help_text=_("How many days after the entry the technician may appeal it."))
    note = models.CharField(_("note"), max_length=200, blank=True)

    class Meta:
        verbose_name = _("assessment rule")
        verbose_name_plural = _("assessment rules")
        ordering = ["kind", "-effective_from"]
        constraints = [models.UniqueConstraint(fields=["kind", "effective_from"],
                                               name="assessment_rule_kind_day")]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.effective_from}: {self.points} / {self.amount}"


class AppendOnlyQuerySet(models.QuerySet):
    def update(self, **kwargs: Any) -> int:
        raise TypeError("The assessment ledger is append-only (R53).")

    def delete(self) -> tuple[int, dict[str, int]]:
        raise TypeError("The assessment ledger is append-only (R53).")


class Entry(models.Model):
    """One line of a technician's assessment (R53). Never changed once written."""

    technician = models.ForeignKey("technicians.Technician", on_delete=models.PROTECT,
                                   related_name="assessment_entries",
                                   verbose_name=_("technician"))
    kind = models.CharField(_("kind"), max_length=32, choices=EntryKind.choices)
    points = models.IntegerField(_("points"))
    amount = models.DecimalField(_("amount (yuan)"), max_digits=10, decimal_places=2)
    #: The first day of the month the entry counts in, in the operator's time zone.
    period = models.DateField(_("month"))
    occurred_at = models.DateTimeField(_("happened"))
    recorded_at = models.DateTimeField(_("recorded"), default=clock.now)
    #: What caused it: ("timer", id), ("appointment", id), ("entry", id) for a reversal,
    #: ("complaint", id), ("inspection", id)... Unique with the kind: exactly once.
    source_type = models.CharField(_("source"), max_length=16)
    source_id = models.CharField(_("source id"), max_length=64)
    order = models.ForeignKey("workorders.WorkOrder", on_delete=models.PROTECT, null=True,
                              blank=True, related_name="+", verbose_name=_("work order"))
    reason = models.TextField(_("reason"))
    rule = models.ForeignKey(AssessmentRule, on_delete=models.PROTECT, null=True, blank=True,
                             related_name="+", verbose_name=_("priced by"))
    #: The original entry a reversal cancels (R53: a decision is a new entry).
    reverses = models.OneToOneField("self", on_delete=models.PROTECT, null=True, blank=True,
                                    related_name="reversed_by", verbose_name=_("reverses"))
    appeal_until = models.DateTimeField(_("appeal until"), null=True, blank=True)
    recorded_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT,
                                    null=True, blank=True, related_name="+",
                                    verbose_name=_("recorded by"))

    objects = AppendOnlyQuerySet.as_manager()

    class Meta:
        verbose_name = _("assessment entry")
        verbose_name_plural = _("assessment entries")
        ordering = ["-occurred_at", "-id"]
        constraints = [models.UniqueConstraint(fields=["kind", "source_type", "source_id"],
                                               name="assessment_entry_once")]
        indexes = [models.Index(fields=["technician", "period"],
                                name="assessment_entry_tech_month"),
                   models.Index(fields=["period"], name="assessment_entry_month")]

    def __str__(self) -> str:
        return f"{self.technician_id} {self.get_kind_display()} {self.points:+d}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        if not self._state.adding:
            raise TypeError("The assessment ledger is append-only (R53).")
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> tuple[int, dict[str, int]]:
        raise TypeError("The assessment ledger is append-only (R53).")

    @property
    def is_negative(self) -> bool:
        return self.points < 0 or self.amount < 0

    def appealable_at(self, moment: dt.datetime) -> bool:
        return (self.kind != EntryKind.REVERSAL and self.is_negative
                and self.appeal_until is not None and moment <= self.appeal_until)


class AppealStatus(models.TextChoices):
    PENDING = "pending", _("Waiting for a decision")
    UPHELD = "upheld", _("Entry upheld")
    REVERSED = "reversed", _("Entry reversed")


class Appeal(models.Model):
    """A technician's appeal of one of their entries, with text and photos; one per entry
    (R53). A supervisor decides once: uphold, or reverse (a new entry)."""

    entry = models.OneToOneField(Entry, on_delete=models.PROTECT, related_name="appeal",
                                 verbose_name=_("entry"))
    text = models.TextField(_("why the entry is wrong"))
    filed_at = models.DateTimeField(_("filed"), default=clock.now)
    filed_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT,
                                 related_name="+", verbose_name=_("filed by"))
    status = models.CharField(_("status"), max_length=10, choices=AppealStatus.choices,
                              default=AppealStatus.PENDING)
    decided_at = models.DateTimeField(_("decided"), null=True, blank=True)
    decided_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT,
                                   null=True, blank=True, related_name="+",
                                   verbose_name=_("decided by"))
    decision_note = models.TextField(_("decision note"), blank=True)

    class Meta:
        verbose_name = _("appeal")
        verbose_name_plural = _("appeals")
        ordering = ["-filed_at", "-id"]
        permissions = [("decide_appeal", _("Can decide assessment appeals"))]

    def __str__(self) -> str:
        return f"{self.entry_id} {self.get_status_display()}"


def appeal_photo_upload_to(instance: AppealPhoto, filename: str) -> str:
    return f"assessment/appeals/{clock.now():%Y/%m}/{filename}"


class AppealPhoto(models.Model):
    """Evidence for an appeal: checked and re-encoded like the visit's photos."""

    appeal = models.ForeignKey(Appeal, on_delete=models.CASCADE, related_name="photos",
                               verbose_name=_("appeal"))
    image = models.FileField(_("image"), upload_to=appeal_photo_upload_to, max_length=200)
    width = models.PositiveIntegerField(_("width"))
    height = models.PositiveIntegerField(_("height"))
    size = models.PositiveIntegerField(_("bytes"))
    sha256 = models.CharField(_("SHA-256"), max_length=64)
    uploaded_at = models.DateTimeField(_("uploaded"), default=clock.now)

    class Meta:
        verbose_name = _("appeal photo")
        verbose_name_plural = _("appeal photos")
        ordering = ["id"]

    def __str__(self) -> str:
        return f"{self.appeal_id} {self.sha256[:10]}"
