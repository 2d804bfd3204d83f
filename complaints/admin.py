"""The complaints desk in the admin (R51): the call-centre records complaints here as well
as through the API; a supervisor decides them and releases a note for the technician on
the same page. Every open of a complaint's page is recorded (R40). Writes go through
``complaints.services``; the deadlines are shown in words."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.utils.html import format_html_join
from django.utils.translation import gettext_lazy as _

from fieldops.text import FreeTextField
from workorders.errors import DomainError
from workorders.models import Face

from . import selectors, services
from .models import Complaint, ComplaintContact, ComplaintPolicy, Outcome


@admin.register(ComplaintPolicy)
class ComplaintPolicyAdmin(admin.ModelAdmin):
    list_display = ("tier", "response_minutes", "resolution_minutes", "calendar")


class ComplaintAddForm(forms.ModelForm):
    class Meta:
        model = Complaint
        fields = ["tier", "channel", "text", "order", "customer"]
        # Issue 18 item 4: hidden characters are removed from what the customer says.
        field_classes = {"text": FreeTextField}

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["customer"].required = False

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if not data.get("order") and not data.get("customer"):
            raise forms.ValidationError(
                _("Say which order or which customer the complaint is about."))
        return data


class DecideForm(forms.ModelForm):
    """A supervisor's decision (once) and the note the technician may read."""

    class Meta:
        model = Complaint
        fields = ["outcome", "decision_note", "released_note"]
        # The released note is read by the technician: no hidden characters in it.
        field_classes = {"decision_note": FreeTextField, "released_note": FreeTextField}


class ContactInline(admin.TabularInline):
    model = ComplaintContact
    extra = 0
    can_delete = False
    fields = readonly_fields = ("at", "kind", "by", "note", "customer_confirmed")

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(Complaint)
class ComplaintAdmin(admin.ModelAdmin):
    list_display = ("number", "tier", "channel", "status", "outcome", "order", "recorded_at",
                    "deadlines_short")
    list_filter = ("tier", "status", "outcome", "channel")
    raw_id_fields = ("order", "customer")
    inlines = [ContactInline]
    SHOWN = ("number", "tier", "channel", "status", "text", "order", "customer", "technician",
             "recorded_at", "recorded_by", "deadlines", "solution", "compensation",
             "compensation_note", "outcome", "decided_at", "decided_by", "decision_note",
             "released_note", "closed_at", "closed_by", "closure", "closure_note")

    @admin.display(description=_("number"))
    def number(self, obj: Complaint) -> str:
        return obj.number

    @admin.display(description=_("deadlines"))
    def deadlines(self, obj: Complaint) -> Any:
        return format_html_join("", "<p>{}</p>",
                                ((line,) for line in selectors.deadlines_in_words(obj)))

    @admin.display(description=_("deadlines"))
    def deadlines_short(self, obj: Complaint) -> str:
        return " · ".join(f"{d.get_kind_display()}: {d.outcome or d.get_status_display()}"
                          for d in obj.deadlines.all())

    def get_queryset(self, request: HttpRequest) -> Any:
        return selectors.complaints()

    def get_form(self, request: HttpRequest, obj: Any = None, change: bool = False,
                 **kwargs: Any) -> Any:
        if obj is None:
            kwargs["form"] = ComplaintAddForm
        elif self._may_decide(request, obj):
            kwargs["form"] = DecideForm
        return super().get_form(request, obj, change, **kwargs)

    def get_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        if obj is None:
            return ComplaintAddForm.Meta.fields
        return self.SHOWN

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        if obj is None:
            return ()
        if self._may_decide(request, obj):
            return [f for f in self.SHOWN if f not in DecideForm.Meta.fields]
        return self.SHOWN

    def get_inlines(self, request: HttpRequest, obj: Any) -> Any:
        return self.inlines if obj is not None else []

    @staticmethod
    def _may_decide(request: HttpRequest, obj: Complaint) -> bool:
        return bool(request.user.has_perm(services.PERM_DECIDE))

    def has_add_permission(self, request: HttpRequest) -> bool:
        return bool(request.user.has_perm(services.PERM_RECORD))

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return bool(request.user.has_perm(services.PERM_DECIDE))

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def change_view(self, request: HttpRequest, object_id: str, form_url: str = "",
                    extra_context: dict[str, Any] | None = None) -> HttpResponse:
        complaint = Complaint.objects.filter(pk=object_id).first()
        if (complaint is not None and request.method == "GET"
                and self.has_view_or_change_permission(request, complaint)):
            # R51, R40: every read of a complaint is attributable.
            selectors.record_read(user=request.user, complaint=complaint, face=Face.ADMIN,
                                  where="admin:complaint")
        return super().change_view(request, object_id, form_url, extra_context)

    def save_model(self, request: HttpRequest, obj: Complaint, form: Any, change: bool) -> None:
        try:
            if not change:
                data = form.cleaned_data
                done = services.complaint_record(
                    by=request.user, tier=data["tier"], channel=data["channel"],
                    text=data["text"], order=data.get("order"), customer=data.get("customer"))
            else:
                done = self._decide(request, obj, form)
        except DomainError as exc:
            messages.error(request, exc.message)
            request.complaint_refused = True  # type: ignore[attr-defined]
            return
        obj.__dict__.update({k: v for k, v in done.__dict__.items() if not k.startswith("_")})

    def _decide(self, request: HttpRequest, obj: Complaint, form: Any) -> Complaint:
        data = form.cleaned_data
        current = Complaint.objects.get(pk=obj.pk)
        if data["outcome"] and not current.outcome:
            return services.complaint_decide(
                complaint=current, by=request.user, upheld=data["outcome"] == Outcome.UPHELD,
                note=data["decision_note"], released_note=data["released_note"])
        if data["outcome"] != current.outcome or data["decision_note"] != current.decision_note:
            raise DomainError(str(_("A complaint is decided once; only the note released to "
                                    "the technician can change afterwards.")))
        if data["released_note"] != current.released_note:
            return services.complaint_release(complaint=current, by=request.user,
                                              note=data["released_note"])
        return current

    def save_related(self, request: HttpRequest, form: Any, formsets: Any, change: bool) -> None:
        """Contacts are recorded through the handling service (the API), not edited here."""

    def response_add(self, request: HttpRequest, obj: Complaint,
                     post_url_continue: Any = None) -> HttpResponse:
        return self._after(request, obj, lambda: super(ComplaintAdmin, self).response_add(
            request, obj, post_url_continue))

    def response_change(self, request: HttpRequest, obj: Complaint) -> HttpResponse:
        return self._after(request, obj, lambda: super(ComplaintAdmin, self).response_change(
            request, obj))

    def _after(self, request: HttpRequest, obj: Complaint, respond: Any) -> HttpResponse:
        if getattr(request, "complaint_refused", False):
            return HttpResponseRedirect(request.path)
        return respond()

    def log_addition(self, request: HttpRequest, obj: Any, message: Any) -> Any:
        return None if obj.pk is None else super().log_addition(request, obj, message)
