"""Forms for the dispatcher's desk (admin) actions. Each one collects what a service needs;
the service, not the form, decides whether the action is allowed."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib.admin.widgets import AdminSplitDateTime
from django.forms.utils import flatatt
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext_lazy as _

from fieldops.phones import PhoneFormField
from fieldops.text import FreeTextField, LineField
from fieldops.widgets import DateInput
from planning.ranking import Candidate
from technicians.models import Area, Technician
from workorders.models import AccessType, Channel, CustomerClass, Kind, Service

from .queue import STATE_CHOICES


class LabelledSplitDateTime(AdminSplitDateTime):
    """The admin's date and time inputs, each named by its own "Date:" / "Time:" text: the
    stock widget prints those as bare text, so neither input has an accessible name (axe
    "label"; issue 14: every console page passes axe). The field's label names the group."""

    def get_context(self, name: str, value: Any, attrs: Any) -> dict[str, Any]:
        context = super().get_context(name, value, attrs)
        labels = (context["date_label"], context["time_label"])
        for sub, label in zip(context["widget"]["subwidgets"], labels, strict=True):
            sub["attrs"]["aria-label"] = str(label).rstrip(":： ")
        return context


class ReasonForm(forms.Form):
    reason = FreeTextField(label=_("Reason"), max_length=500, widget=forms.Textarea(
      attrs={"rows": 3}))


class OptionalReasonForm(forms.Form):
    reason = FreeTextField(label=_("Reason"), max_length=500, required=False,
                           widget=forms.Textarea(attrs={"rows": 3}))


class TechnicianChoiceForm(forms.Form):
    technician = forms.ModelChoiceField(
        label=_("Technician"), queryset=Technician.objects.filter(is_active=True)
        .select_related("user"), required=False,
        help_text=_("Leave empty to choose automatically by area, skill and load (R4)."))
    reason = FreeTextField(label=_("Reason"), max_length=500, required=False)


class ReassignForm(TechnicianChoiceForm):
    reason = FreeTextField(label=_("Reason"), max_length=500)


def offer_ranked(form: forms.Form, candidates: list[Candidate]) -> None:
    """R4: the technician is picked from the ranking, best first, each choice with its
    reasons; empty leaves it to auto-dispatch (the first eligible one under capacity).
    Ineligible technicians stay listed, last, with the rule that refuses them."""
    field = form.fields["technician"]
    assert isinstance(field, forms.ModelChoiceField)
    field.widget = forms.RadioSelect()
    field.help_text = _("Best first. Leave it on automatic to take the first eligible "
                        "technician with free capacity (R4).")
    field.choices = [("", _("Automatic (the best ranked technician with free capacity)")),
                     *((c.technician.pk, "{name} ({no}): {why}".format(
                         name=c.technician.display_name, no=c.technician.employee_no,
                         why="; ".join(c.reasons)))
                       for c in candidates)]


class ParkForm(forms.Form):
    until = forms.DateField(label=_("Wait until"), widget=DateInput())
    reason = FreeTextField(label=_("Customer's reason"), max_length=500)


class ResolutionForm(forms.Form):
    resolution = FreeTextField(label=_("How it was resolved"), max_length=500,
                               widget=forms.Textarea(attrs={"rows": 3}))


class CallbackForm(forms.Form):
    callback_note = FreeTextField(label=_("What the customer said on the callback"),
                                  max_length=1000, widget=forms.Textarea(attrs={"rows": 3}))


class SurveyResultForm(forms.Form):
    comment = FreeTextField(label=_("Customer's comment"), max_length=1000, required=False,
                            widget=forms.Textarea(attrs={"rows": 3}))


