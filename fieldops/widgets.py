"""Date and time inputs for every form (the technician's, the customer's, the desk's and
the dashboards'): the browser's own pickers, with values in the one format they accept in
every language (``2026-12-06``, ``10:00``, ``2026-12-06T10:00``). Django fills a
``DateInput`` with the language's first input format, which in zh-Hans is ``2026/12/06``:
the browser drops it and a prefilled or re-shown date is lost. The fields read these
values back in every language (ISO is always among the input formats)."""

from __future__ import annotations

from typing import Any

from django import forms

ISO_DATE = "%Y-%m-%d"
ISO_TIME = "%H:%M"
ISO_DATETIME = "%Y-%m-%dT%H:%M"


class DateInput(forms.DateInput):
    input_type = "date"

    def __init__(self, attrs: dict[str, Any] | None = None) -> None:
        super().__init__(attrs=attrs, format=ISO_DATE)


class TimeInput(forms.TimeInput):
    input_type = "time"

    def __init__(self, attrs: dict[str, Any] | None = None) -> None:
        super().__init__(attrs=attrs, format=ISO_TIME)


class DateTimeInput(forms.DateTimeInput):
    input_type = "datetime-local"

    def __init__(self, attrs: dict[str, Any] | None = None) -> None:
        super().__init__(attrs=attrs, format=ISO_DATETIME)
