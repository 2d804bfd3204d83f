"""The stock register: devices by serial (R45) and materials by van (R46).

Devices belong to one owner at a time: the warehouse, a technician's van, or a customer's
service account (``workorders.ServiceAccount``). Every change of owner is a row of
``DeviceMovement`` (append-only: from, to, order, who, when, why). Materials are drawn from
``VanStock`` (never below zero: a check constraint, and a conditional UPDATE in the
service); each use, correction and restock is a row, never an edit.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from fieldops import clock
from fieldops.text import refuse_hidden_characters
from technicians.models import Technician
from workorders.models import AccessType, Kind, Service, ServiceAccount, WorkOrder


def normalise_serial(value: str) -> str:
    """R45: a serial as stock knows it: trimmed, no inner spaces, upper case."""
    return "".join(str(value or "").split()).upper()


class DeviceKind(models.TextChoices):
    ONU = "onu", _("ONU / optical modem")
    ROUTER = "router", _("Router")
    SET_TOP_BOX = "stb", _("Set-top box")
    PHONE = "phone", _("Phone set")


class DeviceModel(models.Model):
    """A model of device that stock keeps, and which services and access types it fits."""

    code = models.CharField(_("code"), max_length=32, unique=True,
                            validators=[refuse_hidden_characters])
    name = models.CharField(_("name"), max_length=100, validators=[refuse_hidden_characters])
    kind = models.CharField(_("kind"), max_length=8, choices=DeviceKind.choices)
    #: R45: the services and access types it fits (empty: any).
    services = models.JSONField(_("services"), default=list, blank=True,
                                help_text=_("Codes of the services it fits; empty: any."))
    access_types = models.JSONField(_("access types"), default=list, blank=True,
                                    help_text=_("Codes of the access types it fits; empty: "
                                                "any."))

    class Meta:
        verbose_name = _("device model")
        verbose_name_plural = _("device models")
        ordering = ["code"]

    def __str__(self) -> str:
        return f"{self.code} {self.name}"

    def fits(self, order: WorkOrder) -> bool:
        return ((not self.services or order.service in self.services)
                and (not self.access_types or order.access_type in self.access_types))


SERVICE_CODES = [code for code, _label in Service.choices]
ACCESS_CODES = [code for code, _label in AccessType.choices]


class Owner(models.TextChoices):
    WAREHOUSE = "warehouse", _("Warehouse")
    VAN = "van", _("Technician's van")
    CUSTOMER = "customer", _("Customer")


class Condition(models.TextChoices):
    GOOD = "good", _("Good")
    FAULTY = "faulty", _("Faulty")
    RETURNED = "returned", _("Returned by the customer")


class Device(models.Model):
    """One device by its serial (R45), with its one owner now."""

    serial = models.CharField(_("serial number"), max_length=64, unique=True,
                              validators=[refuse_hidden_characters])
    model = models.ForeignKey(DeviceModel, on_delete=models.PROTECT, related_name="devices",
                              verbose_name=_("model"))
    owner = models.CharField(_("owner"), max_length=10, choices=Owner.choices,
                             default=Owner.WAREHOUSE)
    technician = models.ForeignKey(Technician, on_delete=models.PROTECT, null=True,
                                   blank=True, related_name="devices",
                                   verbose_name=_("in the van of"))
    account = models.ForeignKey(ServiceAccount, on_delete=models.PROTECT, null=True,
                                blank=True, related_name="devices",
                                verbose_name=_("service account"))
    #: The order that installed it at the customer (R45).
    order = models.ForeignKey(WorkOrder, on_delete=models.PROTECT, null=True, blank=True,
                              related_name="+", verbose_name=_("installed by order"))
    condition = models.CharField(_("condition"), max_length=10, choices=Condition.choices,
                                 default=Condition.GOOD)
    warranty_until = models.DateField(_("warranty ends"), null=True, blank=True)
    created_at = models.DateTimeField(_("received"), default=clock.now)

    class Meta:
        verbose_name = _("device")
        verbose_name_plural = _("devices")
        ordering = ["serial"]
        permissions = [("allow_device", _("Can allow a device from another van for an order"))]
        constraints = [
            models.CheckConstraint(
                name="device_owner_consistent",
                condition=(
                    models.Q(owner="warehouse", technician__isnull=True, order__isnull=True)
                    | models.Q(owner="van", technician__isnull=False, order__isnull=True)
                    | models.Q(owner="customer", technician__isnull=True,
                               order__isnull=False))),
        ]

    def __str__(self) -> str:
        return str(self.serial)

    def save(self, *args: Any, **kwargs: Any) -> None:
        self.serial = normalise_serial(self.serial)
        super().save(*args, **kwargs)

    @property
    def owner_label(self) -> str:
        return owner_label(self.owner, self.technician, self.account, self.order)

    def in_warranty(self, on: Any = None) -> bool | None:
        if self.warranty_until is None:
            return None
        return (on or clock.today_local()) <= self.warranty_until


def owner_label(owner: str, technician: Any, account: Any, order: Any = None) -> str:
    if owner == Owner.VAN and technician is not None:
        return f"{Owner(owner).label}: {technician.employee_no}"
    if owner == Owner.CUSTOMER:
        where = account.number if account is not None else (order.number if order else "")
        return f"{Owner(owner).label}: {where}"
    return str(Owner(owner).label)


class MovementAction(models.TextChoices):
    RECEIVE = "receive", _("Received into stock")
    TO_VAN = "to_van", _("Loaded into a van")
    TO_WAREHOUSE = "to_warehouse", _("Back to the warehouse")
    INSTALL = "install", _("Installed")
    SWAP_OUT = "swap_out", _("Swapped out (faulty)")
    SWAP_IN = "swap_in", _("Swapped in")
    TAKE_BACK = "take_back", _("Taken back")


class AppendOnlyQuerySet(models.QuerySet):
    def update(self, **kwargs: Any) -> int:
        raise TypeError("The movement history is append-only (R45).")

    def delete(self) -> tuple[int, dict[str, int]]:
        raise TypeError("The movement history is append-only (R45).")


class DeviceMovement(models.Model):
    """One change of a device's owner (R45): from, to, order, who, when, why."""

    device = models.ForeignKey(Device, on_delete=models.PROTECT, related_name="movements",
                               verbose_name=_("device"))
    action = models.CharField(_("action"), max_length=16, choices=MovementAction.choices)
    at = models.DateTimeField(_("at"), default=clock.now, db_index=True)
    by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True,
                           blank=True, related_name="+", verbose_name=_("by"))
    order = models.ForeignKey(WorkOrder, on_delete=models.PROTECT, null=True, blank=True,
                              related_name="device_movements", verbose_name=_("work order"))
    from_owner = models.CharField(_("from"), max_length=10, choices=Owner.choices,
                                  blank=True)
    from_technician = models.ForeignKey(Technician, on_delete=models.PROTECT, null=True,
                                        blank=True, related_name="+",
                                        verbose_name=_("from the van of"))
    from_account = models.ForeignKey(ServiceAccount, on_delete=models.PROTECT, null=True,
                                     blank=True, related_name="+",
                                     verbose_name=_("from the account"))
    to_owner = models.CharField(_("to"), max_length=10, choices=Owner.choices)
    to_technician = models.ForeignKey(Technician, on_delete=models.PROTECT, null=True,
                                      blank=True, related_name="+",
                                      verbose_name=_("to the van of"))
    to_account = models.ForeignKey(ServiceAccount, on_delete=models.PROTECT, null=True,
                                   blank=True, related_name="+",
                                   verbose_name=_("to the account"))
    reason = models.CharField(_("reason"), max_length=255, blank=True)

    objects = AppendOnlyQuerySet.as_manager()

    class Meta:
        verbose_name = _("device movement")
        verbose_name_plural = _("device movements")
        ordering = ["at", "id"]

    def __str__(self) -> str:
        return f"{self.device_id} {self.action}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        if self.pk is not None:
            raise TypeError("The movement history is append-only (R45).")
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> tuple[int, dict[str, int]]:
        raise TypeError("The movement history is append-only (R45).")

    @property
    def from_label(self) -> str:
        if not self.from_owner:
            return ""
        return owner_label(self.from_owner, self.from_technician, self.from_account)

    @property
    def to_label(self) -> str:
        return owner_label(self.to_owner, self.to_technician, self.to_account, self.order)


