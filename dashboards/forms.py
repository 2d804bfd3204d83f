"""The dashboards' filters, read from the URL's query string (shareable links)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django import forms
from django.utils import formats
from django.utils.translation import gettext_lazy as _

from fieldops import clock
from technicians.models import Area, Team, Technician
from workorders.models import CustomerClass, Kind

from .selectors import DEFAULT_DAYS, Filters

#: A period longer than this is refused (the page is meant for weeks and months).
MAX_DAYS = 366


#: ``<input type="date">`` speaks ISO dates (2026-11-06) whatever the page's language: the
#: filter renders and parses ISO first in every language (the localized formats, e.g.
#: zh-Hans "2026/11/06", are still read from old links but never rendered).
ISO_DATE = "%Y-%m-%d"


class IsoDateField(forms.DateField):
    """A date filter in ISO in every language, localized input accepted as a fallback."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("widget", forms.DateInput(attrs={"type": "date"}, format=ISO_DATE))
        super().__init__(**kwargs)

    def to_python(self, value: Any) -> dt.date | None:
        # ISO first; an old link in the language's own format (zh-Hans "2026/11/06") is
        # still understood.
        self.input_formats = [ISO_DATE, *formats.get_format("DATE_INPUT_FORMATS")]
        return super().to_python(value)


class FilterForm(forms.Form):
    start = IsoDateField(label=_("From"), required=False)
    end = IsoDateField(label=_("Until"), required=False)
    area = forms.ModelChoiceField(label=_("Area"), queryset=Area.objects.all(),
                                  required=False, empty_label=_("All areas"))
    team = forms.ModelChoiceField(label=_("Team"), queryset=Team.objects.all(),
                                  required=False, empty_label=_("All teams"))
    technician = forms.ModelChoiceField(
        label=_("Technician"), required=False, empty_label=_("All technicians"),
        queryset=Technician.objects.select_related("user").order_by("employee_no"))
    kind = forms.ChoiceField(label=_("Kind"), required=False,
                             choices=[("", _("All kinds")), *Kind.choices])
    customer_class = forms.ChoiceField(label=_("Customer class"), required=False,
                                       choices=[("", _("All classes")),
                                                *CustomerClass.choices])
    first_fix_days = forms.IntegerField(label=_("First-time fix: no repeat visit within (days)"),
                                        required=False, min_value=1, max_value=90)

    def __init__(self, *args: Any, scope: tuple[int, ...] | None = None,
                 **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        #: The areas the viewer may read (None: all); the choices offer only those.
        self.scope = scope
        if scope is not None:
            area = self.fields["area"]
            team = self.fields["team"]
            assert isinstance(area, forms.ModelChoiceField)
            assert isinstance(team, forms.ModelChoiceField)
            area.queryset = Area.objects.filter(pk__in=scope)
            team.queryset = Team.objects.filter(area_id__in=scope)
        # Thousands of technicians at scale: the list shows the chosen one only; the
        # scorecard and the breakdown link to each technician.
        field = self.fields["technician"]
        assert isinstance(field, forms.ModelChoiceField)
        technicians = Technician.objects.select_related("user").order_by("employee_no")
        if scope is not None:
            technicians = technicians.filter(areas__in=scope).distinct()
        if technicians.count() > 500:
            chosen = str(self.data.get("technician", "")) if self.is_bound else ""
            technicians = technicians.filter(pk=int(chosen) if chosen.isdigit() else 0)
        field.queryset = technicians

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        today = clock.today_local()
        end = data.get("end") or today
        start = data.get("start") or end - dt.timedelta(days=DEFAULT_DAYS - 1)
        if start > end:
            self.add_error("start", _("The period must start before it ends."))
        elif (end - start).days + 1 > MAX_DAYS:
            self.add_error("start", _("Choose a period of at most %(days)s days.")
                           % {"days": MAX_DAYS})
        data["start"], data["end"] = start, end
        return data

    def filters(self) -> Filters:
        """The filters asked for; the last 30 days of everything when the form is invalid."""
        if not self.is_valid():
            return Filters.last_days(scope=self.scope)
        data = self.cleaned_data
        return Filters(
            start=data["start"], end=data["end"], scope=self.scope,
            area=data["area"].pk if data.get("area") else None,
            team=data["team"].pk if data.get("team") else None,
            technician=data["technician"].pk if data.get("technician") else None,
            kind=data.get("kind") or "", customer_class=data.get("customer_class") or "",
            first_fix_days=data.get("first_fix_days"))
