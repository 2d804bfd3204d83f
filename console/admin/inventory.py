"""The stock register on the desk (R45, R46): devices by serial with their history (van →
customer → back), the dispatcher's "allow a serial from another van" for an order, van
stock per technician with a restock action, the catalogue and its norms, and the orders
flagged above the norm. Every change goes through ``inventory.services``."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from fieldops.admin import ReadOnlyAdmin, ReadOnlyInline
from fieldops.text import FreeTextField, LineField
from inventory import services
from inventory.models import (
    Device,
    DeviceAllowance,
    DeviceModel,
    DeviceMovement,
    MaterialItem,
    MaterialNorm,
    MaterialUse,
    NormReview,
    Restock,
    VanStock,
    normalise_serial,
)
from technicians.models import Technician
from workorders.errors import DomainError
from workorders.models import WorkOrder


def _action_form(modeladmin: admin.ModelAdmin, request: HttpRequest, queryset: QuerySet,
                 *, action: str, form: forms.Form, title: str, intro: str,
                 submit: str) -> TemplateResponse:
    context = {**modeladmin.admin_site.each_context(request), "opts": modeladmin.model._meta,
               "title": title, "intro": intro, "submit": submit, "form": form,
               "objects": queryset, "action": action,
               "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME}
    return TemplateResponse(request, "admin/inventory/action_form.html", context)


@admin.register(DeviceModel)
class DeviceModelAdmin(admin.ModelAdmin):
    list_display = ("code", "name", "kind", "services", "access_types")
    list_filter = ("kind",)
    search_fields = ("code", "name")


class MovementInline(ReadOnlyInline):
    """R45: the device's history, oldest first: from, to, order, who, when, why."""

    model = DeviceMovement
    fields = ("at", "action", "from_label", "to_label", "order", "by", "reason")
    readonly_fields = fields
    verbose_name_plural = gettext_lazy("history")

    def get_queryset(self, request: HttpRequest) -> QuerySet[DeviceMovement]:
        return super().get_queryset(request).select_related(
            "order", "by", "from_technician", "from_account", "to_technician", "to_account")

    @admin.display(description=gettext_lazy("from"))
    def from_label(self, obj: DeviceMovement) -> str:
        return obj.from_label

    @admin.display(description=gettext_lazy("to"))
    def to_label(self, obj: DeviceMovement) -> str:
        return obj.to_label


class AllowanceInline(ReadOnlyInline):
    model = DeviceAllowance
    fields = ("order", "allowed_by", "allowed_at", "reason")
    readonly_fields = fields


class AllowForm(forms.Form):
    order = LineField(label=gettext_lazy("Order number"), max_length=32)
    reason = FreeTextField(label=gettext_lazy("Reason"), max_length=255, required=False,
                           widget=forms.Textarea(attrs={"rows": 2}))

    def clean_order(self) -> WorkOrder:
        number = self.cleaned_data["order"].strip().upper()
        digits = number.removeprefix(WorkOrder.NUMBER_PREFIX)
        order = WorkOrder.objects.filter(pk=int(digits)).first() if digits.isdigit() else None
        if order is None or order.number != number:
            raise forms.ValidationError(_("No order with this number."))
        return order


@admin.register(Device)
class DeviceAdmin(admin.ModelAdmin):
    """Devices by serial (R45); a search takes the serial typed any way."""

    list_display = ("serial", "model", "owner", "technician", "account", "order", "condition",
                    "warranty_until")
    list_filter = ("owner", "condition", "model__kind", "model")
    search_fields = ("serial", "account__number")
    list_select_related = ("model", "technician", "account", "order")
    inlines = [MovementInline, AllowanceInline]
    actions = ["allow_for_order"]
    fields = ("serial", "model", "warranty_until", "owner", "technician", "account", "order",
              "condition", "created_at")

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        moved = ("owner", "technician", "account", "order", "condition", "created_at")
        return (*moved, "serial", "model") if obj is not None else moved

    def get_search_results(self, request: HttpRequest, queryset: QuerySet[Device],
                           search_term: str) -> tuple[QuerySet[Device], bool]:
        serial = normalise_serial(search_term)
        if serial and queryset.filter(serial=serial).exists():
            return queryset.filter(serial=serial), False
        return super().get_search_results(request, queryset, search_term)

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def save_model(self, request: HttpRequest, obj: Device, form: Any, change: bool) -> None:
        if change:  # only the warranty: the owner moves through the services
            obj.save(update_fields=["warranty_until"])
            return
        created = services.device_receive(serial=obj.serial, model=obj.model, by=request.user,
                                          warranty_until=obj.warranty_until,
                                          reason=_("Received in the admin"))
        obj.pk = created.pk
        obj.serial = created.serial

    @admin.action(description=gettext_lazy("Allow for an order (from another van)…"),
                  permissions=["allow"])
    def allow_for_order(self, request: HttpRequest,
                        queryset: QuerySet[Device]) -> HttpResponse | None:
        """R45: the order's technician may then install these serials, though they are not
        in the technician's van; who and when are recorded."""
        form = AllowForm(request.POST if "apply" in request.POST else None)
        if "apply" in request.POST and form.is_valid():
            order, reason = form.cleaned_data["order"], form.cleaned_data["reason"]
            for device in queryset:
                try:
                    services.device_allow(order=order, by=request.user,
                                          serial=device.serial, reason=reason)
                except DomainError as exc:
                    messages.error(request, f"{device.serial}: {exc.message}")
                else:
                    messages.success(request, _("%(serial)s allowed for order %(number)s.")
                                     % {"serial": device.serial, "number": order.number})
            return None
        return _action_form(self, request, queryset, action="allow_for_order", form=form,
                            title=_("Allow devices for an order"),
                            intro=_("The order's technician may install these devices, "
                                    "though they are not in the technician's van."),
                            submit=_("Allow"))

    def has_allow_permission(self, request: HttpRequest) -> bool:
        return bool(request.user.has_perm(services.PERM_ALLOW_DEVICE))


