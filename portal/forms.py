"""The customer's form on the signed appointment link page (R10)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from fieldops.text import FreeTextField
from fieldops.widgets import DateInput, TimeInput


class ChangeRequestForm(forms.Form):
    """R10: the customer's own choice of time (an hour from the time given)."""

    day = forms.DateField(label=_("Date"), widget=DateInput)
    time = forms.TimeField(label=_("Time"), widget=TimeInput)
    note = FreeTextField(label=_("Anything we should know"), max_length=500,
                         required=False, widget=forms.Textarea(attrs={"rows": 2}))

    def clean(self) -> dict[str, Any]:
        data: dict[str, Any] = super().clean() or {}
        if data.get("day") and data.get("time"):
            start = dt.datetime.combine(data["day"], data["time"],
                                        tzinfo=timezone.get_current_timezone())
            data["preferred_start"] = start
            data["preferred_end"] = start + dt.timedelta(hours=1)
        return data
