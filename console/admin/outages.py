"""Outages on the desk (R54): dispatchers declare an outage for an area or an access node
(or from the product's proposal), mark it repaired, and see its orders and how each left
it; supervisors read them and set the policy. Writes go through ``outages.services``."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db.models import Count, Q, QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from console.forms import LabelledSplitDateTime
from fieldops.admin import ReadOnlyInline
from fieldops.text import FreeTextField
from outages import selectors, services
from outages.models import (
    AccessNode,
    AccountNode,
    Link,
    Outage,
    OutageOrder,
    OutagePolicy,
    OutageProposal,
    OutageState,
    ProposalState,
)
from workorders.errors import DomainError

from .records import DeclarationAdmin


class OutageForm(forms.ModelForm):
    """The declaration; refused with the field at fault by the service's own check."""

    proposal = forms.ModelChoiceField(
        label=_("proposal"), required=False, widget=forms.HiddenInput,
        queryset=OutageProposal.objects.filter(state=ProposalState.OPEN))

    class Meta:
        model = Outage
        fields = ("area", "node", "explanation", "eta")
        # Issue 18 item 4: the explanation is texted to customers as written; its hidden
        # characters (a bidi override, a zero-width space, NUL) are removed here and again
        # by the service.
        field_classes = {"explanation": FreeTextField}
        widgets = {"eta": LabelledSplitDateTime}

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.request_user: Any = None

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if self.errors:
            return data
        try:
            services.check(by=self.request_user, explanation=data.get("explanation", ""),
                           eta=data.get("eta"), area=data.get("area"), node=data.get("node"))
        except DomainError as exc:
            field = exc.details.get("field") if hasattr(exc, "details") else None
            self.add_error(field if field in self.fields else None, exc.message)
        return data


class OutageOrderInline(ReadOnlyInline):
    model = OutageOrder
    fields = ("order", "state", "attached_at", "asked_at", "service_back", "answered_at",
              "released_at", "release_reason")
    readonly_fields = fields
    verbose_name = _("order")
    verbose_name_plural = _("orders in this outage")


class RepairForm(forms.Form):
    note = FreeTextField(label=_("What was repaired"), required=False,
                         widget=forms.Textarea(attrs={"rows": 3}))


