"""Quality inspection on the desk (R52): inspectors and supervisors work the list of
completed orders drawn each day (the sample and every order with a suspicion signal),
read the evidence in words, and pass or fail each one after a review or a revisit,
against the policy's checklist. A fail reopens the order for rework (R31) and writes a
quality record; writes go through ``quality.services``."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext_lazy as _

from fieldops.admin import ReadOnlyAdmin
from fieldops.text import FreeTextField, LineField
from quality import services
from quality.models import (
    Inspection,
    InspectionMethod,
    InspectionPolicy,
    InspectionStatus,
    QualityRecord,
    SamplingRun,
)
from workorders.errors import DomainError
from workorders.models import CompletionReport, WorkOrder


class OpenForm(forms.Form):
    """R52: an order picked by hand, by its number."""

    number = LineField(label=_("Order number"), max_length=20,
                             help_text=_("A completed order, e.g. WO00001234."))

    def __init__(self, *args: Any, user: Any = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.user = user
        self.inspection: Inspection | None = None

    def clean_number(self) -> str:
        text = self.cleaned_data["number"].strip().upper()
        pk = WorkOrder.pk_from_number(text)
        order = WorkOrder.objects.filter(pk=pk).first() if pk else None
        if order is None:
            raise forms.ValidationError(_("No order has the number %(number)s.")
                                        % {"number": text})
        try:
            self.inspection = services.inspection_open(order=order, by=self.user)
        except DomainError as exc:
            raise forms.ValidationError(exc.message) from exc
        return text


class DecisionForm(forms.Form):
    outcome = forms.ChoiceField(label=_("Outcome"), widget=forms.RadioSelect, choices=[
        ("pass", _("Pass: the work stands")),
        ("fail", _("Fail: back to the technician for rework (R31)"))])
    method = forms.ChoiceField(label=_("How it was inspected"), widget=forms.RadioSelect,
                               choices=InspectionMethod.choices)
    revisited_at = forms.DateTimeField(
        label=_("Revisited at"), required=False,
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"},
                                   format="%Y-%m-%dT%H:%M"),
        input_formats=["%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M"],
        help_text=_("For a revisit: when you were at the address."))
    failed_points = forms.MultipleChoiceField(label=_("Checklist points found wrong"),
                                              required=False,
                                              widget=forms.CheckboxSelectMultiple)
    notes = FreeTextField(label=_("Notes"), required=False,
                          widget=forms.Textarea(attrs={"rows": 4}))

    def __init__(self, *args: Any, checklist: list[str], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        points = self.fields["failed_points"]
        assert isinstance(points, forms.MultipleChoiceField)
        points.choices = [(p, p) for p in checklist]


@admin.register(Inspection)
class InspectionAdmin(admin.ModelAdmin):
    list_display = ("order_number", "day", "area", "technician", "reason", "signal_list",
                    "status", "decided_by")
    list_filter = ("status", "reason", "area", "day")
    list_select_related = ("order", "area", "technician__user", "decided_by")
    search_fields = ("=order__id",)
    date_hierarchy = "day"
    fields = ("order_number", "order_summary", "area", "technician", "day", "completed_at",
              "reason", "evidence", "status", "method", "revisited_at", "points_found_wrong",
              "notes", "decided_by", "decided_at", "decide_link")
    readonly_fields = fields

    @admin.display(description=_("work order"), ordering="order_id")
    def order_number(self, obj: Inspection) -> str:
        return WorkOrder.number_for(obj.order_id)

    @admin.display(description=_("signals"))
    def signal_list(self, obj: Inspection) -> str:
        return ", ".join(str(s.get_kind_display()) for s in obj.signals.all()) or "–"

    @admin.display(description=_("the order"))
    def order_summary(self, obj: Inspection) -> Any:
        order = obj.order
        report = CompletionReport.objects.filter(order=order).first()
        items = [
            (_("kind"), f"{order.get_kind_display()} · {order.get_service_display()} · "
                        f"{order.get_access_type_display()}"),
            (_("state"), order.state_label),
            (_("work done"), report.work_done if report else "–"),
            (_("outstanding issue"), (report.outstanding_issue or "–") if report else "–"),
        ]
        return format_html("<dl>{}</dl>", format_html_join(
            "", "<dt>{}</dt><dd>{}</dd>", ((str(k), v) for k, v in items)))

    @admin.display(description=_("evidence"))
    def evidence(self, obj: Inspection) -> Any:
        signals = list(obj.signals.all())
        if not signals:
            return _("No suspicion signal: drawn in the day's sample.")
        return format_html("<ul>{}</ul>", format_html_join(
            "", "<li><strong>{}</strong>: {}</li>",
            ((str(s.get_kind_display()), s.describe()) for s in signals)))

    @admin.display(description=_("points found wrong"))
    def points_found_wrong(self, obj: Inspection) -> Any:
        if not obj.failed_points:
            return "–"
        return format_html("<ul>{}</ul>", format_html_join(
            "", "<li>{}</li>", ((p,) for p in obj.failed_points)))

    @admin.display(description=_("decision"))
    def decide_link(self, obj: Inspection) -> Any:
        if obj.status != InspectionStatus.OPEN:
            return obj.get_status_display()
        return format_html('<a class="button" href="{}">{}</a>',
                           reverse("admin:quality_inspection_decide", args=[obj.pk]),
                           _("Pass or fail"))

    def get_queryset(self, request: HttpRequest) -> Any:
        return super().get_queryset(request).prefetch_related("signals")

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False  # an inspection is decided on its own page

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def get_urls(self) -> list[Any]:
        return [path("<int:pk>/decide/", self.admin_site.admin_view(self.decide_view),
                     name="quality_inspection_decide"),
                path("add/", self.admin_site.admin_view(self.open_view),
                     name="quality_inspection_add"),
                *super().get_urls()]

    def open_view(self, request: HttpRequest, form_url: str = "",
                  extra_context: Any = None) -> HttpResponse:
        """R52: inspect a completed order outside the sample."""
        if not self.has_add_permission(request):
            raise PermissionDenied
        form = OpenForm(request.POST or None, user=request.user)
        if request.method == "POST" and form.is_valid() and form.inspection is not None:
            return HttpResponseRedirect(reverse("admin:quality_inspection_decide",
                                                args=[form.inspection.pk]))
        context = {**self.admin_site.each_context(request), "opts": self.model._meta,
                   "title": _("Inspect a completed order"), "form": form}
        return TemplateResponse(request, "admin/quality/inspection/open.html", context)

    def decide_view(self, request: HttpRequest, pk: int) -> HttpResponse:
        """R52: pass or fail, after a review or a revisit, against the checklist."""
        if not services.can_inspect(request.user):
            raise PermissionDenied
        inspection = get_object_or_404(Inspection.objects.select_related(
            "order", "area", "technician__user"), pk=pk)
        change_url = reverse("admin:quality_inspection_change", args=[pk])
        checklist = services.checklist_for(inspection)
        form = DecisionForm(request.POST or None, checklist=checklist)
        if request.method == "POST" and form.is_valid():
            data = form.cleaned_data
            revisited = data.get("revisited_at")
            if revisited is not None and timezone.is_naive(revisited):
                revisited = timezone.make_aware(revisited)
            try:
                done = services.inspection_decide(
                    inspection=inspection, by=request.user, passed=data["outcome"] == "pass",
                    method=data["method"], notes=data["notes"],
                    failed_points=data["failed_points"], revisited_at=revisited)
            except DomainError as exc:
                field = getattr(exc, "field", "")
                form.add_error(field if field in form.fields else None, exc.message)
            else:
                messages.success(request, _("%(inspection)s: %(status)s.")
                                 % {"inspection": done, "status": done.get_status_display()})
                return HttpResponseRedirect(change_url)
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "title": _("Pass or fail: %(inspection)s") % {"inspection": inspection},
            "inspection": inspection,
            "number": WorkOrder.number_for(inspection.order_id),
            "summary": self.order_summary(inspection),
            "evidence": self.evidence(inspection),
            "form": form,
            "change_url": change_url,
        }
        return TemplateResponse(request, "admin/quality/inspection/decide.html", context)


@admin.register(QualityRecord)
class QualityRecordAdmin(ReadOnlyAdmin):
    list_display = ("order_number", "technician", "rework_round", "recorded_at", "recorded_by")
    list_select_related = ("technician__user", "recorded_by")
    list_filter = ("recorded_at",)
    fields = ("order_number", "technician", "findings", "rework_round", "recorded_at",
              "recorded_by")
    readonly_fields = fields

    @admin.display(description=_("work order"), ordering="order_id")
    def order_number(self, obj: QualityRecord) -> str:
        return WorkOrder.number_for(obj.order_id)


@admin.register(SamplingRun)
class SamplingRunAdmin(ReadOnlyAdmin):
    list_display = ("day", "completions", "sampled", "signalled", "drawn", "started_at",
                    "finished_at")


@admin.register(InspectionPolicy)
class InspectionPolicyAdmin(admin.ModelAdmin):
    list_display = ("__str__", "sample_percent", "min_per_technician",
                    "max_check_in_distance_m", "min_signature_ms", "photo_window_days",
                    "survey_origin_window_hours")

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
