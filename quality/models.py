"""Quality inspection (质量巡视, R52): the policy, each day's sample, the suspicion signals
with their evidence, the photos' perceptual fingerprints, the inspections and the quality
records of failed ones."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Value
from django.db.models.functions import Coalesce
from django.utils.translation import gettext_lazy as _

from fieldops import clock

from .evidence import describe

#: The checklist a new policy starts from (the inspector ticks what was found wrong).
DEFAULT_CHECKLIST = [
    "The work in the report was really done at the address",
    "The installation is tidy and labelled",
    "The photos show this order's site and equipment",
    "The measured speed and optical power match the report",
    "The customer confirms the visit, the try-out and the signature",
    "The site was left clean",
]


class InspectionPolicy(models.Model):
    """How much is sampled and what counts as suspicious (R52), per area; the row with no
    area is the default for every area without its own."""

    area = models.OneToOneField("technicians.Area", on_delete=models.CASCADE, null=True,
                                blank=True, related_name="inspection_policy",
                                verbose_name=_("area"),
                                help_text=_("Empty: the default for every other area."))
    sample_percent = models.DecimalField(
        _("sample (percent of completions)"), max_digits=5, decimal_places=2, default=Decimal("5"),
        validators=[MinValueValidator(Decimal("0")), MaxValueValidator(Decimal("100"))])
    min_per_technician = models.PositiveSmallIntegerField(
        _("at least per technician"), default=1,
        help_text=_("Every technician with completions that day has at least this many "
                    "orders in the sample."))
    max_check_in_distance_m = models.PositiveIntegerField(
        _("check-in distance (m)"), default=500,
        help_text=_("A check-in farther than this from the address is suspicious."))
    min_minutes_install = models.PositiveSmallIntegerField(_("least minutes on site: install"),
                                                           default=20)
    min_minutes_move = models.PositiveSmallIntegerField(_("least minutes on site: move"),
                                                        default=20)
    min_minutes_repair = models.PositiveSmallIntegerField(_("least minutes on site: repair"),
                                                          default=10)
    min_signature_ms = models.PositiveIntegerField(
        _("least signature time (ms)"), default=1000,
        help_text=_("A signature drawn faster than this is suspicious."))
    min_signature_strokes = models.PositiveSmallIntegerField(
        _("least signature strokes"), default=1,
        help_text=_("A signature with fewer strokes than this is suspicious."))
    photo_max_distance = models.PositiveSmallIntegerField(
        _("photo match (differing bits)"), default=3,
        validators=[MaxValueValidator(3)],
        help_text=_("Two photos whose 64-bit fingerprints differ in at most this many bits "
                    "are the same picture (0-3)."))
    photo_window_days = models.PositiveSmallIntegerField(
        _("photo match window (days)"), default=90)
    survey_origin_window_hours = models.PositiveSmallIntegerField(
        _("survey from the technician's device or network: window (hours)"), default=24,
        validators=[MinValueValidator(1)],
        help_text=_("A survey answered from the device, or the network, that the order's "
                    "technician used this many hours before or after the answer is "
                    "suspicious."))
    checklist = models.JSONField(_("checklist"), default=list, blank=True,
                                 help_text=_("The points an inspector checks, one a line."))
    updated_at = models.DateTimeField(_("updated"), default=clock.now)

    class Meta:
        verbose_name = _("inspection policy")
        verbose_name_plural = _("inspection policies")
        # One default (no area) at most; the one-to-one keeps one row per area.
        constraints = [models.UniqueConstraint(Coalesce("area", Value(0)),
                                               name="one_inspection_policy_per_area")]

    def __str__(self) -> str:
        return str(self.area) if self.area_id else str(_("Default policy"))

    def min_minutes(self, kind: str) -> int:
        return int(getattr(self, f"min_minutes_{kind}", self.min_minutes_repair))


class PhotoHash(models.Model):
    """A photo's 64-bit perceptual hash (pHash), split into four 16-bit bands, each indexed:
    two hashes at most 3 bits apart agree on at least one whole band (pigeonhole), so a
    match is four index lookups and a bit count over the few rows found, not a scan.

    Written pending (no hash, ``hashed_at`` empty) in the upload's transaction; the
    ``fingerprint_photo`` job fills it in once (``quality.fingerprints``). A photo that
    could not be read is done with no hash."""

    photo = models.OneToOneField("workorders.Photo", on_delete=models.CASCADE,
                                 primary_key=True, related_name="phash",
                                 verbose_name=_("photo"))
    order = models.ForeignKey("workorders.WorkOrder", on_delete=models.CASCADE,
                              related_name="+", db_index=False, verbose_name=_("work order"))
    kind = models.CharField(_("kind"), max_length=16)
    #: The hash as a signed 64-bit integer (PostgreSQL's bigint).
    value = models.BigIntegerField(_("perceptual hash"), null=True, blank=True)
    band0 = models.IntegerField(null=True, blank=True)
    band1 = models.IntegerField(null=True, blank=True)
    band2 = models.IntegerField(null=True, blank=True)
    band3 = models.IntegerField(null=True, blank=True)
    uploaded_at = models.DateTimeField(_("uploaded"))
    #: When the job hashed it; empty while it waits for the job.
    hashed_at = models.DateTimeField(_("hashed"), null=True, blank=True)
    #: The duplicate-photo check when it was hashed: the nearest photo of another order
    #: within the policy (``photo``, ``order``, ``kind``, ``bits``), or empty.
    match = models.JSONField(_("matching photo"), null=True, blank=True)

    class Meta:
        verbose_name = _("photo fingerprint")
        verbose_name_plural = _("photo fingerprints")
        indexes = [models.Index(fields=[f"band{i}", "uploaded_at"], name=f"phash_band{i}")
                   for i in range(4)] + [
            models.Index(fields=["order"], name="phash_order"),
            models.Index(fields=["uploaded_at"], name="phash_pending",
                         condition=models.Q(hashed_at__isnull=True))]

    def __str__(self) -> str:
        if self.value is None:
            return f"{self.photo_id} –"
        return f"{self.photo_id} {self.value & 0xFFFFFFFFFFFFFFFF:016x}"


class SignalKind(models.TextChoices):
    FAR_CHECK_IN = "far_check_in", _("Check-in far from the address")
    PHOTO_REUSED = "photo_reused", _("Photo of another order")
    QUICK_COMPLETION = "quick_completion", _("Completed minutes after check-in")
    FAST_SIGNATURE = "fast_signature", _("Signature drawn implausibly fast")
    SURVEY_FROM_TECHNICIAN = "survey_from_tech", _("Survey answered from the technician's "
                                                   "device or network")


class RequestOrigin(models.Model):
    """Where a technician's step, or a customer's survey answer through the link, came
    from (R52): keyed hashes of the network prefix, the device cookie and the browser
    (``fieldops.origin``; never the address, the User-Agent or the cookie themselves).
    A row with ``survey`` is an answer; one without is a step of ``technician``."""

    order = models.ForeignKey("workorders.WorkOrder", on_delete=models.CASCADE,
                              related_name="+", db_index=False, verbose_name=_("work order"))
    #: The acting technician (a step) or the technician surveyed about (an answer).
    technician = models.ForeignKey("technicians.Technician", on_delete=models.CASCADE,
                                   null=True, blank=True, related_name="+",
                                   verbose_name=_("technician"))
    survey = models.OneToOneField("surveys.Survey", on_delete=models.CASCADE, null=True,
                                  blank=True, related_name="+", verbose_name=_("survey"))
    #: The order's rework round the survey asked about (answers only).
    round = models.PositiveSmallIntegerField(_("rework round"), default=0)
    action = models.CharField(_("action"), max_length=64)
    at = models.DateTimeField(_("at"))
    network = models.CharField(_("network (keyed hash)"), max_length=32, blank=True)
    device = models.CharField(_("device (keyed hash)"), max_length=32, blank=True)
    browser = models.CharField(_("browser (keyed hash)"), max_length=32, blank=True)

    class Meta:
        verbose_name = _("request origin")
        verbose_name_plural = _("request origins")
        indexes = [models.Index(fields=["technician", "at"], name="origin_technician_at"),
                   models.Index(fields=["order"], name="origin_order")]

    def __str__(self) -> str:
        return f"{self.order_id} {self.action} {self.at:%Y-%m-%d %H:%M}"


class SamplingRun(models.Model):
    """One day's sampling and signal search (R52): run once per day; a second run of the
    same day finds its row and adds nothing."""

    day = models.DateField(_("day"), unique=True)
    started_at = models.DateTimeField(_("started"), default=clock.now)
    finished_at = models.DateTimeField(_("finished"), null=True, blank=True)
    completions = models.PositiveIntegerField(_("completions"), default=0)
    sampled = models.PositiveIntegerField(_("sampled"), default=0)
    signalled = models.PositiveIntegerField(_("with signals"), default=0)
    drawn = models.PositiveIntegerField(_("inspections drawn"), default=0)

    class Meta:
        verbose_name = _("sampling run")
        verbose_name_plural = _("sampling runs")
        ordering = ["-day"]

    def __str__(self) -> str:
        return f"{self.day}"


class InspectionReason(models.TextChoices):
    SAMPLE = "sample", _("Sampled")
    SIGNAL = "signal", _("Suspicious evidence")
    SAMPLE_AND_SIGNAL = "both", _("Sampled, with suspicious evidence")


class InspectionStatus(models.TextChoices):
    OPEN = "open", _("To inspect")
    PASSED = "passed", _("Passed")
    FAILED = "failed", _("Failed")


class InspectionMethod(models.TextChoices):
    REVIEW = "review", _("Review of the evidence")
    REVISIT = "revisit", _("Revisit at the address")


class Inspection(models.Model):
    """One completed order to inspect (R52), once per completion (``round``: the order's
    rework round when it was completed, so a reworked order can be inspected again)."""

    order = models.ForeignKey("workorders.WorkOrder", on_delete=models.CASCADE,
                              related_name="inspections", verbose_name=_("work order"))
    round = models.PositiveSmallIntegerField(_("rework round"), default=0)
    area = models.ForeignKey("technicians.Area", on_delete=models.PROTECT, related_name="+",
                             verbose_name=_("area"))
    technician = models.ForeignKey("technicians.Technician", on_delete=models.PROTECT,
                                   null=True, blank=True, related_name="+",
                                   verbose_name=_("technician"))
    day = models.DateField(_("completion day"))
    completed_at = models.DateTimeField(_("completed"))
    reason = models.CharField(_("why inspected"), max_length=8,
                              choices=InspectionReason.choices)
    status = models.CharField(_("status"), max_length=8, choices=InspectionStatus.choices,
                              default=InspectionStatus.OPEN)
    created_at = models.DateTimeField(_("drawn"), default=clock.now)
    method = models.CharField(_("method"), max_length=8, choices=InspectionMethod.choices,
                              blank=True)
    #: The checklist points the inspector found wrong (their text, as the policy had it).
    failed_points = models.JSONField(_("points found wrong"), default=list, blank=True)
    notes = models.TextField(_("notes"), blank=True)
    revisited_at = models.DateTimeField(_("revisited"), null=True, blank=True)
    decided_at = models.DateTimeField(_("decided"), null=True, blank=True)
    decided_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT,
                                   null=True, blank=True, related_name="+",
                                   verbose_name=_("inspector"))

    class Meta:
        verbose_name = _("inspection")
        verbose_name_plural = _("inspections")
        ordering = ["status", "-day", "id"]
        constraints = [models.UniqueConstraint(fields=["order", "round"],
                                               name="one_inspection_per_completion")]
        indexes = [models.Index(fields=["status", "day"], name="inspection_status_day")]
        permissions = [("decide_inspection", _("Can pass or fail inspections"))]

    def __str__(self) -> str:
        return str(_("Inspection of %(order)s") % {"order": self.order})


class Signal(models.Model):
    """A suspicion found on a completed order (R52), with the evidence that raised it:
    ``evidence`` holds the numbers, ``describe()`` says them in words."""

    order = models.ForeignKey("workorders.WorkOrder", on_delete=models.CASCADE,
                              related_name="+", verbose_name=_("work order"))
    round = models.PositiveSmallIntegerField(_("rework round"), default=0)
    inspection = models.ForeignKey(Inspection, on_delete=models.CASCADE, null=True,
                                   blank=True, related_name="signals",
                                   verbose_name=_("inspection"))
    kind = models.CharField(_("signal"), max_length=20, choices=SignalKind.choices)
    evidence = models.JSONField(_("evidence"), default=dict)
    found_at = models.DateTimeField(_("found"), default=clock.now)

    class Meta:
        verbose_name = _("suspicion signal")
        verbose_name_plural = _("suspicion signals")
        ordering = ["order", "kind"]
        constraints = [models.UniqueConstraint(fields=["order", "round", "kind"],
                                               name="one_signal_kind_per_completion")]

    def __str__(self) -> str:
        return f"{self.order_id} {self.get_kind_display()}"

    def describe(self) -> str:
        return describe(self.kind, self.evidence)


class QualityRecord(models.Model):
    """A failed inspection, kept for good (R52): what was found, by whom, and the rework
    round it started (R31)."""

    inspection = models.OneToOneField(Inspection, on_delete=models.PROTECT,
                                      related_name="record", verbose_name=_("inspection"))
    order = models.ForeignKey("workorders.WorkOrder", on_delete=models.PROTECT,
                              related_name="+", verbose_name=_("work order"))
    technician = models.ForeignKey("technicians.Technician", on_delete=models.PROTECT,
                                   null=True, blank=True, related_name="+",
                                   verbose_name=_("technician"))
    findings = models.TextField(_("findings"))
    rework_round = models.PositiveSmallIntegerField(_("rework round started"))
    recorded_at = models.DateTimeField(_("recorded"))
    recorded_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT,
                                    related_name="+", verbose_name=_("recorded by"))

    class Meta:
        verbose_name = _("quality record")
        verbose_name_plural = _("quality records")
        ordering = ["-recorded_at"]

    def __str__(self) -> str:
        return f"{self.order_id} {self.recorded_at:%Y-%m-%d}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        if not self._state.adding:
            raise TypeError("A quality record is kept as written (R52).")
        super().save(*args, **kwargs)
