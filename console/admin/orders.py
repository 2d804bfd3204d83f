"""The dispatcher's desk: the work-order list, one order's page with its history, and the
buttons for the transitions this user may perform. Every button and bulk action calls a
service; a refusal comes back as a readable message and changes nothing."""

from __future__ import annotations

import base64
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django import forms
from django.conf import settings
from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from appointments import services as booking_services
from appointments.models import Appointment, VisitPlan
from console import forms as wo_forms
from console import history
from console.admin.board import board_assign_view, board_data_view, board_plan_view, board_view
from console.admin.dayplan import accept_view as day_plan_accept_view
from console.admin.dayplan import propose_view as day_plan_propose_view
from console.admin.phonesteps import RefusedPhoneStepInline
from console.admin.queue import queue_view
from fieldops.admin import ReadOnlyAdmin, ReadOnlyInline
from fieldops.privacy import mask_name, mask_phone
from planning.ranking import Candidate, rank_candidates
from planning.selectors import map_data
from reports import copy as report_copy
from sla.timer_admin import SlaStatusFilter, TimerInline
from surveys import services as survey_services
from surveys.admin import FollowUpInline, ReworkRoundInline, SurveyInline
from workorders import pii, selectors, services
from workorders.access import can_see_pii, sees_full_contact
from workorders.bulk import BulkResult, for_each_order
from workorders.errors import DomainError
from workorders.models import (
    Assignment,
    ContactAttempt,
    Customer,
    Face,
    PiiAccess,
    ServiceAccount,
    Signature,
    State,
    WorkOrder,
    WorkOrderEvent,
)


def shown_phone(user: Any, order: WorkOrder) -> str:
    """R40: the full number only for roles whose work needs it (``sees_full_contact``);
    the page that shows it records the read (``pii.record_reads``)."""
    phone = order.contact_phone
    return phone if sees_full_contact(user, order) else mask_phone(phone)


def signer_shown(request: HttpRequest, order: WorkOrder, where: str) -> history.Signer:
    """R40: how a desk page shows the name of a customer who signed ``order`` to this
    request's user: ``pii.name_for`` (in full and recorded for whom the policy allows,
    masked for the rest). One record per name per page, however many places of the page
    (the sign-off inline, the history) show it."""
    shown: dict[tuple[int, str, str], str] = request.__dict__.setdefault("_r40_names", {})

    def name(value: str) -> str:
        key = (order.pk, where, value)
        if key not in shown:
            shown[key] = pii.name_for(user=request.user, order=order, face=Face.ADMIN,
                                      where=where, name=value)
        return shown[key]

    return name


# --- Desk actions: transition name -> form and service call -------------------

@dataclass(frozen=True)
class DeskAction:
    label: Any
    form: type[forms.Form]
    run: Callable[[WorkOrder, Any, dict[str, Any]], WorkOrder]
    danger: bool = False