class WorkOrderIntakeForm(forms.Form):
    """Intake at the desk (walk-in or phone), the same fields the API takes (R1, R3)."""

    channel = forms.ChoiceField(label=_("Channel"), choices=Channel.choices)
    kind = forms.ChoiceField(label=_("Kind"), choices=Kind.choices)
    service = forms.ChoiceField(label=_("Service"), choices=Service.choices)
    access_type = forms.ChoiceField(label=_("Access type"), choices=AccessType.choices)
    customer_class = forms.ChoiceField(label=_("Customer class"), choices=CustomerClass.choices)
    customer_name = LineField(label=_("Customer name"), max_length=100)
    contact_phone = PhoneFormField(label=_("Contact phone"))
    account_number = LineField(label=_("Account number"), max_length=32, required=False)
    address = LineField(label=_("Address"), max_length=255)
    area = forms.ModelChoiceField(label=_("Area"), queryset=Area.objects.all())
    symptoms = FreeTextField(label=_("Fault symptoms"), required=False,
                             widget=forms.Textarea(attrs={"rows": 3}))
    preferred_day = forms.DateField(label=_("Preferred day"), required=False,
                                    widget=DateInput())
    notes = FreeTextField(label=_("Notes"), required=False,
                          widget=forms.Textarea(attrs={"rows": 2}))


class PlainSelect(forms.Select):
    """A select written in one pass. Django renders each option through a template (about
    0.2 ms each), so the queue's technician filter over five thousand technicians took more
    than a second of every queue page; the same markup, without the per-option template."""

    def render(self, name: str, value: Any, attrs: dict[str, Any] | None = None,
               renderer: Any = None) -> SafeString:
        final = self.build_attrs(self.attrs, {**(attrs or {}), "name": name})
        chosen = {str(v) for v in self.format_value(value)}
        options = format_html_join(
            "", "<option value=\"{}\"{}>{}</option>",
            ((str(key), mark_safe(" selected") if str(key) in chosen else "", label)
             for key, label in self.choices))
        return format_html("<select{}>{}</select>", flatatt(final), options)


class _TechnicianNames(forms.models.ModelChoiceIterator):
    """The technicians as (id, "name (employee no.)"), read as values: the same labels as
    ``str(technician)``, without building five thousand technicians and users per page."""

    def __iter__(self) -> Any:
        if self.field.empty_label is not None:
            yield ("", self.field.empty_label)
        rows = self.queryset.values_list("pk", "user__first_name", "user__last_name",
                                         "user__username", "employee_no")
        for pk, first, last, username, number in rows:
            yield (pk, f"{Technician.name_for(first, last, username)} ({number})")


class _TechnicianChoice(forms.ModelChoiceField):
    iterator = _TechnicianNames


class QueueFilterForm(forms.Form):
    """The queue's filters (GET). An unknown value is shown as an error beside its filter
    and that filter is left out; the queue still shows."""

    area = forms.ModelChoiceField(label=_("Area"), queryset=Area.objects.order_by("name"),
                                  required=False, empty_label=_("All areas"),
                                  widget=PlainSelect)
    kind = forms.ChoiceField(label=_("Kind"), required=False,
                             choices=[("", _("All kinds")), *Kind.choices])
    state = forms.ChoiceField(label=_("State"), required=False,
                              choices=[("", _("All open states")), *STATE_CHOICES])
    technician = _TechnicianChoice(
        label=_("Technician"), required=False, empty_label=_("All technicians"),
        queryset=Technician.objects.filter(is_active=True).select_related("user"),
        widget=PlainSelect)
    unassigned = forms.BooleanField(label=_("Unassigned"), required=False)
    at_risk = forms.BooleanField(label=_("At risk"), required=False)
    breached = forms.BooleanField(label=_("Breached"), required=False)


class BoardFilterForm(forms.Form):
    """The day board's day and area (GET); an unknown value falls back to today / all."""

    day = forms.DateField(label=_("Day"), required=False,
                          widget=DateInput())
    area = forms.ModelChoiceField(label=_("Area"), queryset=Area.objects.order_by("name"),
                                  required=False, empty_label=_("All areas"))


def with_request_user(form_class: Any, user: Any) -> Any:
    """The admin's form class whose instances know who fills them in (``request_user``),
    for checks that depend on the person (who may declare for which area)."""

    class WithUser(form_class):
        def __init__(self, *args: Any, **kw: Any) -> None:
            super().__init__(*args, **kw)
            self.request_user = user

    return WithUser