class DeviceAllowance(models.Model):
    """R45: a dispatcher allows a serial outside this technician's van for one order."""

    device = models.ForeignKey(Device, on_delete=models.PROTECT, related_name="allowances",
                               verbose_name=_("device"))
    order = models.ForeignKey(WorkOrder, on_delete=models.CASCADE, related_name="+",
                              verbose_name=_("work order"))
    allowed_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT,
                                   related_name="+", verbose_name=_("allowed by"))
    allowed_at = models.DateTimeField(_("allowed"), default=clock.now)
    reason = models.CharField(_("reason"), max_length=255, blank=True)

    class Meta:
        verbose_name = _("device allowance")
        verbose_name_plural = _("device allowances")
        constraints = [models.UniqueConstraint(fields=["device", "order"],
                                               name="device_allowance_once")]

    def __str__(self) -> str:
        return f"{self.device_id} → {self.order_id}"


# --- Materials (R46) ---------------------------------------------------------------------

class Unit(models.TextChoices):
    PIECE = "piece", _("pieces")
    METRE = "metre", _("metres")


class MaterialItem(models.Model):
    code = models.CharField(_("code"), max_length=32, unique=True,
                            validators=[refuse_hidden_characters])
    name = models.CharField(_("name"), max_length=100, validators=[refuse_hidden_characters])
    unit = models.CharField(_("unit"), max_length=8, choices=Unit.choices)
    chargeable = models.BooleanField(_("chargeable"), default=False)
    active = models.BooleanField(_("in use"), default=True)

    class Meta:
        verbose_name = _("material")
        verbose_name_plural = _("materials catalogue")
        ordering = ["code"]

    def __str__(self) -> str:
        return f"{self.code} {self.name}"