DESK_ACTIONS: dict[str, DeskAction] = {
    "dispatch": DeskAction(
        _("Dispatch"), wo_forms.TechnicianChoiceForm,
        lambda o, by, d: services.work_order_dispatch(order=o, by=by, technician=d["technician"],
                                                      reason=d["reason"])),
    "reassign": DeskAction(
        _("Reassign"), wo_forms.ReassignForm,
        lambda o, by, d: services.work_order_reassign(order=o, by=by, technician=d["technician"],
                                                      reason=d["reason"])),
    "unassign": DeskAction(
        _("Unassign"), wo_forms.ReasonForm,
        lambda o, by, d: services.work_order_unassign(order=o, by=by, reason=d["reason"])),
    "reassign_rework": DeskAction(
        _("Reassign rework"), wo_forms.TechnicianChoiceForm,
        lambda o, by, d: survey_services.work_order_reassign_rework(
            order=o, by=by, technician=d["technician"], reason=d["reason"])),
    "resolve_remotely": DeskAction(
        _("Resolved remotely"), wo_forms.ResolutionForm,
        lambda o, by, d: services.work_order_resolve_remotely(order=o, by=by,
                                                              resolution=d["resolution"])),
    "park": DeskAction(
        _("Park at customer's request"), wo_forms.ParkForm,
        lambda o, by, d: booking_services.work_order_park(order=o, by=by, until=d["until"],
                                                  reason=d["reason"])),
    "resume": DeskAction(
        _("Resume"), wo_forms.OptionalReasonForm,
        lambda o, by, d: booking_services.work_order_resume(order=o, by=by, reason=d["reason"])),
    "return_from_abnormal": DeskAction(
        _("Callback done: book again"), wo_forms.CallbackForm,
        lambda o, by, d: services.work_order_return_from_abnormal(
            order=o, by=by, callback_note=d["callback_note"])),
    "close_abnormal": DeskAction(
        _("Callback done: close"), wo_forms.CallbackForm,
        lambda o, by, d: services.work_order_close_abnormal(
            order=o, by=by, callback_note=d["callback_note"])),
    "close_satisfied": DeskAction(
        _("Customer satisfied"), wo_forms.SurveyResultForm,
        lambda o, by, d: survey_services.work_order_record_survey(order=o, by=by, satisfied=True,
                                                           comment=d["comment"])),
    "start_rework": DeskAction(
        _("Customer not satisfied"), wo_forms.SurveyResultForm,
        lambda o, by, d: survey_services.work_order_record_survey(order=o, by=by, satisfied=False,
                                                           comment=d["comment"])),
    "cancel": DeskAction(
        _("Cancel"), wo_forms.ReasonForm,
        lambda o, by, d: services.work_order_cancel(order=o, by=by, reason=d["reason"]),
        danger=True),
}


#: Desk actions whose technician is chosen from the ranking, best first with reasons (R4);
#: a rework order's next technician too (R33).
RANKED_ACTIONS = frozenset({"dispatch", "reassign", "reassign_rework"})


def ranked_for(order: WorkOrder, action: str) -> list[Candidate]:
    """The ranking the action's service chooses from (``planning.ranking``), with the same
    technicians set aside: the one holding the order on a reassign (R4), everyone who held
    it before on a rework reassign (R33, as ``work_order_reassign_rework`` refuses them),
    each told apart with the rule that sets them aside."""
    if action != "reassign_rework":
        return rank_candidates(order, exclude=[order.technician_id] if order.technician_id
                               else [])
    previous = set(selectors.previous_technician_ids(order))
    candidates = rank_candidates(order, exclude=previous)
    for c in candidates:
        if c.technician.pk in previous and c.technician.pk != order.technician_id:
            # rank_candidates words every one set aside as holding the order now
            c.refusal = _("%(name)s already worked on this order; R33 asks for a "
                          "different technician.") % {"name": c.technician.display_name}
            c.reasons = [c.refusal, *c.reasons[1:]]
    return candidates


def desk_actions_for(order: WorkOrder, user: Any) -> list[tuple[str, DeskAction]]:
    allowed = set(selectors.allowed_actions(order, user))
    return [(name, action) for name, action in DESK_ACTIONS.items() if name in allowed]


# --- Inlines (read-only history) ------------------------------------------------

class EventInline(ReadOnlyInline):
    model = WorkOrderEvent
    fields = ("shown_at", "actor_label", "action", "from_state", "to_state", "reason",
              "shown_details")
    readonly_fields = fields
    verbose_name_plural = _("History (R42)")

    @admin.display(description=_("at"))
    def shown_at(self, event: WorkOrderEvent) -> str:
        # A step done offline: when it was done, and when the phone sent it.
        return event.shown_at

    #: R40: the page's way of showing a signer's name (``signer_shown``), set per request
    #: by ``WorkOrderAdmin.get_inline_instances``; masked when unset.
    signer_of: history.Signer | None = None

    @admin.display(description=_("details"))
    def shown_details(self, event: WorkOrderEvent) -> str:
        # The stored payload in words (console.history), not its JSON; the signer's name
        # as the policy shows it to this user (R40).
        return history.details(event.payload, signer=self.signer_of)


