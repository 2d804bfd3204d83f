"""Force majeure on the desk (R50): dispatchers declare an event for an order or an area,
supervisors approve or reject it; each exemption lists the orders it touched and the
breaches it exempted. Declarations and decisions go through ``sla.force_majeure``."""

from __future__ import annotations

import mimetypes
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.http import FileResponse, Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.http.response import HttpResponseBase
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from fieldops.admin import ReadOnlyInline
from fieldops.text import FreeTextField
from sla import force_majeure
from sla.exemptions import ExemptBreach, Exemption, ExemptionOrder, ExemptionState
from workorders.errors import DomainError

from .records import DeclarationAdmin


class ExemptionForm(forms.ModelForm):
    """The declaration; refused with the field at fault by the same check as the service.
    The evidence photo is checked and re-encoded here (``force_majeure.prepare_evidence``),
    so a photo too large is a message on the form, and only the re-encoded copy is stored."""

    evidence = forms.FileField(label=_("evidence photo"), required=False,
                               widget=forms.ClearableFileInput(attrs={"accept": "image/*"}))

    class Meta:
        model = Exemption
        fields = ("kind", "reason", "evidence", "order", "area", "starts_at", "ends_at")
        field_classes = {"reason": FreeTextField}  # issue 18 item 4

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.request_user: Any = None
        self.prepared_evidence: Any = None

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if self.errors:
            return data
        try:
            force_majeure.check(by=self.request_user, kind=data.get("kind", ""),
                                reason=data.get("reason", ""),
                                starts_at=data.get("starts_at"), ends_at=data.get("ends_at"),
                                order=data.get("order"), area=data.get("area"))
            self.prepared_evidence = force_majeure.prepare_evidence(data.get("evidence"))
        except DomainError as exc:
            field = exc.details.get("field") if hasattr(exc, "details") else None
            field = field if field in self.fields else None
            self.add_error(field, exc.message)
        return data


class AffectedOrderInline(ReadOnlyInline):
    model = ExemptionOrder
    fields = ("order",)
    readonly_fields = ("order",)
    verbose_name = _("order affected")
    verbose_name_plural = _("orders affected")


class ExemptBreachInline(ReadOnlyInline):
    model = ExemptBreach
    fields = ("timer", "breached", "exempted_by", "exempted_at", "reason")
    readonly_fields = fields

    @admin.display(description=_("breached"))
    def breached(self, obj: ExemptBreach) -> Any:
        return obj.timer.breached_at


class DecisionForm(forms.Form):
    decision = forms.ChoiceField(label=_("Decision"), widget=forms.RadioSelect, choices=[
        ("approve", _("Approve: the breaches in the range are exempt")),
        ("reject", _("Reject: nothing changes"))])
    reason = FreeTextField(label=_("Why"), widget=forms.Textarea(attrs={"rows": 3}))


@admin.register(Exemption)
class ExemptionAdmin(DeclarationAdmin):
    form = ExemptionForm
    list_display = ("__str__", "state", "kind", "order", "area", "starts_at", "ends_at",
                    "declared_by", "declared_at", "decided_by", "breaches_exempted")
    list_filter = ("state", "area", "kind")
    list_select_related = ("order", "area", "declared_by", "decided_by")
    date_hierarchy = "declared_at"
    raw_id_fields = ("order",)
    inlines = [AffectedOrderInline, ExemptBreachInline]
    readonly_fields = ("decide_link",)

    @admin.display(description=_("breaches exempted"))
    def breaches_exempted(self, obj: Exemption) -> int:
        return obj.breaches.count()

    @admin.display(description=_("decision"))
    def decide_link(self, obj: Exemption) -> Any:
        if obj.pk is None:
            return "–"
        if obj.state != ExemptionState.DECLARED:
            return format_html("{} · {} · {}", obj.get_state_display(), obj.decided_by,
                               obj.decision_reason)
        return format_html('<a class="button" href="{}">{}</a>',
                           reverse("admin:sla_exemption_decide", args=[obj.pk]),
                           _("Approve or reject"))

    @admin.display(description=_("evidence photo"))
    def evidence_photo(self, obj: Exemption) -> Any:
        """A link to the role-checked view, never to the file's public storage URL."""
        if not obj.pk or not obj.evidence:
            return "–"
        return format_html('<a href="{}" target="_blank" rel="noopener">{}</a>',
                           reverse("admin:sla_exemption_evidence", args=[obj.pk]),
                           _("Open the photo"))

    def get_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        if obj is None:
            return ExemptionForm.Meta.fields
        return ("kind", "reason", "evidence_photo", "order", "area", "starts_at", "ends_at",
                "state", "declared_by", "declared_at", "decide_link")

    def has_add_permission(self, request: HttpRequest) -> bool:
        return force_majeure.can_declare_for_area(request.user)

    def save_model(self, request: HttpRequest, obj: Exemption, form: Any,
                   change: bool) -> None:
        data = form.cleaned_data
        created = force_majeure.declare(
            by=request.user, kind=data["kind"], reason=data["reason"],
            starts_at=data["starts_at"], ends_at=data["ends_at"], order=data.get("order"),
            area=data.get("area"), evidence=form.prepared_evidence)
        obj.pk = created.pk
        obj._state.adding = False

    def save_related(self, request: HttpRequest, form: Any, formsets: Any,
                     change: bool) -> None:
        return None  # the service wrote everything

    def get_urls(self) -> list[Any]:
        return [path("<int:pk>/decide/", self.admin_site.admin_view(self.decide_view),
                     name="sla_exemption_decide"),
                path("<int:pk>/evidence/", self.admin_site.admin_view(self.evidence_view),
                     name="sla_exemption_evidence"), *super().get_urls()]

    def evidence_view(self, request: HttpRequest, pk: int) -> HttpResponseBase:
        """The evidence photo (R50), for those who may read exemptions; streamed from the
        storage and never kept by the browser (like the orders' and appeals' photos)."""
        exemption = get_object_or_404(Exemption, pk=pk)
        if not self.has_view_permission(request, exemption):
            raise PermissionDenied
        if not exemption.evidence:
            raise Http404
        kind = mimetypes.guess_type(exemption.evidence.name or "")[0] or "image/jpeg"
        response = FileResponse(exemption.evidence.open("rb"), content_type=kind)
        response["Cache-Control"] = "private, no-store"
        return response

    def decide_view(self, request: HttpRequest, pk: int) -> HttpResponse:
        """R50: a supervisor approves or rejects, with a reason."""
        if not force_majeure.can_decide(request.user):
            raise PermissionDenied
        exemption = get_object_or_404(Exemption, pk=pk)
        change_url = reverse("admin:sla_exemption_change", args=[pk])
        form = DecisionForm(request.POST or None)
        if request.method == "POST" and form.is_valid():
            try:
                done = force_majeure.decide(
                    exemption, by=request.user,
                    approve=form.cleaned_data["decision"] == "approve",
                    reason=form.cleaned_data["reason"])
            except DomainError as exc:
                messages.error(request, exc.message)
                return HttpResponseRedirect(change_url)
            messages.success(request, _("%(exemption)s: %(state)s; %(count)s breaches "
                                        "exempted.")
                             % {"exemption": done, "state": done.get_state_display(),
                                "count": done.breaches.count()})
            return HttpResponseRedirect(change_url)
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "title": _("Approve or reject: %(exemption)s") % {"exemption": exemption},
            "exemption": exemption,
            "affected": exemption.affected.count(),
            "form": form,
            "change_url": change_url,
        }
        return TemplateResponse(request, "admin/sla/exemption/decide.html", context)