class RestockForm(forms.Form):
    quantity = forms.DecimalField(label=gettext_lazy("Quantity to add"), max_digits=8,
                                  decimal_places=1, min_value=0.1)
    reason = FreeTextField(label=gettext_lazy("Reason"), max_length=255, required=False)


@admin.register(VanStock)
class VanStockAdmin(ReadOnlyAdmin):
    """R46: what each van holds; restocked through the action (recorded)."""

    list_display = ("technician", "item", "quantity", "unit")
    list_filter = ("technician", "item")
    search_fields = ("technician__employee_no", "item__code", "item__name")
    list_select_related = ("technician__user", "item")
    actions = ["restock"]

    @admin.display(description=gettext_lazy("unit"))
    def unit(self, obj: VanStock) -> str:
        return obj.item.get_unit_display()

    def has_restock_permission(self, request: HttpRequest) -> bool:
        return bool(request.user.has_perm(services.PERM_RESTOCK))

    @admin.action(description=gettext_lazy("Restock…"), permissions=["restock"])
    def restock(self, request: HttpRequest,
                queryset: QuerySet[VanStock]) -> HttpResponse | None:
        form = RestockForm(request.POST if "apply" in request.POST else None)
        if "apply" in request.POST and form.is_valid():
            for stock in queryset.select_related("technician", "item"):
                try:
                    services.van_restock(technician=stock.technician, item=stock.item,
                                         quantity=form.cleaned_data["quantity"],
                                         by=request.user,
                                         reason=form.cleaned_data["reason"])
                except DomainError as exc:
                    messages.error(request, f"{stock}: {exc.message}")
                else:
                    messages.success(request, _("Restocked: %(stock)s.") % {"stock": stock})
            return None
        return _action_form(self, request, queryset, action="restock", form=form,
                            title=_("Restock vans"),
                            intro=_("Add this quantity to each selected van's stock."),
                            submit=_("Restock"))


class NormInline(admin.TabularInline):
    model = MaterialNorm
    extra = 0


@admin.register(MaterialItem)
class MaterialItemAdmin(admin.ModelAdmin):
    list_display = ("code", "name", "unit", "chargeable", "active")
    list_filter = ("unit", "chargeable", "active")
    search_fields = ("code", "name")
    inlines = [NormInline]


@admin.register(MaterialNorm)
class MaterialNormAdmin(admin.ModelAdmin):
    list_display = ("item", "kind", "quantity")
    list_filter = ("kind",)
    list_select_related = ("item",)


@admin.register(Restock)
class RestockAdmin(ReadOnlyAdmin):
    list_display = ("at", "technician", "item", "quantity", "by", "reason")
    list_filter = ("technician", "item")
    list_select_related = ("technician__user", "item", "by")
    date_hierarchy = "at"


@admin.register(MaterialUse)
class MaterialUseAdmin(ReadOnlyAdmin):
    list_display = ("at", "order", "item", "quantity", "technician", "above_norm", "reason")
    list_filter = ("above_norm", "item", "technician")
    search_fields = ("item__code", "item__name")
    list_select_related = ("order", "item", "technician__user")
    date_hierarchy = "at"

    def get_search_results(self, request: HttpRequest, queryset: QuerySet[MaterialUse],
                           search_term: str) -> tuple[QuerySet[MaterialUse], bool]:
        """An order number (WO00000123) finds that order's rows; else item code or name."""
        digits = search_term.strip().upper().removeprefix(WorkOrder.NUMBER_PREFIX)
        if digits.isdigit():
            return queryset.filter(order_id=int(digits)), False
        return super().get_search_results(request, queryset, search_term)


class ReviewedFilter(admin.SimpleListFilter):
    title = gettext_lazy("reviewed")
    parameter_name = "reviewed"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, Any]]:
        return [("no", _("To review")), ("yes", _("Reviewed"))]

    def queryset(self, request: HttpRequest, queryset: QuerySet[NormReview]) -> Any:
        if self.value() == "no":
            return queryset.filter(reviewed_at__isnull=True)
        if self.value() == "yes":
            return queryset.filter(reviewed_at__isnull=False)
        return queryset


@admin.register(NormReview)
class NormReviewAdmin(ReadOnlyAdmin):
    """R46: orders whose materials went far above the norm for their kind."""

    list_display = ("order", "technician", "kind", "flagged_at", "items", "reviewed_at",
                    "reviewed_by")
    list_filter = (ReviewedFilter, "order__kind", "order__technician")
    list_select_related = ("order__technician__user", "reviewed_by")
    actions = ["mark_reviewed"]

    @admin.display(description=gettext_lazy("technician"))
    def technician(self, obj: NormReview) -> Technician | None:
        return obj.order.technician

    @admin.display(description=gettext_lazy("kind"))
    def kind(self, obj: NormReview) -> str:
        return obj.order.get_kind_display()

    def has_review_permission(self, request: HttpRequest) -> bool:
        return bool(request.user.has_perm(services.PERM_RESTOCK)
                    or request.user.has_perm("workorders.dispatch_workorder"))

    @admin.action(description=gettext_lazy("Mark as reviewed"), permissions=["review"])
    def mark_reviewed(self, request: HttpRequest, queryset: QuerySet[NormReview]) -> None:
        for review in queryset:
            services.norm_review_done(review=review, by=request.user)
        messages.success(request, _("%(n)d order(s) marked as reviewed.")
                         % {"n": queryset.count()})
