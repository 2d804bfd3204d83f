"""Formatting of the dashboards' figures: rates as percentages, durations in minutes or
hours, changes with their sign."""

from __future__ import annotations

from typing import Any

from django import template
from django.utils.translation import gettext as _

from dashboards.views import sees_dashboards as _sees_dashboards

register = template.Library()


def _duration(seconds: float) -> str:
    minutes = seconds / 60
    if abs(minutes) < 120:
        return _("%(n)s min") % {"n": f"{minutes:.0f}"}
    return _("%(n)s h") % {"n": f"{minutes / 60:.1f}"}


@register.filter
def figure(value: Any, unit: str) -> str:
    """``{{ value|figure:"rate" }}``: 0.934 → "93.4%"; None → "–"."""
    if value is None or value == "":
        return "–"
    if unit == "rate":
        return f"{value * 100:.1f}%"
    if unit == "duration":
        return _duration(value)
    return f"{value:,}" if isinstance(value, int) else f"{value:,.0f}"


@register.filter
def change(value: Any, unit: str) -> str:
    """The change against the previous period, with its sign: "+2.1 pts", "−3"."""
    if value is None or value == "":
        return "–"
    sign = "+" if value > 0 else "−" if value < 0 else "±"
    magnitude = abs(value)
    if unit == "rate":
        return _("%(sign)s%(n)s pts") % {"sign": sign, "n": f"{magnitude * 100:.1f}"}
    if unit == "duration":
        return f"{sign}{_duration(magnitude)}"
    return f"{sign}{magnitude:,.0f}"


@register.filter
def minutes(seconds: Any) -> str:
    if seconds is None or seconds == "":
        return "–"
    return _duration(seconds)


@register.filter
def get(mapping: Any, key: Any) -> Any:
    return mapping.get(key) if mapping else None


@register.filter
def sees_dashboards(user: Any) -> bool:
    """``{% if user|sees_dashboards %}``: the admin header links to the dashboards (R39)
    for the people allowed to open them."""

    return _sees_dashboards(user)
