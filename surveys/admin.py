"""The office's view of surveys (R29-R33) and follow-ups (R28): read-only records, the
call-centre's callback queue (R30) with a small form that records the result through
``surveys.services``, and inlines on the work order's page."""

from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from fieldops.admin import ReadOnlyAdmin, ReadOnlyInline
from fieldops.privacy import mask_phone
from workorders import pii
from workorders.access import sees_full_contact
from workorders.errors import DomainError
from workorders.models import Face

from . import services
from .forms import CallbackForm
from .models import AnswerChannel, Callback, CallbackStatus, FollowUp, ReworkRound, Survey


@admin.register(FollowUp)
class FollowUpAdmin(admin.ModelAdmin):
    list_display = ("created_at", "order", "kind", "status", "owner", "due_at", "answered_at")
    list_filter = ("status", "kind")
    search_fields = ("text", "answer")
    list_select_related = ("order", "owner")
    raw_id_fields = ("order", "owner", "answered_by", "created_by")
    date_hierarchy = "created_at"
    # Follow-ups change only through surveys.services (R28, R42): read-only here.
    readonly_fields = [f.name for f in FollowUp._meta.fields]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False


@admin.register(Survey)
class SurveyAdmin(ReadOnlyAdmin):
    """Every survey round, answered or not (R29, R32). Written only by the services."""

    list_display = ("order", "round", "technician", "status", "sms_not_before",
                    "answered_at", "channel", "satisfied", "punctuality", "conduct", "result")
    list_filter = ("status", "channel", "satisfied", "round", "order__area")
    list_select_related = ("order", "technician__user")
    search_fields = ("order__contact_phone", "comment")
    date_hierarchy = "created_at"
    exclude = ("nonce",)  # the link's secret


@admin.register(ReworkRound)
class ReworkRoundAdmin(ReadOnlyAdmin):
    """Every numbered rework round (R31-R33), kept for good."""

    list_display = ("order", "number", "technician", "previous_technician", "opened_at",
                    "contacted", "resolved_at", "outcome", "supervisor_notified_at")
    list_filter = ("outcome", "number", "order__area")
    list_select_related = ("order", "technician__user", "previous_technician__user")
    date_hierarchy = "opened_at"

    @admin.display(description=gettext_lazy("customer contacted (R31)"))
    def contacted(self, obj: ReworkRound) -> Any:
        return obj.contacted_at or "—"


class CallbackStatusFilter(admin.SimpleListFilter):
    """The queue opens on the callbacks still to make."""

    title = gettext_lazy("status")
    parameter_name = "status"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, Any]]:
        return [*CallbackStatus.choices, ("all", gettext_lazy("All"))]

    def choices(self, changelist: Any) -> Any:
        for lookup, title in self.lookup_choices:
            yield {"selected": (self.value() or CallbackStatus.OPEN) == lookup,
                   "query_string": changelist.get_query_string({self.parameter_name: lookup}),
                   "display": title}

    def queryset(self, request: HttpRequest, queryset: QuerySet[Callback]) -> Any:
        value = self.value() or CallbackStatus.OPEN
        return queryset if value == "all" else queryset.filter(status=value)


