"""Date inputs render ISO values in every language and read them back: ``<input
type="date">`` takes only ``2026-12-06``, so zh-Hans's own ``2026/12/06`` made the browser
drop a prefilled or re-shown date (the technician's booking R9 and park R12, the
customer's wish R10, the dashboards' period R39)."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from django import forms
from django.utils import timezone, translation

from console.forms import ParkForm as DeskParkForm
from dashboards.forms import FilterForm
from fieldops.widgets import DateInput, DateTimeInput, TimeInput
from portal.forms import ChangeRequestForm

DAY = dt.date(2026, 12, 6)


def value_of(form: forms.Form, name: str) -> str:
    html = str(form[name])
    found = re.search(r'value="([^"]*)"', html)
    assert found, html
    return found.group(1)


@pytest.mark.parametrize("language", ["zh-hans", "en"])
def test_an_initial_and_a_bound_date_render_iso_in_every_language(language):
    # R10: the customer's wish keeps its day when the page comes back with an error
    with translation.override(language):
        initial = ChangeRequestForm(initial={"day": DAY, "time": dt.time(10, 0)})
        assert value_of(initial, "day") == "2026-12-06"
        assert value_of(initial, "time") == "10:00"
        bound = ChangeRequestForm({"day": "2026-12-06", "time": "10:00"})
        assert bound.is_valid(), bound.errors
        assert bound.cleaned_data["day"] == DAY
        assert value_of(bound, "day") == "2026-12-06"
        wrong = ChangeRequestForm({"day": "2026-12-06", "time": ""})  # re-shown with an error
        assert not wrong.is_valid() and value_of(wrong, "day") == "2026-12-06"


@pytest.mark.django_db
@pytest.mark.parametrize("language", ["zh-hans", "en"])
def test_the_desk_and_the_dashboards_date_inputs_are_iso_too(language):
    # R12 (the desk parks an order), R39 (the dashboards' period)
    with translation.override(language):
        assert value_of(DeskParkForm(initial={"until": DAY}), "until") == "2026-12-06"
        period = FilterForm(initial={"start": DAY, "end": DAY})
        assert 'value="2026-12-06"' in str(period["start"])


def test_any_date_input_reads_iso_first_in_zh_hans():
    # R9: a plain Django DateInput (a form written later) renders ISO too: the format
    # setting, not only our widget
    class Plain(forms.Form):
        day = forms.DateField(widget=forms.DateInput(attrs={"type": "date"}))

    with translation.override("zh-hans"):
        assert value_of(Plain(initial={"day": DAY}), "day") == "2026-12-06"
        slashed = Plain({"day": "2026/12/06"})  # still read when typed
        assert slashed.is_valid() and slashed.cleaned_data["day"] == DAY


def test_a_datetime_input_is_the_browsers_local_datetime():
    # R9: ``2026-12-06T10:00`` in and out
    class When(forms.Form):
        at = forms.DateTimeField(widget=DateTimeInput())
        day = forms.DateField(widget=DateInput())
        time = forms.TimeField(widget=TimeInput())

    with translation.override("zh-hans"):
        at = dt.datetime(2026, 12, 6, 10, 0, tzinfo=timezone.get_current_timezone())
        form = When(initial={"at": at})
        assert value_of(form, "at") == "2026-12-06T10:00"
        assert 'type="datetime-local"' in str(form["at"])
        bound = When({"at": "2026-12-06T10:00", "day": "2026-12-06", "time": "10:00"})
        assert bound.is_valid(), bound.errors
        assert bound.cleaned_data["at"] == at
        assert value_of(bound, "at") == "2026-12-06T10:00"
