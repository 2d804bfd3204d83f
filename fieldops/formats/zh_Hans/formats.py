"""zh-Hans formats: Django's, except that a date typed into or shown in a form is ISO
first (``2026-12-06``). ``<input type="date">`` takes nothing else, so Django's zh-Hans
first input format (``2026/12/06``) made browsers drop every prefilled or re-shown date.
The slash and 年月日 forms are still read."""

from django.conf.locale.zh_Hans.formats import *  # noqa: F403
from django.conf.locale.zh_Hans.formats import DATE_INPUT_FORMATS as _DJANGO_DATE_INPUTS

DATE_INPUT_FORMATS = ["%Y-%m-%d", *(f for f in _DJANGO_DATE_INPUTS if f != "%Y-%m-%d")]