class ContactInline(ReadOnlyInline):
    model = ContactAttempt
    fields = ("at", "technician", "channel", "outcome", "note", "sms_sent")
    readonly_fields = fields


class AssignmentInline(ReadOnlyInline):
    model = Assignment
    fields = ("technician", "assigned_at", "ended_at", "assigned_by", "automatic", "reason")
    readonly_fields = fields


class AppointmentInline(ReadOnlyInline):
    model = Appointment
    fields = ("start", "end", "precision", "status", "chosen_by_customer", "booked_by",
              "reason")
    readonly_fields = fields


class VisitPlanInline(ReadOnlyInline):
    """The planned starts set on the day board: who moved the visit, when, from and to."""

    model = VisitPlan
    fields = ("set_at", "set_by", "technician", "previous_start", "planned_start",
              "appointment")
    readonly_fields = fields
    verbose_name_plural = _("Planned starts (day board)")

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        # Whoever may read the order reads how its visit was planned.
        return bool(request.user.has_perm("workorders.view_workorder"))


# --- Filters ---------------------------------------------------------------------

class OpenFilter(admin.SimpleListFilter):
    title = _("open / finished")
    parameter_name = "open"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, Any]]:
        return [("1", _("Open")), ("0", _("Finished"))]

    def queryset(self, request: HttpRequest, queryset: QuerySet[WorkOrder]) -> Any:
        finished = [State.CLOSED, State.CANCELLED, State.RESOLVED_REMOTELY]
        if self.value() == "1":
            return queryset.exclude(state__in=finished)
        if self.value() == "0":
            return queryset.filter(state__in=finished)
        return queryset


