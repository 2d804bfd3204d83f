"""The assessment ledger on the desk (R53), for supervisors: the entries (read only: the
ledger is append-only), the policy table, the appeals and their decision, and the monthly
statements per technician and team with their CSV and XLSX exports."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.http import FileResponse, HttpRequest, HttpResponse, HttpResponseRedirect
from django.http.response import HttpResponseBase
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from assessment import exports, services
from assessment.models import Appeal, AppealPhoto, AppealStatus, AssessmentRule, Entry, EntryKind
from fieldops import clock, tables
from fieldops.text import FreeTextField
from workorders.errors import DomainError


class AssessmentRuleForm(forms.ModelForm):
    class Meta:
        model = AssessmentRule
        fields = ("kind", "effective_from", "points", "amount", "appeal_window_days", "note")
        field_classes = {"note": FreeTextField}  # issue 18 item 4


@admin.register(AssessmentRule)
class AssessmentRuleAdmin(admin.ModelAdmin):
    form = AssessmentRuleForm
    list_display = ("kind", "effective_from", "points", "amount", "appeal_window_days", "note")
    list_filter = ("kind",)
    ordering = ("kind", "-effective_from")

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False  # entries name the row that priced them


class ReadOnly(admin.ModelAdmin):
    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class PeriodForm(forms.Form):
    month = forms.CharField(label=gettext_lazy("Month (YYYY-MM)"), max_length=7,
                            required=False)

    def period(self) -> dt.date:
        text = (self.cleaned_data.get("month") or "").strip() if self.is_valid() else ""
        try:
            return dt.datetime.strptime(text, "%Y-%m").date()  # noqa: DTZ007 (a month)
        except ValueError:
            return clock.today_local().replace(day=1)


@admin.register(Entry)
class EntryAdmin(ReadOnly):
    list_display = ("occurred_at", "technician", "kind", "points", "amount", "period", "order",
                    "reason", "reverses")
    list_filter = ("kind", "period", "technician__team")
    search_fields = ("technician__employee_no", "technician__user__username", "reason",
                     "order__number")
    list_select_related = ("technician__user", "order", "reverses")
    date_hierarchy = "occurred_at"

    def get_urls(self) -> list[Any]:
        own = [
            path("statement/", self.admin_site.admin_view(self.statement_view),
                 name="assessment_entry_statement"),
            path("statement/export.<str:fmt>", self.admin_site.admin_view(self.export_view),
                 name="assessment_entry_export"),
        ]
        return own + super().get_urls()

    def _may_read(self, request: HttpRequest) -> None:
        if not request.user.has_perm("assessment.view_entry"):
            raise PermissionDenied

    def statement_view(self, request: HttpRequest) -> HttpResponse:
        """The month's statement per technician and per team (R53)."""
        self._may_read(request)
        form = PeriodForm(request.GET or None)
        period = form.period()
        by_tech = exports.statement_table(period, by="technician")
        by_team = exports.statement_table(period, by="team")
        context = {**self.admin_site.each_context(request), "opts": self.model._meta,
                   "title": _("Assessment statement %(month)s")
                   % {"month": period.strftime("%Y-%m")},
                   "form": form, "month": period.strftime("%Y-%m"),
                   "by_tech": by_tech, "by_team": by_team}
        return TemplateResponse(request, "admin/assessment/statement.html", context)

    def export_view(self, request: HttpRequest, fmt: str) -> HttpResponse:
        self._may_read(request)
        period = PeriodForm(request.GET or None).period()
        name = f"assessment-{period:%Y-%m}"
        if fmt == "csv":
            by = "team" if request.GET.get("by") == "team" else "technician"
            response = HttpResponse(tables.as_csv(exports.statement_table(period, by=by)),
                                    content_type="text/csv; charset=utf-8")
            response["Content-Disposition"] = f'attachment; filename="{name}-{by}.csv"'
            return response
        if fmt == "xlsx":
            response = HttpResponse(
                exports.as_workbook(period),
                content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
            response["Content-Disposition"] = f'attachment; filename="{name}.xlsx"'
            return response
        raise PermissionDenied


class DecideForm(forms.Form):
    decision = forms.ChoiceField(label=gettext_lazy("Decision"), widget=forms.RadioSelect,
                                 choices=[("reverse", gettext_lazy("Reverse the entry")),
                                          ("uphold", gettext_lazy("Uphold the entry"))])
    note = FreeTextField(label=gettext_lazy("Note to the technician"), required=False,
                         widget=forms.Textarea(attrs={"rows": 3}))


@admin.register(Appeal)
class AppealAdmin(ReadOnly):
    list_display = ("filed_at", "technician", "entry_kind", "entry_points", "status",
                    "decided_by", "decided_at")
    list_filter = ("status",)
    list_select_related = ("entry__technician__user", "decided_by")
    readonly_fields = ("entry", "text", "filed_at", "filed_by", "status", "decided_at",
                       "decided_by", "decision_note")
    change_form_template = "admin/assessment/appeal/change_form.html"

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return request.user.has_perm("assessment.view_appeal")

    @admin.display(description=gettext_lazy("technician"))
    def technician(self, obj: Appeal) -> Any:
        return obj.entry.technician

    @admin.display(description=gettext_lazy("kind"))
    def entry_kind(self, obj: Appeal) -> str:
        return str(EntryKind(obj.entry.kind).label)

    @admin.display(description=gettext_lazy("points"))
    def entry_points(self, obj: Appeal) -> int:
        return obj.entry.points

    def get_urls(self) -> list[Any]:
        own = [path("<int:pk>/decide/", self.admin_site.admin_view(self.decide_view),
                    name="assessment_appeal_decide"),
               path("<int:pk>/photos/<int:photo_pk>/", self.admin_site.admin_view(
                   self.photo_view), name="assessment_appeal_photo")]
        return own + super().get_urls()

    def change_view(self, request: HttpRequest, object_id: str, form_url: str = "",
                    extra_context: dict[str, Any] | None = None) -> HttpResponse:
        appeal = Appeal.objects.filter(pk=object_id).first()
        extra = {**(extra_context or {}),
                 "photos": list(appeal.photos.all()) if appeal else [],
                 "decide_form": DecideForm(),
                 "can_decide": bool(appeal and appeal.status == AppealStatus.PENDING
                                    and request.user.has_perm("assessment.decide_appeal"))}
        return super().change_view(request, object_id, form_url, extra)

    def photo_view(self, request: HttpRequest, pk: int, photo_pk: int) -> HttpResponseBase:
        """An appeal's photo, for those who read appeals; never kept by the browser."""
        if not request.user.has_perm("assessment.view_appeal"):
            raise PermissionDenied
        photo = get_object_or_404(AppealPhoto, pk=photo_pk, appeal_id=pk)
        response = FileResponse(photo.image.open("rb"), content_type="image/jpeg")
        response["Cache-Control"] = "private, no-store"
        return response

    def decide_view(self, request: HttpRequest, pk: int) -> HttpResponse:
        """POST: the supervisor's decision (R53), once; refused with a message otherwise."""
        appeal = get_object_or_404(Appeal, pk=pk)
        change_url = reverse("admin:assessment_appeal_change", args=[appeal.pk])
        if request.method != "POST":
            return HttpResponseRedirect(change_url)
        if not request.user.has_perm("assessment.decide_appeal"):
            raise PermissionDenied
        form = DecideForm(request.POST)
        if not form.is_valid():
            messages.error(request, _("Choose a decision."))
            return HttpResponseRedirect(change_url)
        try:
            services.appeal_decide(appeal_id=appeal.pk, by=request.user,
                                   reverse=form.cleaned_data["decision"] == "reverse",
                                   note=form.cleaned_data["note"])
        except DomainError as exc:
            messages.error(request, exc.message)
            return HttpResponseRedirect(change_url)
        messages.success(request, _("The appeal is decided."))
        return HttpResponseRedirect(change_url)


__all__ = ["AppealAdmin", "AssessmentRuleAdmin", "EntryAdmin"]