@admin.register(Outage)
class OutageAdmin(DeclarationAdmin):
    form = OutageForm
    list_display = ("__str__", "state", "place", "eta", "declared_at", "due_at", "promise",
                    "orders_held", "orders_resolved", "orders_released")
    list_filter = ("state", "area")
    list_select_related = ("area", "node")
    date_hierarchy = "declared_at"
    inlines = [OutageOrderInline]

    def get_queryset(self, request: HttpRequest) -> QuerySet[Outage]:
        return super().get_queryset(request).annotate(
            held=Count("orders", filter=Q(orders__state__in=selectors.HOLDING)),
            resolved=Count("orders", filter=Q(orders__state=Link.RESOLVED)),
            released=Count("orders", filter=Q(orders__state=Link.RELEASED)))

    @admin.display(description=_("area or node"))
    def place(self, obj: Outage) -> str:
        return obj.place

    @admin.display(description=_("repair promise"))
    def promise(self, obj: Outage) -> str:
        if obj.breached_at:
            return str(_("Breached"))
        if obj.warned_at:
            return str(_("At risk"))
        return str(_("Met")) if obj.state == OutageState.REPAIRED else "–"

    @admin.display(description=_("held"))
    def orders_held(self, obj: Any) -> int:
        return int(obj.held)

    @admin.display(description=_("closed without a visit"))
    def orders_resolved(self, obj: Any) -> int:
        return int(obj.resolved)

    @admin.display(description=_("sent to dispatch"))
    def orders_released(self, obj: Any) -> int:
        return int(obj.released)

    @admin.display(description=_("repair"))
    def repair_link(self, obj: Outage) -> Any:
        if obj.pk is None:
            return "–"
        if obj.state != OutageState.OPEN:
            return format_html("{} · {} · {}", obj.get_state_display(), obj.repaired_by,
                               obj.repair_note)
        return format_html('<a class="button" href="{}">{}</a>',
                           reverse("admin:outages_outage_repair", args=[obj.pk]),
                           _("Mark repaired"))

    def get_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        if obj is None:
            return (*OutageForm.Meta.fields, "proposal")
        return ("area", "node", "explanation", "eta", "state", "declared_by", "declared_at",
                "due_at", "warned_at", "breached_at", "repaired_at", "repair_link")

    def get_changeform_initial_data(self, request: HttpRequest) -> dict[str, Any]:
        # "Declare" on a proposal opens this form for its node.
        return {key: request.GET[key] for key in ("node", "area", "proposal")
                if request.GET.get(key, "").isdigit()}

    def has_add_permission(self, request: HttpRequest) -> bool:
        return services.can_manage(request.user)

    def save_model(self, request: HttpRequest, obj: Outage, form: Any, change: bool) -> None:
        data = form.cleaned_data
        created = services.declare(by=request.user, explanation=data["explanation"],
                                   eta=data["eta"], area=data.get("area"),
                                   node=data.get("node"), proposal=data.get("proposal"))
        obj.pk = created.pk
        obj._state.adding = False
        held = OutageOrder.objects.filter(outage=created).count()
        messages.info(request, _("%(outage)s: %(count)d open repair orders attached; their "
                                 "customers are told the ETA by SMS.")
                      % {"outage": created, "count": held})

    def save_related(self, request: HttpRequest, form: Any, formsets: Any,
                     change: bool) -> None:
        return None  # the service wrote everything

    def get_urls(self) -> list[Any]:
        return [path("<int:pk>/repair/", self.admin_site.admin_view(self.repair_view),
                     name="outages_outage_repair"), *super().get_urls()]

    def repair_view(self, request: HttpRequest, pk: int) -> HttpResponse:
        """R54: the fault is repaired; every held customer is asked whether service is
        back."""
        if not services.can_manage(request.user):
            raise PermissionDenied
        outage = get_object_or_404(Outage, pk=pk)
        change_url = reverse("admin:outages_outage_change", args=[pk])
        form = RepairForm(request.POST or None)
        if request.method == "POST" and form.is_valid():
            try:
                done = services.mark_repaired(outage, by=request.user,
                                              note=form.cleaned_data["note"])
            except DomainError as exc:
                messages.error(request, exc.message)
                return HttpResponseRedirect(change_url)
            asked = OutageOrder.objects.filter(outage=done, state=Link.ASKED).count()
            messages.success(request, _("%(outage)s repaired: %(count)d customers asked "
                                        "whether service is back.")
                             % {"outage": done, "count": asked})
            return HttpResponseRedirect(change_url)
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta, "outage": outage, "form": form,
            "title": _("Mark repaired: %(outage)s") % {"outage": outage},
            "held": OutageOrder.objects.filter(outage=outage, state=Link.ATTACHED).count(),
            "change_url": change_url,
        }
        return TemplateResponse(request, "admin/outages/outage/repair.html", context)


@admin.register(OutageProposal)
class OutageProposalAdmin(admin.ModelAdmin):
    list_display = ("__str__", "state", "reports", "window_minutes", "proposed_at",
                    "declare_link", "outage", "decided_by")
    list_filter = ("state",)
    list_select_related = ("node", "outage", "decided_by")
    actions = ["dismiss"]

    @admin.display(description=_("declare"))
    def declare_link(self, obj: OutageProposal) -> Any:
        if obj.state != ProposalState.OPEN:
            return "–"
        url = reverse("admin:outages_outage_add")
        return format_html('<a class="button" href="{}?node={}&proposal={}">{}</a>', url,
                           obj.node_id, obj.pk, _("Declare an outage"))

    @admin.action(description=_("Dismiss the selected proposals"),
                  permissions=["change"])
    def dismiss(self, request: HttpRequest, queryset: QuerySet[OutageProposal]) -> None:
        done = 0
        for proposal in queryset.filter(state=ProposalState.OPEN):
            try:
                services.dismiss(proposal, by=request.user)
            except DomainError as exc:
                messages.error(request, exc.message)
            else:
                done += 1
        messages.success(request, _("%(count)d proposals dismissed.") % {"count": done})

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        return [f.name for f in OutageProposal._meta.fields]


@admin.register(AccessNode)
class AccessNodeAdmin(admin.ModelAdmin):
    list_display = ("code", "name", "kind", "area")
    list_filter = ("kind", "area")
    search_fields = ("code", "name")


@admin.register(AccountNode)
class AccountNodeAdmin(admin.ModelAdmin):
    list_display = ("account", "node")
    raw_id_fields = ("account",)
    list_select_related = ("account", "node")
    search_fields = ("account__number", "node__code")


@admin.register(OutagePolicy)
class OutagePolicyAdmin(admin.ModelAdmin):
    list_display = ("name", "is_active", "proposal_count", "proposal_window_minutes",
                    "repair_target_minutes", "warn_percent", "answer_hours")