@admin.register(WorkOrder)
class WorkOrderAdmin(admin.ModelAdmin):
    change_form_template = "admin/workorders/workorder/change_form.html"
    list_display = ("number_link", "state_badge", "kind", "service", "area", "technician",
                    "customer_name", "phone", "customer_class", "preferred_day", "created_at",
                    "supervisor_flag")
    list_display_links = None
    list_filter = (OpenFilter, SlaStatusFilter, "state", "kind", "service", "area", "technician",
                   "customer_class", "channel", ("created_at", admin.DateFieldListFilter))
    list_select_related = ("area", "technician__user", "customer")
    search_fields = ("contact_phone", "customer__phone", "account__number", "address",
                     "external_ref", "customer__name")
    search_help_text = _("Order number (WO…), phone, account number, address or "
                         "call-centre reference")
    date_hierarchy = "created_at"
    list_per_page = 50
    show_full_result_count = False
    actions = ["bulk_dispatch", "bulk_reassign"]
    inlines = [RefusedPhoneStepInline, TimerInline, AppointmentInline, VisitPlanInline,
               ContactInline, AssignmentInline, EventInline]
    readonly_fields = ("order_number", "state", "version", "kind", "service", "access_type",
                       "channel", "customer_class", "customer", "account", "phone", "address",
                       "area", "symptoms", "fault_started_at", "preferred_day", "external_ref",
                       "notes", "technician", "dispatched_at", "resources_confirmed_at",
                       "parked_until", "customer_missed_bookings", "our_missed_appointments",
                       "supervisor_flag", "rework_round", "completed_at", "closed_at",
                       "cancel_reason", "created_at", "updated_at", "created_by")
    fieldsets = (
        (None, {"fields": ("order_number", "state", "kind", "service", "access_type", "channel",
                           "customer_class", "external_ref")}),
        (_("Customer and place"), {"fields": ("customer", "account", "phone", "address",
                                              "area", "symptoms", "fault_started_at",
                                              "preferred_day", "notes")}),
        (_("Progress"), {"fields": ("technician", "dispatched_at", "resources_confirmed_at",
                                    "parked_until", "customer_missed_bookings",
                                    "our_missed_appointments", "supervisor_flag",
                                    "rework_round", "completed_at", "closed_at",
                                    "cancel_reason")}),
        (_("Record"), {"fields": ("version", "created_at", "updated_at", "created_by")}),
    )

    # --- List columns ---------------------------------------------------------

    @admin.display(description=_("number"), ordering="pk")
    def number_link(self, obj: WorkOrder) -> str:
        url = reverse("admin:workorders_workorder_change", args=[obj.pk])
        return format_html('<a href="{}">{}</a>', url, obj.number)

    @admin.display(description=_("number"))
    def order_number(self, obj: WorkOrder) -> str:
        return obj.number

    @admin.display(description=_("state"), ordering="state")
    def state_badge(self, obj: WorkOrder) -> str:
        return format_html('<span class="fo-state fo-state-{}">{}</span>', obj.state,
                           obj.get_state_display())

    @admin.display(description=_("customer"), ordering="customer__name")
    def customer_name(self, obj: WorkOrder) -> str:
        return obj.customer.name

    @admin.display(description=_("phone"))
    def phone(self, obj: WorkOrder) -> str:
        """Masked on the order page; the full number is shown (and its reading logged)
        in the contact box only to roles that need it (R40)."""
        return mask_phone(obj.contact_phone)

    def get_list_display(self, request: HttpRequest) -> Any:
        # A per-request column: the admin instance is shared between requests.
        @admin.display(description=_("phone"))
        def phone(obj: WorkOrder) -> str:
            return shown_phone(request.user, obj)

        return [phone if name == "phone" else name for name in self.list_display]

    def changelist_view(self, request: HttpRequest,
                        extra_context: dict[str, Any] | None = None) -> HttpResponse:
        response = super().changelist_view(request, extra_context)
        changelist = (getattr(response, "context_data", None) or {}).get("cl")
        if changelist is not None:
            # R40: the phone column shows these orders' numbers in full to this user.
            pii.record_reads(user=request.user, orders=changelist.result_list,
                             face=Face.ADMIN, where="admin:order-list")
        return response

    # --- Queryset, search, permissions ------------------------------------------

    def get_queryset(self, request: HttpRequest) -> QuerySet[WorkOrder]:
        return selectors.orders_visible_to(request.user, super().get_queryset(request))

    def get_search_results(self, request: HttpRequest, queryset: QuerySet[WorkOrder],
                           search_term: str) -> tuple[QuerySet[WorkOrder], bool]:
        pk = WorkOrder.pk_from_number(search_term)
        if pk is not None:
            return queryset.filter(pk=pk), False
        return super().get_search_results(request, queryset, search_term)

    def get_inline_instances(self, request: HttpRequest, obj: Any = None) -> list[Any]:
        # The phone steps refused on this order, only when there are some.
        inlines = [inline for inline in super().get_inline_instances(request, obj)
                   if not isinstance(inline, RefusedPhoneStepInline)
                   or RefusedPhoneStepInline.shown_for(obj)]
        if obj is not None:
            # R40: the sign-off inline and the history show the signer's name through the
            # policy, recorded once for the page (instances are made per request).
            signer = signer_shown(request, obj, "admin:order")
            for inline in inlines:
                if hasattr(inline, "signer_of"):
                    inline.signer_of = signer
        return inlines

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        # Nothing on an order is edited by hand: changes go through desk actions.
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def get_actions(self, request: HttpRequest) -> dict[str, Any]:
        actions = super().get_actions(request)
        if not request.user.has_perm("workorders.dispatch_workorder"):
            actions.pop("bulk_dispatch", None)
            actions.pop("bulk_reassign", None)
        return actions

    # --- The order page: history, buttons, PII access log ---------------------------

    def change_view(self, request: HttpRequest, object_id: str, form_url: str = "",
                    extra_context: dict[str, Any] | None = None) -> HttpResponse:
        order = self.get_object(request, object_id)
        extra_context = extra_context or {}
        if order is not None:
            extra_context["desk_actions"] = [
                (name, action, reverse("admin:workorders_workorder_act",
                                       args=[order.pk, name]))
                for name, action in desk_actions_for(order, request.user)]
            extra_context["order_version"] = order.version
            if sees_full_contact(request.user, order):
                extra_context["full_phone"] = pii.phone_for(
                    user=request.user, order=order, face=Face.ADMIN, where="admin:order")
        return super().change_view(request, object_id, form_url, extra_context)

    def get_urls(self) -> list[Any]:
        urls = super().get_urls()
        own = [
            path("<int:pk>/act/<str:action>/", self.admin_site.admin_view(self.act_view),
                 name="workorders_workorder_act"),
            path("intake/", self.admin_site.admin_view(self.intake_view),
                 name="workorders_workorder_intake"),
            path("queue/", self.admin_site.admin_view(
                lambda request: queue_view(request, self.admin_site)),
                 name="workorders_workorder_queue"),
            path("board/", self.admin_site.admin_view(
                lambda request: board_view(request, self.admin_site)),
                 name="workorders_workorder_board"),
            path("board/data/", self.admin_site.admin_view(board_data_view),
                 name="workorders_workorder_board_data"),
            path("board/<int:pk>/assign/", self.admin_site.admin_view(board_assign_view),
                 name="workorders_workorder_board_assign"),
            path("board/<int:pk>/plan/", self.admin_site.admin_view(board_plan_view),
                 name="workorders_workorder_board_plan"),
            path("board/propose/", self.admin_site.admin_view(day_plan_propose_view),
                 name="workorders_workorder_day_plan_propose"),
            path("board/proposals/<int:pk>/accept/",
                 self.admin_site.admin_view(day_plan_accept_view),
                 name="workorders_workorder_day_plan_accept"),
            path("map/", self.admin_site.admin_view(self.map_view),
                 name="workorders_workorder_map"),
            path("signatures/<int:pk>/report/", self.admin_site.admin_view(self.report_view),
                 name="workorders_signature_report"),
            path("signatures/<int:pk>/report.pdf",
                 self.admin_site.admin_view(self.report_pdf_view),
                 name="workorders_signature_report_pdf"),
        ]
        return own + urls

    def add_view(self, request: HttpRequest, form_url: str = "",
                 extra_context: dict[str, Any] | None = None) -> HttpResponse:
        return HttpResponseRedirect(reverse("admin:workorders_workorder_intake"))

    def act_view(self, request: HttpRequest, pk: int, action: str) -> HttpResponse:
        """One desk action on one order: a small form, then the service."""
        order = get_object_or_404(self.get_queryset(request), pk=pk)
        desk = DESK_ACTIONS.get(action)
        if desk is None:
            raise PermissionDenied
        change_url = reverse("admin:workorders_workorder_change", args=[order.pk])
        if request.method == "POST":
            form = desk.form(request.POST)
            if form.is_valid():
                seen = request.POST.get("version")
                if seen and seen.isdigit():
                    order.version = int(seen)  # compare-and-swap against what was shown
                try:
                    updated = desk.run(order, request.user, form.cleaned_data)
                except DomainError as exc:
                    messages.error(request, exc.message)
                    return HttpResponseRedirect(change_url)
                messages.success(request, _("%(action)s: order %(number)s is now %(state)s.")
                                 % {"action": desk.label, "number": updated.number,
                                    "state": updated.get_state_display()})
                return HttpResponseRedirect(change_url)
        else:
            form = desk.form()
        candidates = None
        if action in RANKED_ACTIONS:
            candidates = ranked_for(order, action)
            wo_forms.offer_ranked(form, candidates)
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "title": f"{desk.label}: {order.number}",
            "order": order,
            "form": form,
            "desk": desk,
            "version": request.POST.get("version", order.version),
            "change_url": change_url,
            "candidates": candidates,
        }
        return TemplateResponse(request, "admin/workorders/workorder/act.html", context)

    def _signature(self, request: HttpRequest, pk: int) -> Signature:
        """A signature of an order this user may read (the list's own scope), or 404."""
        if not self.has_view_permission(request):
            raise PermissionDenied
        return get_object_or_404(Signature.objects.select_related("order"), pk=pk,
                                 order__in=self.get_queryset(request))

    def report_view(self, request: HttpRequest, pk: int) -> HttpResponse:
        """The customer's copy of the signed report, as the customer sees it (R26)."""
        signature = self._signature(request, pk)
        return TemplateResponse(request, "report/copy.html", report_copy.context(
            signature, pdf_url=reverse("admin:workorders_signature_report_pdf", args=[pk]),
            back_url=reverse("admin:workorders_workorder_change", args=[signature.order_id]),
            viewer=request.user, face=Face.ADMIN, where="admin:report"))

    def report_pdf_view(self, request: HttpRequest, pk: int) -> HttpResponse:
        from reports import pdf as report_pdf  # reportlab only where a PDF is made

        return report_pdf.pdf_response(report_copy.copy_of(self._signature(request, pk)),
                                       user=request.user, where="export:admin-report-pdf")

    def map_view(self, request: HttpRequest) -> HttpResponse:
        """Open orders and technicians' last positions on a map (tiles from
        ``MAP_TILE_URL``), with a line from each technician to their next order."""
        if not self.has_view_permission(request):
            raise PermissionDenied
        data = map_data()
        next_order = {line["technician"]: line["order"] for line in data["lines"]}
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "title": _("Map"),
            "data": data,
            "technicians": [{**t, "next": next_order.get(t["id"])}
                            for t in data["technicians"]],
            "tile_url": settings.MAP_TILE_URL,
            "tile_attribution": settings.MAP_TILE_ATTRIBUTION,
        }
        return TemplateResponse(request, "admin/workorders/workorder/map.html", context)

    def intake_view(self, request: HttpRequest) -> HttpResponse:
        """New order at the desk through the same service the API uses (R1, R3)."""
        if not self.has_add_permission(request):
            raise PermissionDenied
        form = wo_forms.WorkOrderIntakeForm(request.POST or None)
        if request.method == "POST" and form.is_valid():
            try:
                order = services.work_order_create(by=request.user, **form.cleaned_data)
            except DomainError as exc:
                field = getattr(exc, "field", "")
                form.add_error(field if field in form.fields else None, exc.message)
            else:
                messages.success(request, _("Order %(number)s created.")
                                 % {"number": order.number})
                return HttpResponseRedirect(
                    reverse("admin:workorders_workorder_change", args=[order.pk]))
        context = {**self.admin_site.each_context(request), "opts": self.model._meta,
                   "title": _("New work order"), "form": form}
        return TemplateResponse(request, "admin/workorders/workorder/intake.html", context)

    # --- Bulk actions (R4) ---------------------------------------------------------

    def _report(self, request: HttpRequest, result: BulkResult, *, reassigned: bool) -> None:
        """One message for the whole run: how many were done, how many refused and why
        (R4). Every order was tried in its own transaction (``for_each_order``)."""
        values = {"done": len(result.done), "refused": len(result.refused),
                  "why": result.why()}
        if reassigned:
            text = (_("%(done)d reassigned, %(refused)d refused: %(why)s") if result.refused
                    else _("%(done)d reassigned.")) % values
        else:
            text = (_("%(done)d dispatched, %(refused)d refused: %(why)s") if result.refused
                    else _("%(done)d dispatched.")) % values
        level = messages.WARNING if result.refused else messages.SUCCESS
        messages.add_message(request, level, text)

    @admin.action(description=_("Dispatch automatically (by area, skill and load)"))
    def bulk_dispatch(self, request: HttpRequest, queryset: QuerySet[WorkOrder]) -> None:
        # R4: in id order, one transaction per order, a deadlock retried once: a refusal
        # is reported with its reason, never a server error.
        result = for_each_order(
            queryset.values_list("pk", flat=True),
            lambda order: services.work_order_dispatch(order=order, by=request.user))
        self._report(request, result, reassigned=False)

    @admin.action(description=_("Reassign to a technician…"))
    def bulk_reassign(self, request: HttpRequest,
                      queryset: QuerySet[WorkOrder]) -> HttpResponse | None:
        form = wo_forms.ReassignForm(request.POST if "apply" in request.POST else None)
        if "apply" in request.POST and form.is_valid():
            technician, reason = form.cleaned_data["technician"], form.cleaned_data["reason"]
            result = for_each_order(
                queryset.values_list("pk", flat=True),
                lambda order: services.work_order_reassign(
                    order=order, by=request.user, technician=technician, reason=reason))
            self._report(request, result, reassigned=True)
            return None
        context = {**self.admin_site.each_context(request), "opts": self.model._meta,
                   "title": _("Reassign orders"), "form": form, "orders": queryset,
                   "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME}
        return TemplateResponse(request, "admin/workorders/workorder/bulk_reassign.html",
                                context)


@admin.register(WorkOrderEvent)
class WorkOrderEventAdmin(ReadOnlyAdmin):
    list_display = ("shown_at", "order", "actor_label", "action", "from_state", "to_state",
                    "reason")
    list_filter = ("action", "to_state")
    search_fields = ("reason", "actor_label")
    list_select_related = ("order",)
    date_hierarchy = "at"
    show_full_result_count = False

    #: R40: the stored payload may hold the signer's name; the page shows it in words
    #: (``shown_details``), the name through the policy.
    exclude = ("payload",)
    readonly_fields = ("shown_details",)

    @admin.display(description=_("at"), ordering="at")
    def shown_at(self, event: WorkOrderEvent) -> str:
        return event.shown_at

    @admin.display(description=_("details"))
    def shown_details(self, event: WorkOrderEvent) -> str:
        return getattr(event, "details_shown", "")

    def get_queryset(self, request: HttpRequest) -> QuerySet[WorkOrderEvent]:
        visible = selectors.orders_visible_to(request.user)
        return super().get_queryset(request).filter(order__in=visible)

    def get_object(self, request: HttpRequest, object_id: str,
                   from_field: str | None = None) -> WorkOrderEvent | None:
        # The details in words for this request's user: the signer's name in full and
        # recorded, or masked (R40, ``signer_shown``).
        event = super().get_object(request, object_id, from_field)
        if event is not None:
            event.details_shown = history.details(
                event.payload, signer=signer_shown(request, event.order, "admin:event"))
        return event


@admin.register(Customer)
class CustomerAdmin(admin.ModelAdmin):
    list_display = ("name", "masked_phone", "customer_class", "created_at")
    list_filter = ("customer_class",)
    search_fields = ("name", "phone")
    readonly_fields = ("masked_phone",)
    actions = ["merge"]

    @admin.display(description=_("phone"))
    def masked_phone(self, obj: Customer) -> str:
        return mask_phone(obj.phone)

    def has_merge_permission(self, request: HttpRequest) -> bool:
        return bool(request.user.has_perm("workorders.merge_customer"))

    @admin.action(description=_("Merge the selected customers into the oldest of them"),
                  permissions=["merge"])
    def merge(self, request: HttpRequest, queryset: QuerySet[Customer]) -> None:
        """Duplicates from two intakes at once (R1): one record, every order and account."""
        chosen = list(queryset.order_by("created_at", "pk"))
        if len(chosen) < 2:
            messages.error(request, _("Select two or more records of the same customer."))
            return
        keep, others = chosen[0], chosen[1:]
        try:
            moved = services.customer_merge(keep=keep, duplicates=others, by=request.user)
        except DomainError as exc:
            messages.error(request, exc.message)
            return
        self.log_change(request, keep, _("Merged %(n)d duplicate record(s) into this one.")
                        % {"n": len(others)})
        messages.success(request, _("%(n)d record(s) merged into %(name)s; %(orders)d "
                                    "order(s) moved.")
                         % {"n": len(others), "name": keep.name, "orders": moved})

    def get_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        if can_see_pii(request.user):
            return ["name", "phone", "alt_phone", "customer_class"]
        return ["name", "masked_phone", "customer_class"]

    def change_view(self, request: HttpRequest, object_id: str, form_url: str = "",
                    extra_context: dict[str, Any] | None = None) -> HttpResponse:
        response = super().change_view(request, object_id, form_url, extra_context)
        customer = (getattr(response, "context_data", None) or {}).get("original")
        if customer is not None and can_see_pii(request.user):
            # R40: the form shows this customer's phone numbers in full.
            pii.record_customer_read(user=request.user, customer=customer,
                                     face=Face.ADMIN, where="admin:customer",
                                     what="phone, alt_phone")
        return response


@admin.register(ServiceAccount)
class ServiceAccountAdmin(admin.ModelAdmin):
    list_display = ("number", "customer", "area", "service", "access_type", "address")
    list_filter = ("service", "access_type", "area")
    search_fields = ("number", "address")
    list_select_related = ("customer", "area")
    autocomplete_fields = ("customer",)


@admin.register(PiiAccess)
class PiiAccessAdmin(ReadOnlyAdmin):
    list_display = ("at", "user", "face", "where", "order", "customer", "what", "rows")
    list_filter = ("face", "where")
    list_select_related = ("user", "order", "customer")
    date_hierarchy = "at"


# --- How the customer signed (R26) --------------------------------------------------------

class SignatureInline(ReadOnlyInline):
    """R26: each sign-off with its method, time, the report hash it is bound to, whether
    its seal still matches, and the drawn signature itself. An order signed off with no
    row here was signed off without captured evidence."""

    model = Signature
    fields = ("signed_at", "method", "signer", "rating", "code_verified_at",
              "code_sent_to_masked", "captured_by", "report_hash", "seal_status", "drawing", "copy")
    readonly_fields = fields
    verbose_name_plural = _("Customer sign-off (R26)")
    #: R40: the page's way of showing the signer's name (``signer_shown``), set per request
    #: by ``WorkOrderAdmin.get_inline_instances``; masked when unset.
    signer_of: history.Signer | None = None

    @admin.display(description=Signature._meta.get_field("signer_name").verbose_name)
    def signer(self, obj: Any) -> str:
        # R40: in full and recorded for whom the policy allows, masked (张*) for the rest.
        if self.signer_of is None:
            return mask_name(obj.signer_name)
        return self.signer_of(obj.signer_name)

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        # Whoever may read the order reads how it was signed (no separate role grant).
        return bool(request.user.has_perm("workorders.view_workorder"))

    @admin.display(description=_("code sent to"))
    def code_sent_to_masked(self, obj: Any) -> str:
        return mask_phone(obj.code_sent_to) if obj.code_sent_to else "—"

    @admin.display(description=_("seal"))
    def seal_status(self, obj: Any) -> str:
        if not obj.seal_valid:
            return str(_("BROKEN: the record was altered"))
        if not obj.content_intact:
            return str(_("BROKEN: what was signed has changed since"))
        return str(_("intact"))

    @admin.display(description=_("customer's copy"))
    def copy(self, obj: Any) -> str:
        if obj.pk is None:
            return "—"
        return format_html(
            '<a href="{}">{}</a> · <a href="{}">{}</a>',
            reverse("admin:workorders_signature_report", args=[obj.pk]), _("Signed report"),
            reverse("admin:workorders_signature_report_pdf", args=[obj.pk]), _("PDF"))

    @admin.display(description=_("drawn signature"))
    def drawing(self, obj: Any) -> str:
        try:
            with obj.image.open("rb") as f:
                data = base64.b64encode(f.read()).decode()
        except (OSError, ValueError):
            return "—"
        return format_html('<img src="data:image/png;base64,{}" alt="" style="max-height:80px;'
                           'background:#fff;border:1px solid #999">', data)


WorkOrderAdmin.inlines = [*WorkOrderAdmin.inlines, SignatureInline]


# --- Surveys, rework rounds and follow-ups (R28-R33) --------------------------------------

WorkOrderAdmin.inlines = [*WorkOrderAdmin.inlines, SurveyInline, ReworkRoundInline,
                          FollowUpInline]
