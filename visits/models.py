"""The visit's checklist (R43, R44, R49, and the state of R22/R27/R45-R48 steps), its
policy per kind and access type, and the measured test results with their ranges (R48).

Written only by ``visits.services``; after sign-off nothing here changes (the services
accept on-site orders only), and the signature's hash covers it (``visits.checks``).
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.utils.translation import gettext_lazy as _

from fieldops import clock
from workorders.models import AccessType, Kind, Photo, WorkOrder


class StepKey(models.TextChoices):
    """The steps of a visit between arrival and sign-off, in their usual order."""

    SAFETY = "safety", _("Safety: work at height")  # R49
    CONSENT = "consent", _("Consent for risky steps")  # R22
    WORK = "work", _("Work and report")  # R27
    TESTS = "tests", _("Measured tests")  # R48
    EQUIPMENT = "equipment", _("Equipment")  # R45
    MATERIALS = "materials", _("Materials")  # R46
    TRYOUT = "tryout", _("Try-out and explanation")  # R43
    CHARGES = "charges", _("Charges")  # R47
    CLEANUP = "cleanup", _("Clean-up")  # R44


#: The domain rule behind each step (for errors' ``rule`` and the admin; never shown to
#: technicians or customers).
STEP_RULES: dict[str, str] = {
    StepKey.SAFETY: "R49", StepKey.CONSENT: "R22", StepKey.WORK: "R27",
    StepKey.TESTS: "R48", StepKey.EQUIPMENT: "R45", StepKey.MATERIALS: "R46",
    StepKey.TRYOUT: "R43", StepKey.CHARGES: "R47", StepKey.CLEANUP: "R44",
}

#: Steps whose records live in another app of the same floor; their state comes from
#: ``workorders.visit_parts.visit_steps_done`` (absent there: the step is not shown).
FOREIGN_STEPS = (StepKey.EQUIPMENT, StepKey.MATERIALS, StepKey.CHARGES)


class Requirement(models.TextChoices):
    REQUIRED = "required", _("Required")
    OPTIONAL = "optional", _("Optional")
    HIDDEN = "hidden", _("Not shown")


def _requirement(label: Any, default: str) -> Any:
    return models.CharField(label, max_length=8, choices=Requirement.choices, default=default)


class ChecklistPolicy(models.Model):
    """Which steps a visit requires, per kind and access type (blank: any). The most
    specific row wins: kind and access type, then kind, then access type, then the
    default row (both blank)."""

    kind = models.CharField(_("kind"), max_length=8, choices=Kind.choices, blank=True)
    access_type = models.CharField(_("access type"), max_length=8,
                                   choices=AccessType.choices, blank=True)
    safety = _requirement(_("safety (when working at height)"), Requirement.REQUIRED)
    consent = _requirement(_("consent"), Requirement.OPTIONAL)
    work = _requirement(_("work and report"), Requirement.REQUIRED)
    tests = _requirement(_("measured tests"), Requirement.REQUIRED)
    equipment = _requirement(_("equipment"), Requirement.OPTIONAL)
    materials = _requirement(_("materials"), Requirement.OPTIONAL)
    tryout = _requirement(_("try-out and explanation"), Requirement.REQUIRED)
    charges = _requirement(_("charges"), Requirement.OPTIONAL)
    cleanup = _requirement(_("clean-up"), Requirement.REQUIRED)
    #: R43: a repair's explanation must include the cause of the fault.
    explain_cause = models.BooleanField(_("the cause must be explained"), default=False)
    #: R49: these visits are work at height or on a pole unless the policy says not.
    work_at_height = models.BooleanField(_("always work at height"), default=False)

    class Meta:
        verbose_name = _("checklist policy")
        verbose_name_plural = _("checklist policies")
        ordering = ["kind", "access_type"]
        constraints = [models.UniqueConstraint(fields=["kind", "access_type"],
                                               name="visits_policy_kind_access")]

    def __str__(self) -> str:
        kind = self.get_kind_display() if self.kind else _("any kind")
        access = self.get_access_type_display() if self.access_type else _("any access")
        return f"{kind} · {access}"

    def requirement(self, step: str) -> str:
        return str(getattr(self, step))

    def clean(self) -> None:
        if self.work == Requirement.HIDDEN:
            raise ValidationError({"work": _("The work and its report are always shown.")})


class TestRangePolicy(models.Model):
    """R48: what a measured result must show, per access type (blank: the default row).
    There is no plan bandwidth on the order or the account, so the subscribed bandwidth
    the speed test is held against is kept here, as the policy's expected value."""

    __test__ = False  # not a pytest test class

    access_type = models.CharField(_("access type"), max_length=8,
                                   choices=AccessType.choices, blank=True, unique=True)
    rx_min_dbm = models.DecimalField(_("optical receive power, weakest (dBm)"),
                                     max_digits=5, decimal_places=1, null=True, blank=True,
                                     help_text=_("Empty: no optical reading for this access."))
    rx_max_dbm = models.DecimalField(_("optical receive power, strongest (dBm)"),
                                     max_digits=5, decimal_places=1, null=True, blank=True)
    plan_down_mbps = models.PositiveIntegerField(_("subscribed download (Mbit/s)"),
                                                 default=100)
    plan_up_mbps = models.PositiveIntegerField(_("subscribed upload (Mbit/s)"), default=20)
    min_speed_percent = models.PositiveSmallIntegerField(
        _("speed test at least (percent of the subscribed bandwidth)"), default=90)

    class Meta:
        verbose_name = _("test range policy")
        verbose_name_plural = _("test range policies")
        ordering = ["access_type"]

    def __str__(self) -> str:
        return self.get_access_type_display() if self.access_type else str(_("any access"))

    def clean(self) -> None:
        if (self.rx_min_dbm is None) != (self.rx_max_dbm is None):
            raise ValidationError(_("Give both ends of the optical range, or neither."))
        if self.rx_min_dbm is not None and self.rx_max_dbm is not None:
            if self.rx_min_dbm >= self.rx_max_dbm:
                raise ValidationError({"rx_min_dbm": _(
                    "The weakest level must be below the strongest (e.g. -27 and -8).")})
            if not (self.rx_min_dbm >= RX_ABSURD_LOW and self.rx_max_dbm <= RX_ABSURD_HIGH):
                raise ValidationError({"rx_max_dbm": _("An optical range lies between "
                                                       "-50 and +10 dBm.")})
        if not 1 <= self.min_speed_percent <= 100:
            raise ValidationError({"min_speed_percent": _("Between 1 and 100.")})
        if not self.plan_down_mbps or not self.plan_up_mbps:
            raise ValidationError(_("The subscribed bandwidth is above zero."))


