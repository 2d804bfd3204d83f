"""Charges on the desk (R47): the published price list (supervisors edit it), the fee
lines (read only; a supervisor refunds through the "Refund…" action, a new negative line
through ``charges.services``, never an edit), the payments, and each order's lines and
payments on its page."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from charges import services
from charges.models import FeeLine, LineKind, Payment, PriceItem
from console.admin.inventory import _action_form
from console.admin.orders import WorkOrderAdmin
from fieldops.admin import ReadOnlyAdmin, ReadOnlyInline
from fieldops.text import FreeTextField
from workorders.errors import DomainError


@admin.register(PriceItem)
class PriceItemAdmin(admin.ModelAdmin):
    """R47: the published price list, effective-dated: a new price for a code is a new row
    from a later day (the old one ended the day before); lines keep the price they had."""

    list_display = ("code", "name_zh", "name_en", "category", "kind", "unit_price",
                    "valid_from", "valid_to")
    list_filter = ("category", "kind")
    search_fields = ("code", "name_zh", "name_en")
    date_hierarchy = "valid_from"

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False  # lines refer to it; end its validity instead


class RefundForm(forms.Form):
    amount = forms.DecimalField(label=gettext_lazy("Amount to refund (¥; empty: all that is "
                                                   "left)"), max_digits=10,
                                decimal_places=2, min_value=0.01, required=False)
    reason = FreeTextField(label=gettext_lazy("Reason"), max_length=255)


@admin.register(FeeLine)
class FeeLineAdmin(ReadOnlyAdmin):
    list_display = ("at", "order", "kind", "code", "name_zh", "quantity", "unit_price",
                    "amount", "serial", "by", "reason")
    list_filter = ("kind",)
    search_fields = ("order__number", "code", "serial")
    list_select_related = ("order", "by")
    date_hierarchy = "at"
    actions = ["refund"]

    def has_refund_permission(self, request: HttpRequest) -> bool:
        return bool(request.user.has_perm(services.PERM_REFUND))

    @admin.action(description=gettext_lazy("Refund…"), permissions=["refund"])
    def refund(self, request: HttpRequest, queryset: QuerySet[FeeLine]) -> HttpResponse | None:
        form = RefundForm(request.POST if "apply" in request.POST else None)
        charges = queryset.filter(kind=LineKind.CHARGE).select_related("order")
        if "apply" in request.POST and form.is_valid():
            for line in charges:
                try:
                    services.fee_line_refund(line=line, by=request.user,
                                             amount=form.cleaned_data["amount"],
                                             reason=form.cleaned_data["reason"])
                except DomainError as exc:
                    messages.error(request, f"{line}: {exc.message}")
                else:
                    messages.success(request, _("Refunded: %(line)s.") % {"line": line})
            return None
        return _action_form(self, request, charges, action="refund", form=form,
                            title=_("Refund charges"),
                            intro=_("Each selected charge gets a refund line (negative), "
                                    "with your name and the reason."),
                            submit=_("Refund"))


@admin.register(Payment)
class PaymentAdmin(ReadOnlyAdmin):
    list_display = ("reference", "order", "amount", "status", "backend", "created_at",
                    "paid_at", "confirmed_via", "provider_ref")
    list_filter = ("status", "backend")
    search_fields = ("reference", "order__number", "provider_ref")
    exclude = ("nonce", "qr_payload")  # the link acts as the customer (R40)
    list_select_related = ("order",)


class _OrderReadable:
    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        # Whoever may read the order reads its charges (no separate role grant).
        return bool(request.user.has_perm("workorders.view_workorder"))


class FeeLineInline(_OrderReadable, ReadOnlyInline):
    model = FeeLine
    fk_name = "order"
    fields = ("at", "kind", "code", "name_zh", "quantity", "unit_price", "amount", "serial",
              "by", "reason")
    readonly_fields = fields
    verbose_name_plural = gettext_lazy("Charges (R47)")


class PaymentInline(_OrderReadable, ReadOnlyInline):
    model = Payment
    fields = ("reference", "amount", "status", "created_at", "paid_at", "confirmed_via")
    readonly_fields = fields
    verbose_name_plural = gettext_lazy("Payments (R47)")


WorkOrderAdmin.inlines = [*WorkOrderAdmin.inlines, FeeLineInline, PaymentInline]
