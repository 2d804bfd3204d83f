"""Steps sent from phones (issue 16): what technicians did offline and their phones sent
later, applied or refused (``workorders.offline``). The dispatcher reads why a step was
refused (the order changed meanwhile, not the technician's order, a rule) and when the
phone's time was not used; nobody edits these records. The order's page lists its refused
steps (``RefusedPhoneStepInline``)."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest
from django.urls import reverse
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from fieldops.admin import ReadOnlyAdmin, ReadOnlyInline
from workorders import selectors
from workorders.models import PhoneStep, PhoneStepStatus, shown_times


@admin.register(PhoneStep)
class PhoneStepAdmin(ReadOnlyAdmin):
    list_display = ("received_at", "order_link", "user", "step", "status", "flag", "when",
                    "phone_at", "message")
    list_filter = ("status", "flag", ("user", admin.RelatedOnlyFieldListFilter))
    list_select_related = ("order", "user")
    search_fields = ("step", "message", "client_id")
    date_hierarchy = "received_at"
    ordering = ("-received_at", "-id")
    show_full_result_count = False
    readonly_fields = ("client_id", "order_link", "user", "step", "status", "code", "message",
                       "phone_at", "phone_sent_at", "received_at", "recorded_at", "flag",
                       "based_on", "after", "version", "event")
    fields = readonly_fields

    @admin.display(description=_("work order"), ordering="order")
    def order_link(self, obj: PhoneStep) -> str:
        url = reverse("admin:workorders_workorder_change", args=[obj.order_id])
        return format_html('<a href="{}">{}</a>', url, obj.order.number)

    @admin.display(description=_("recorded (sent)"), ordering="recorded_at")
    def when(self, obj: PhoneStep) -> str:
        """When the step was recorded as done, and when the phone's message arrived."""
        return shown_times(obj.recorded_at or obj.phone_at, obj.received_at)

    def get_queryset(self, request: HttpRequest) -> QuerySet[PhoneStep]:
        visible = selectors.orders_visible_to(request.user)
        return super().get_queryset(request).filter(order__in=visible)


class RefusedPhoneStepInline(ReadOnlyInline):
    """On the order's page: the steps its technician's phone sent that were refused."""

    model = PhoneStep
    fields = ("received_at", "user", "step", "phone_at", "code", "message")
    readonly_fields = fields
    verbose_name = _("step sent from a phone and refused")
    verbose_name_plural = _("Steps sent from phones and refused")

    def get_queryset(self, request: HttpRequest) -> QuerySet[PhoneStep]:
        return super().get_queryset(request).filter(status=PhoneStepStatus.REFUSED)

    @staticmethod
    def shown_for(order: Any) -> bool:
        """Only on the page of an order that has refused steps."""
        return order is not None and PhoneStep.objects.filter(
            order=order, status=PhoneStepStatus.REFUSED).exists()
