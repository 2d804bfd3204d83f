"""The dashboards' charts: chartkick (Chart.js), served from our own static files.

chartkick.django writes an inline script per chart, which the Content-Security-Policy
refuses; here a chart is its element and its data as JSON, and ``dashboard/dashboard.js``
draws every one of them.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Sequence
from typing import Any

from django.utils.html import format_html, json_script
from django.utils.safestring import SafeString
from django.utils.translation import gettext as _

from .selectors import FIGURES_BY_KEY


class Chart:
    """One Chartkick chart (``LineChart``, ``ColumnChart``, ``BarChart``) as HTML."""

    kind = ""

    def __init__(self, data: Any, **options: Any) -> None:
        element_id = f"chart-{secrets.token_hex(8)}"
        height = str(options.pop("height", "300px"))
        if not re.fullmatch(r"[0-9.]+(px|%|em|rem|vh)", height):
            raise ValueError(f"bad chart height {height!r}")
        loading = options.pop("loading", "")
        if isinstance(data, dict):
            data = list(data.items())  # keep the order in JavaScript
        self._html = format_html(
            '<div id="{}" class="fo-chart" style="height: {}">{}</div>{}', element_id, height,
            loading, json_script({"type": self.kind, "data": data, "options": options},
                                 element_id=f"{element_id}-json"))

    def __html__(self) -> SafeString:
        return self._html

    def __str__(self) -> str:
        return self._html


class LineChart(Chart):
    kind = "LineChart"


class ColumnChart(Chart):
    kind = "ColumnChart"


class BarChart(Chart):
    kind = "BarChart"

#: One colour per series, the same in every chart (a figure keeps its colour from the
#: daily lines to the area columns and the technician bars); colour-blind-safe hues.
SERIES_COLORS = {
    "contact_rate": "#1f5fa8",
    "visit_rate": "#8e44ad",
    "on_time_rate": "#e67e22",
    "satisfaction_rate": "#1a7f37",
    "orders": "#5b6776",
    "exempt_breaches": "#a15c00",
    "exemption_rate": "#a15c00",
}
#: The scorecard: the technician in a full colour, their area in a lighter one.
AREA_SHADES = {"contact_rate": "#8fb3dd", "on_time_rate": "#f3be8f"}

#: Line charts: dates as categories (no date adapter needed: the minified Chart.js has
#: none), and a day without orders is a gap, never a drop to 0 % (``spanGaps`` false).
LINE_OPTIONS: dict[str, Any] = {"discrete": True, "dataset": {"spanGaps": False}}

#: The daily rates drawn on the compliance page.
DAILY_RATES = (("contact_rate", "R7"), ("visit_rate", "R34"), ("on_time_rate", "R14"),
               ("satisfaction_rate", "R29"))


def _pct(value: Any) -> float | None:
    return round(value * 100, 1) if value is not None else None


def _series(key: str, name: Any, data: list[list[Any]], color: str = "") -> dict[str, Any]:
    return {"name": str(name), "data": data, "color": color or SERIES_COLORS[key]}


def compliance_charts(days: Sequence[dict[str, Any]], areas: Sequence[dict[str, Any]],
                      technicians: Sequence[dict[str, Any]]) -> dict[str, Any]:

    series = [_series(key, f"{FIGURES_BY_KEY[key].label} ({rule})",
                      [[d["key"].isoformat(), _pct(d.get(key))] for d in days])
              for key, rule in DAILY_RATES]
    percent = {"suffix": "%", "min": 0, "max": 100, "height": "280px"}
    return {
        "daily": LineChart(series, **percent, **LINE_OPTIONS, loading=_("Loading…")),
        "orders": ColumnChart({d["key"].isoformat(): d.get("orders", 0) for d in days},
                              colors=[SERIES_COLORS["orders"]],
                              height="200px", loading=_("Loading…")),
        "areas": ColumnChart(
            [_series(key, FIGURES_BY_KEY[key].label,
                     [[a["name"], _pct(a.get(key))] for a in areas])
             for key in ("contact_rate", "on_time_rate", "satisfaction_rate")],
            **percent, loading=_("Loading…")),
        "technicians": BarChart(
            [_series(key, FIGURES_BY_KEY[key].label,
                     [[t["name"], _pct(t.get(key))] for t in technicians])
             for key in ("contact_rate", "on_time_rate")],
            suffix="%", min=0, max=100, height="420px", loading=_("Loading…")),
    }


def scorecard_chart(own: Sequence[dict[str, Any]], area: Sequence[dict[str, Any]],
                    technician: str, area_name: str) -> Any:
    contact = _("contact within the window")
    on_time = _("on-time arrival")

    def line(key: str, who: str, what: str, days: Sequence[dict[str, Any]],
             shade: bool) -> dict[str, Any]:
        return _series(key, f"{who}: {what}",
                       [[d["key"].isoformat(), _pct(d.get(key))] for d in days],
                       AREA_SHADES[key] if shade else "")

    return LineChart(
        [line("contact_rate", technician, contact, own, False),
         line("contact_rate", area_name, contact, area, True),
         line("on_time_rate", technician, on_time, own, False),
         line("on_time_rate", area_name, on_time, area, True)],
        suffix="%", min=0, max=100, height="300px", **LINE_OPTIONS, loading=_("Loading…"))
