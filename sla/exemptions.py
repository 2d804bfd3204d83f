"""Force-majeure exemptions (R50): a declared event outside anyone's control, and the
breaches a supervisor agreed to leave out of the figures.

An ``Exemption`` is declared for one order (by its technician, R41, or a dispatcher) or for
an area and a time range (a dispatcher); the orders it touches are its ``ExemptionOrder``
rows. A supervisor approves or rejects it. Approval marks every breach of those orders'
timers inside the range with an ``ExemptBreach`` row: the breach itself stays recorded on
the timer and in its event log (R38, nothing deleted), and the mark says who exempted it,
when and why. The compliance figures (R39) and the assessment ledger (R53) leave marked
breaches out; ``Timer.objects.filter(exempt_mark__isnull=False)`` are the exempt ones.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class ExemptionKind(models.TextChoices):
    WEATHER = "weather", _("Severe weather")
    ROAD_CLOSURE = "road_closure", _("Road closure")
    POWER_CUT = "power_cut", _("Area-wide power cut")
    OTHER = "other", _("Other event")


class ExemptionState(models.TextChoices):
    DECLARED = "declared", _("Waiting for a decision")
    APPROVED = "approved", _("Approved")
    REJECTED = "rejected", _("Rejected")


class Exemption(models.Model):
    kind = models.CharField(_("event"), max_length=16, choices=ExemptionKind.choices)
    reason = models.TextField(_("reason"))
    evidence = models.ImageField(_("evidence photo"), upload_to="exemptions/%Y/%m/",
                                 blank=True)
    #: One order (declared by its technician or a dispatcher), or an area (a dispatcher).
    order = models.ForeignKey("workorders.WorkOrder", on_delete=models.PROTECT, null=True,
                              blank=True, related_name="+", verbose_name=_("work order"))
    area = models.ForeignKey("technicians.Area", on_delete=models.PROTECT, null=True,
                             blank=True, related_name="+", verbose_name=_("area"))
    starts_at = models.DateTimeField(_("from"))
    ends_at = models.DateTimeField(_("until"))
    state = models.CharField(_("state"), max_length=10, choices=ExemptionState.choices,
                             default=ExemptionState.DECLARED)
    declared_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT,
                                    related_name="+", verbose_name=_("declared by"))
    declared_at = models.DateTimeField(_("declared"))
    decided_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT,
                                   null=True, blank=True, related_name="+",
                                   verbose_name=_("decided by"))
    decided_at = models.DateTimeField(_("decided"), null=True, blank=True)
    decision_reason = models.TextField(_("reason for the decision"), blank=True)

    class Meta:
        verbose_name = _("force-majeure exemption")
        verbose_name_plural = _("force-majeure exemptions")
        ordering = ["-declared_at", "-id"]
        permissions = [
            ("declare_exemption", _("Can declare force majeure (R50)")),
            ("decide_exemption", _("Can approve or reject force majeure (R50)")),
        ]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(order__isnull=False) | models.Q(area__isnull=False),
                name="exemption_order_or_area"),
            models.CheckConstraint(condition=models.Q(ends_at__gt=models.F("starts_at")),
                                   name="exemption_range_ordered"),
        ]
        indexes = [models.Index(fields=["state", "declared_at"], name="exemption_state")]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} #{self.pk}"


class ExemptionOrder(models.Model):
    """An order the event touches (the one declared, or the area's orders open in the
    range): its customer is told (R50, R15) and its breaches in the range are exempted on
    approval."""

    exemption = models.ForeignKey(Exemption, on_delete=models.CASCADE,
                                  related_name="affected", verbose_name=_("exemption"))
    order = models.ForeignKey("workorders.WorkOrder", on_delete=models.CASCADE,
                              related_name="+", verbose_name=_("work order"))

    class Meta:
        verbose_name = _("order affected")
        verbose_name_plural = _("orders affected")
        constraints = [models.UniqueConstraint(fields=["exemption", "order"],
                                               name="exemption_order_once"),
                       ]
        indexes = [models.Index(fields=["order"], name="exemption_order_order")]

    def __str__(self) -> str:
        return f"{self.exemption_id}: {self.order_id}"


class ExemptBreach(models.Model):
    """The exempt mark of one breached timer (R50): the breach stays on the timer (R38);
    this row says it is left out of the figures and the ledger, by whom, when and why.
    One per timer."""

    timer = models.OneToOneField("sla.Timer", on_delete=models.CASCADE,
                                 related_name="exempt_mark", verbose_name=_("timer"))
    exemption = models.ForeignKey(Exemption, on_delete=models.PROTECT,
                                  related_name="breaches", verbose_name=_("exemption"))
    exempted_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT,
                                    related_name="+", verbose_name=_("exempted by"))
    exempted_at = models.DateTimeField(_("exempted"))
    reason = models.TextField(_("why"))

    class Meta:
        verbose_name = _("exempt breach")
        verbose_name_plural = _("exempt breaches")
        indexes = [models.Index(fields=["exemption"], name="exempt_breach_exemption")]

    def __str__(self) -> str:
        return f"{self.timer_id} ({self.exemption_id})"