@admin.register(Callback)
class CallbackAdmin(ReadOnlyAdmin):
    """R30: the call-centre's queue of callbacks, oldest first. "Record the result" asks
    what the customer said and answers the survey through the same service as the link."""

    list_filter = (CallbackStatusFilter, "order__area")
    list_select_related = ("order__customer", "order__area", "survey__technician__user")
    ordering = ("created_at", "id")
    list_display_links = None
    search_fields = ("order__contact_phone", "order__customer__name")

    @admin.display(description=gettext_lazy("customer"))
    def customer(self, obj: Callback) -> str:
        return str(obj.order.customer.name)

    def get_list_display(self, request: HttpRequest) -> Any:
        @admin.display(description=gettext_lazy("phone"))
        def phone(obj: Callback) -> str:
            # R40: the full number only for roles that call customers (recorded by
            # changelist_view for the whole page).
            full = sees_full_contact(request.user, obj.order)
            return obj.order.contact_phone if full else mask_phone(obj.order.contact_phone)

        return ["order", "created_at", "customer", phone, "round", "technician", "attempts",
                "status", "record_link"]

    def changelist_view(self, request: HttpRequest,
                        extra_context: dict[str, Any] | None = None) -> HttpResponse:
        response = super().changelist_view(request, extra_context)
        changelist = (getattr(response, "context_data", None) or {}).get("cl")
        if changelist is not None:
            pii.record_reads(user=request.user,
                             orders=[c.order for c in changelist.result_list],
                             face=Face.ADMIN, where="admin:callback-list")  # R40
        return response

    @admin.display(description=gettext_lazy("round"))
    def round(self, obj: Callback) -> int:
        return obj.survey.round

    @admin.display(description=gettext_lazy("technician"))
    def technician(self, obj: Callback) -> Any:
        return obj.survey.technician or "—"

    @admin.display(description=gettext_lazy("result"))
    def record_link(self, obj: Callback) -> Any:
        if obj.status != CallbackStatus.OPEN:
            return obj.get_status_display()
        url = reverse("admin:surveys_callback_record", args=[obj.pk])
        return format_html('<a class="button" href="{}">{}</a>', url, _("Record the result"))

    def get_urls(self) -> list[Any]:
        own = [path("<int:pk>/record/", self.admin_site.admin_view(self.record_view),
                    name="surveys_callback_record")]
        return own + super().get_urls()

    def record_view(self, request: HttpRequest, pk: int) -> HttpResponse:
        """R30: what the customer said on the callback, recorded like their own answer."""
        if not (request.user.is_superuser or request.user.has_perm(services.PERM_CALLBACK)):
            raise PermissionDenied
        callback = get_object_or_404(Callback.objects.select_related(
            "order__customer", "survey__technician__user"), pk=pk)
        queue = reverse("admin:surveys_callback_changelist")
        if request.method == "POST" and "not_reached" in request.POST:
            try:
                services.callback_not_reached(callback=callback, by=request.user,
                                              note=request.POST.get("comment", ""))
            except DomainError as exc:
                messages.error(request, exc.message)
            else:
                messages.warning(request, _("Order %(number)s: the customer was not reached; "
                                            "the callback stays in the queue.")
                                 % {"number": callback.order.number})
            return HttpResponseRedirect(queue)
        form = CallbackForm(request.POST or None)
        if request.method == "POST" and form.is_valid():
            try:
                services.callback_record(callback=callback, by=request.user,
                                         channel=AnswerChannel.CALLBACK, **form.answer())
            except DomainError as exc:
                messages.error(request, exc.message)
                return HttpResponseRedirect(queue)
            messages.success(request, _("Callback for order %(number)s recorded.")
                             % {"number": callback.order.number})
            return HttpResponseRedirect(queue)
        order = callback.order
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta, "title": _("Callback: %(number)s") % {
                "number": order.number},
            "callback": callback, "order": order, "form": form,
            "phone": pii.phone_for(user=request.user, order=order, face=Face.ADMIN,
                                   where="admin:callback"),  # R40
            "queue_url": queue,
            "order_url": reverse("admin:workorders_workorder_change", args=[order.pk]),
        }
        return TemplateResponse(request, "admin/surveys/callback/record.html", context)


# --- Inlines on the work order's page (console.admin.orders adds them) --------------------

class SurveyInline(ReadOnlyInline):
    model = Survey
    fields = ("round", "technician", "status", "sms_not_before", "callback_due_at",
              "answered_at", "channel", "answered_by", "satisfied", "punctuality", "conduct",
              "result", "comment")
    readonly_fields = fields
    ordering = ("created_at", "id")
    verbose_name_plural = gettext_lazy("Surveys (R29, R32)")

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return bool(request.user.has_perm("workorders.view_workorder"))


class ReworkRoundInline(ReadOnlyInline):
    model = ReworkRound
    fields = ("number", "opened_at", "technician", "previous_technician", "contacted",
              "resolution_note", "resolved_at", "outcome", "supervisor_notified_at")
    readonly_fields = fields
    ordering = ("number",)
    verbose_name_plural = gettext_lazy("Rework rounds (R31-R33)")

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return bool(request.user.has_perm("workorders.view_workorder"))

    @admin.display(description=gettext_lazy("customer contacted (R31)"))
    def contacted(self, obj: ReworkRound) -> Any:
        return obj.contacted_at or "—"


class FollowUpInline(ReadOnlyInline):
    model = FollowUp
    fk_name = "order"
    fields = ("created_at", "kind", "text", "owner", "due_at", "status", "answer",
              "answered_at")
    readonly_fields = fields
    verbose_name_plural = gettext_lazy("Questions and complaints (R28)")

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return bool(request.user.has_perm("workorders.view_workorder"))
