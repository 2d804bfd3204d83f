"""Charges (R47): the published price list, the fee lines of an order, its payments.

Only items on the price list in force may be charged (不准乱收费). A fee line keeps the
item's code, names and unit price as they stood when it was added, so a later change of
the list never changes what the customer was shown and signed. Fee lines are append-only:
a refund is a new negative line (by a supervisor), never an edit. A payment is made by QR
code through the payment backend (``charges.payments``); its time is the time the backend
confirmed it, and that is the receipt's time.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q
from django.utils import translation
from django.utils.translation import gettext_lazy as _

from fieldops import clock
from fieldops.text import refuse_hidden_characters
from workorders.models import Kind, WorkOrder


class Category(models.TextChoices):
    SERVICE = "service", _("Service fee")
    #: R47: charged only when the equipment repaired is out of warranty.
    REPAIR_LABOUR = "repair_labour", _("Repair labour (out of warranty)")
    #: R46/R47: a chargeable material of the catalogue, at most what the order used.
    MATERIAL = "material", _("Material")
    GOODS = "goods", _("Goods sold")


class PriceItem(models.Model):
    """One published price, in force from ``valid_from`` to ``valid_to`` (inclusive; empty:
    open-ended). A new price for the same code is a new row from a later day."""

    code = models.CharField(_("code"), max_length=32, validators=[refuse_hidden_characters])
    name_zh = models.CharField(_("name (Chinese)"), max_length=100,
                               validators=[refuse_hidden_characters])
    name_en = models.CharField(_("name (English)"), max_length=100,
                               validators=[refuse_hidden_characters])
    category = models.CharField(_("category"), max_length=16, choices=Category.choices,
                                default=Category.SERVICE)
    #: The kind of work it may be charged on (blank: any).
    kind = models.CharField(_("kind of work"), max_length=8, choices=Kind.choices,
                            blank=True)
    #: For a material: the catalogue code (inventory ``MaterialItem.code``).
    material_code = models.CharField(_("material (catalogue code)"), max_length=32,
                                     blank=True, help_text=_(
                                         "For a material: its code in the materials "
                                         "catalogue; it may be charged up to what the "
                                         "order used."))
    unit = models.CharField(_("unit"), max_length=16, blank=True,
                            help_text=_("e.g. visit, piece, metre"))
    unit_price = models.DecimalField(_("unit price (CNY)"), max_digits=8, decimal_places=2)
    valid_from = models.DateField(_("valid from"))
    valid_to = models.DateField(_("valid to"), null=True, blank=True,
                                help_text=_("Inclusive; empty: until further notice."))

    class Meta:
        verbose_name = _("price")
        verbose_name_plural = _("price list")
        ordering = ["code", "-valid_from"]
        constraints = [
            models.UniqueConstraint(fields=["code", "valid_from"], name="price_item_once"),
            models.CheckConstraint(name="price_item_positive",
                                   condition=Q(unit_price__gt=0)),
            models.CheckConstraint(name="price_item_dates",
                                   condition=Q(valid_to__isnull=True)
                                   | Q(valid_to__gte=models.F("valid_from"))),
        ]

    def __str__(self) -> str:
        return f"{self.code} {self.name} ¥{self.unit_price}"

    @property
    def name(self) -> str:
        return name_in(translation.get_language() or "", self.name_zh, self.name_en)

    def clean(self) -> None:
        if self.valid_to is not None and self.valid_from and self.valid_to < self.valid_from:
            raise ValidationError({"valid_to": _("The end is before the start.")})
        if self.category == Category.MATERIAL and not self.material_code:
            raise ValidationError({"material_code": _(
                "A material's price names its code in the materials catalogue.")})
        if self.category == Category.REPAIR_LABOUR and self.kind not in ("", Kind.REPAIR):
            raise ValidationError({"kind": _("Repair labour is charged on repairs only.")})
        if self.code and self.valid_from:
            # R47: one price per code on any day (the list in force is unambiguous).
            others = PriceItem.objects.filter(code=self.code).exclude(pk=self.pk)
            end = self.valid_to
            overlapping = others.filter(Q(valid_to__isnull=True)
                                        | Q(valid_to__gte=self.valid_from))
            if end is not None:
                overlapping = overlapping.filter(valid_from__lte=end)
            if overlapping.exists():
                raise ValidationError(_(
                    "%(code)s already has a price for some of these days; end the old one "
                    "first.") % {"code": self.code})


def name_in(language: str, name_zh: str, name_en: str) -> str:
    return name_zh if language.lower().startswith("zh") else (name_en or name_zh)


class LineKind(models.TextChoices):
    CHARGE = "charge", _("Charge")
    REFUND = "refund", _("Refund")


class AppendOnlyQuerySet(models.QuerySet):
    def update(self, **kwargs: Any) -> int:
        raise TypeError("Fee lines are append-only (R47): a refund is a new line.")

    def delete(self) -> tuple[int, dict[str, int]]:
        raise TypeError("Fee lines are append-only (R47): a refund is a new line.")


class FeeLine(models.Model):
    """One fee line of an order (R47): a charge from the price list in force, or a refund
    (a negative line by a supervisor naming the charge it refunds)."""

    order = models.ForeignKey(WorkOrder, on_delete=models.PROTECT, related_name="fee_lines",
                              verbose_name=_("work order"))
    kind = models.CharField(_("kind"), max_length=8, choices=LineKind.choices,
                            default=LineKind.CHARGE)
    item = models.ForeignKey(PriceItem, on_delete=models.PROTECT, related_name="+",
                             verbose_name=_("price"))
    #: As the item stood when the line was added (what the customer was shown).
    code = models.CharField(_("code"), max_length=32)
    name_zh = models.CharField(_("name (Chinese)"), max_length=100)
    name_en = models.CharField(_("name (English)"), max_length=100)
    unit_price = models.DecimalField(_("unit price"), max_digits=8, decimal_places=2)
    quantity = models.DecimalField(_("quantity"), max_digits=7, decimal_places=1)
    amount = models.DecimalField(_("amount"), max_digits=10, decimal_places=2)
    #: R47: for repair labour, the serial whose warranty was checked.
    serial = models.CharField(_("serial number"), max_length=64, blank=True)
    refund_of = models.ForeignKey("self", on_delete=models.PROTECT, null=True, blank=True,
                                  related_name="refunds", verbose_name=_("refund of"))
    at = models.DateTimeField(_("at"), default=clock.now)
    by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True,
                           blank=True, related_name="+", verbose_name=_("by"))
    reason = models.CharField(_("reason"), max_length=255, blank=True)

    objects = AppendOnlyQuerySet.as_manager()

    class Meta:
        verbose_name = _("fee line")
        verbose_name_plural = _("fee lines")
        ordering = ["at", "id"]
        permissions = [("refund_feeline", _("Can refund a fee line"))]
        constraints = [
            models.CheckConstraint(
                name="fee_line_sign",
                condition=(Q(kind="charge", amount__gte=0, quantity__gt=0,
                             refund_of__isnull=True)
                           | Q(kind="refund", amount__lt=0, refund_of__isnull=False))),
        ]

    def __str__(self) -> str:
        return f"{self.order_id} {self.code} {self.amount}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        if self.pk is not None:
            raise TypeError("Fee lines are append-only (R47): a refund is a new line.")
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> tuple[int, dict[str, int]]:
        raise TypeError("Fee lines are append-only (R47): a refund is a new line.")

    @property
    def name(self) -> str:
        return name_in(translation.get_language() or "", self.name_zh, self.name_en)


class PaymentStatus(models.TextChoices):
    PENDING = "pending", _("Waiting for payment")
    PAID = "paid", _("Paid")
    CANCELLED = "cancelled", _("Replaced (the amount changed)")


class Payment(models.Model):
    """A payment asked of the customer by QR code (R47). ``paid_at`` is the time the
    payment backend confirmed it: the receipt's time."""

    order = models.ForeignKey(WorkOrder, on_delete=models.PROTECT, related_name="payments",
                              verbose_name=_("work order"))
    amount = models.DecimalField(_("amount"), max_digits=10, decimal_places=2)
    status = models.CharField(_("status"), max_length=10, choices=PaymentStatus.choices,
                              default=PaymentStatus.PENDING)
    backend = models.CharField(_("payment backend"), max_length=100)
    #: Our reference, sent to the backend and named by its callback.
    reference = models.CharField(_("reference"), max_length=40, unique=True)
    #: Makes the customer's signed links single-purpose (``charges.links``).
    nonce = models.CharField(max_length=32)
    qr_payload = models.CharField(_("QR code content"), max_length=500)
    provider_ref = models.CharField(_("provider's transaction"), max_length=100, blank=True)
    created_at = models.DateTimeField(_("asked"), default=clock.now)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT,
                                   null=True, blank=True, related_name="+",
                                   verbose_name=_("asked by"))
    paid_at = models.DateTimeField(_("paid"), null=True, blank=True)
    #: What confirmed it: the customer's page (demo backend) or a verified callback.
    confirmed_via = models.CharField(_("confirmed by"), max_length=16, blank=True)

    class Meta:
        verbose_name = _("payment")
        verbose_name_plural = _("payments")
        ordering = ["created_at", "id"]
        constraints = [
            models.CheckConstraint(name="payment_positive", condition=Q(amount__gt=0)),
            models.CheckConstraint(name="payment_paid_at",
                                   condition=Q(status="paid", paid_at__isnull=False)
                                   | (~Q(status="paid") & Q(paid_at__isnull=True))),
        ]

    def __str__(self) -> str:
        return f"{self.reference} ¥{self.amount}"


ZERO = Decimal("0.00")