class MaterialNorm(models.Model):
    """R46: how much of an item a kind of work normally takes."""

    item = models.ForeignKey(MaterialItem, on_delete=models.CASCADE, related_name="norms",
                             verbose_name=_("material"))
    kind = models.CharField(_("kind of work"), max_length=8, choices=Kind.choices)
    quantity = models.DecimalField(_("norm"), max_digits=8, decimal_places=1)

    class Meta:
        verbose_name = _("material norm")
        verbose_name_plural = _("material norms")
        ordering = ["kind", "item__code"]
        constraints = [
            models.UniqueConstraint(fields=["item", "kind"], name="material_norm_once"),
            models.CheckConstraint(name="material_norm_positive",
                                   condition=models.Q(quantity__gt=0)),
        ]

    def __str__(self) -> str:
        return f"{self.item} {self.kind} {self.quantity}"


class VanStock(models.Model):
    """R46: how much of an item is in a technician's van; never below zero."""

    technician = models.ForeignKey(Technician, on_delete=models.CASCADE,
                                   related_name="van_stock", verbose_name=_("technician"))
    item = models.ForeignKey(MaterialItem, on_delete=models.PROTECT, related_name="+",
                             verbose_name=_("material"))
    quantity = models.DecimalField(_("quantity"), max_digits=10, decimal_places=1,
                                   default=Decimal(0))

    class Meta:
        verbose_name = _("van stock")
        verbose_name_plural = _("van stock")
        ordering = ["technician__employee_no", "item__code"]
        permissions = [("restock_van", _("Can restock a technician's van"))]
        constraints = [
            models.UniqueConstraint(fields=["technician", "item"], name="van_stock_once"),
            models.CheckConstraint(name="van_stock_not_negative",
                                   condition=models.Q(quantity__gte=0)),
        ]

    def __str__(self) -> str:
        return f"{self.technician} {self.item.code} {self.quantity}"


class Restock(models.Model):
    """R46: material put into a van (by a dispatcher or warehouse keeper), recorded."""

    technician = models.ForeignKey(Technician, on_delete=models.PROTECT, related_name="+",
                                   verbose_name=_("technician"))
    item = models.ForeignKey(MaterialItem, on_delete=models.PROTECT, related_name="+",
                             verbose_name=_("material"))
    quantity = models.DecimalField(_("quantity"), max_digits=10, decimal_places=1)
    at = models.DateTimeField(_("at"), default=clock.now)
    by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True,
                           blank=True, related_name="+", verbose_name=_("by"))
    reason = models.CharField(_("reason"), max_length=255, blank=True)

    class Meta:
        verbose_name = _("restock")
        verbose_name_plural = _("restocks")
        ordering = ["-at", "-id"]

    def __str__(self) -> str:
        return f"{self.technician} +{self.quantity} {self.item.code}"


class MaterialUse(models.Model):
    """R46: material used on an order, drawn from the technician's van. A correction on
    site is a new row (negative to give back), never an edit."""

    order = models.ForeignKey(WorkOrder, on_delete=models.PROTECT,
                              related_name="material_uses", verbose_name=_("work order"))
    item = models.ForeignKey(MaterialItem, on_delete=models.PROTECT, related_name="+",
                             verbose_name=_("material"))
    technician = models.ForeignKey(Technician, on_delete=models.PROTECT, related_name="+",
                                   verbose_name=_("from the van of"))
    quantity = models.DecimalField(_("quantity"), max_digits=8, decimal_places=1)
    at = models.DateTimeField(_("at"), default=clock.now)
    by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True,
                           blank=True, related_name="+", verbose_name=_("by"))
    #: The order's total of this item after this row went above the norm (R46).
    above_norm = models.BooleanField(_("above the norm"), default=False)
    reason = models.CharField(_("reason"), max_length=255, blank=True)

    class Meta:
        verbose_name = _("material use")
        verbose_name_plural = _("material uses")
        ordering = ["at", "id"]
        constraints = [models.CheckConstraint(name="material_use_not_zero",
                                              condition=~models.Q(quantity=0))]

    def __str__(self) -> str:
        return f"{self.order_id} {self.item.code} {self.quantity}"


class NormReview(models.Model):
    """R46: an order flagged because its materials went far above the norm for its kind."""

    order = models.OneToOneField(WorkOrder, on_delete=models.CASCADE,
                                 related_name="norm_review", verbose_name=_("work order"))
    flagged_at = models.DateTimeField(_("flagged"), default=clock.now)
    items = models.JSONField(_("items above the norm"), default=list, blank=True)
    reviewed_at = models.DateTimeField(_("reviewed"), null=True, blank=True)
    reviewed_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL,
                                    null=True, blank=True, related_name="+",
                                    verbose_name=_("reviewed by"))

    class Meta:
        verbose_name = _("order above the material norm")
        verbose_name_plural = _("orders above the material norm")
        ordering = ["-flagged_at"]

    def __str__(self) -> str:
        return str(self.order_id)