#: R48: readings no instrument gives: refused outright, never stored.
RX_ABSURD_LOW = Decimal("-50")
RX_ABSURD_HIGH = Decimal("10")
#: A speed test above this many times the subscribed bandwidth is a typing error.
SPEED_ABSURD_FACTOR = 2


class StepRecord(models.Model):
    """One checklist step of one visit: done (with what was done) or declined with the
    reason. Kept once per step; a change replaces it and is logged (R42)."""

    class Status(models.TextChoices):
        DONE = "done", _("Done")
        DECLINED = "declined", _("Declined")

    order = models.ForeignKey(WorkOrder, on_delete=models.CASCADE,
                              related_name="visit_steps", verbose_name=_("work order"))
    step = models.CharField(_("step"), max_length=12, choices=StepKey.choices)
    status = models.CharField(_("status"), max_length=8, choices=Status.choices)
    #: What was done: try-out (tried, worked, explained), safety (second person, sign).
    data = models.JSONField(_("details"), default=dict, blank=True)
    reason = models.TextField(_("reason"), blank=True)
    photo = models.ForeignKey(Photo, on_delete=models.SET_NULL, null=True, blank=True,
                              related_name="+", verbose_name=_("photo"))
    recorded_at = models.DateTimeField(_("recorded"), default=clock.now)
    recorded_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL,
                                    null=True, blank=True, related_name="+",
                                    verbose_name=_("recorded by"))

    class Meta:
        verbose_name = _("checklist step")
        verbose_name_plural = _("checklist steps")
        ordering = ["order", "step"]
        constraints = [models.UniqueConstraint(fields=["order", "step"],
                                               name="visits_step_once")]

    def __str__(self) -> str:
        return f"{self.order_id} {self.get_step_display()} {self.get_status_display()}"


class Measure(models.TextChoices):
    RX_POWER = "rx_power", _("Optical receive power")
    SPEED_DOWN = "speed_down", _("Speed test, download")
    SPEED_UP = "speed_up", _("Speed test, upload")
    TEST_CALL = "test_call", _("Test call")
    IPTV = "iptv", _("TV channel check")


class Source(models.TextChoices):
    TYPED = "typed", _("Typed by the technician")
    NETWORK = "network", _("Network-verified")


class TestResult(models.Model):
    """R48: one measured result of a visit, with the range it was held against."""

    __test__ = False  # not a pytest test class

    order = models.ForeignKey(WorkOrder, on_delete=models.CASCADE,
                              related_name="test_results", verbose_name=_("work order"))
    measure = models.CharField(_("measure"), max_length=12, choices=Measure.choices)
    #: dBm for the optical power, Mbit/s for the speed test; empty for a yes/no check.
    value = models.DecimalField(_("value"), max_digits=7, decimal_places=1, null=True,
                                blank=True)
    passed = models.BooleanField(_("worked"), null=True, blank=True)
    expected = models.CharField(_("expected"), max_length=40, blank=True)
    in_range = models.BooleanField(_("in range"))
    source = models.CharField(_("source"), max_length=8, choices=Source.choices,
                              default=Source.TYPED)
    onu_state = models.CharField(_("ONU registration"), max_length=40, blank=True)
    #: Why an out-of-range result is accepted (with an outstanding issue, R27).
    reason = models.TextField(_("reason if out of range"), blank=True)
    recorded_at = models.DateTimeField(_("recorded"), default=clock.now)
    recorded_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL,
                                    null=True, blank=True, related_name="+",
                                    verbose_name=_("recorded by"))

    class Meta:
        verbose_name = _("test result")
        verbose_name_plural = _("test results")
        ordering = ["order", "measure"]
        constraints = [models.UniqueConstraint(fields=["order", "measure"],
                                               name="visits_result_once")]

    def __str__(self) -> str:
        return f"{self.order_id} {self.get_measure_display()} {self.shown}"

    @property
    def shown(self) -> str:
        if self.value is None:
            return str(_("works") if self.passed else _("failed"))
        unit = "dBm" if self.measure == Measure.RX_POWER else "Mbit/s"
        return f"{self.value} {unit}"
