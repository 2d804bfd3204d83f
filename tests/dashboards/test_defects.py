"""Dashboard defects a supervisor saw (R39): date filters in zh-Hans, a series changing
colour from chart to chart, trend lines dropping to 0 % on days without orders, and a
957 KB unminified chart script on every page."""

from __future__ import annotations

import datetime as dt
import json
import re
from pathlib import Path

import pytest
from django.contrib.staticfiles import finders
from django.test import Client
from django.urls import reverse
from django.utils import translation

from dashboards import charts
from dashboards.forms import FilterForm

DAY = dt.date(2026, 11, 6)


def client_for(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def chart_specs(html: str) -> list[dict]:
    """The JSON of every chart in a piece of HTML (what dashboard.js draws)."""
    return [json.loads(m) for m in re.findall(
        r'<script id="chart-[0-9a-f]+-json" type="application/json">(.*?)</script>', html,
        flags=re.S)]


@pytest.mark.django_db
@pytest.mark.parametrize("language", ["zh-hans", "en"])
def test_date_filters_render_and_parse_iso_in_every_language(language, reference_data):
    # R39: <input type="date"> expects ISO; zh-Hans rendered 2026/11/06, which the picker
    # cannot show
    with translation.override(language):
        form = FilterForm({"start": "2026-11-06", "end": "2026-11-30"})
        assert form.is_valid(), form.errors
        assert form.cleaned_data["start"] == DAY
        assert 'value="2026-11-06"' in str(form["start"])
        unbound = FilterForm(initial={"start": DAY})
        assert 'value="2026-11-06"' in str(unbound["start"])
        assert "2026/11/06" not in str(unbound["start"])


@pytest.mark.django_db
def test_the_filter_page_in_chinese_shows_iso_dates(supervisor):
    # R39: the whole page, in zh-Hans, with the period in the URL
    response = client_for(supervisor).get(reverse("dashboard:compliance"),
                                          {"start": "2026-11-06", "end": "2026-11-20"},
                                          HTTP_ACCEPT_LANGUAGE="zh-hans")
    page = response.content.decode()
    assert response.status_code == 200
    assert 'name="start" value="2026-11-06"' in page
    assert "2026/11/06" not in page


def _colours(spec: dict) -> dict[str, str]:
    return {s["name"]: s.get("color") for s in spec["data"]}


def test_a_series_keeps_its_colour_in_every_chart():
    # R39: on-time arrival was the third colour in the daily lines and the second in the
    # area columns
    days = [{"key": DAY, "orders": 3, "contact_rate": 0.5, "visit_rate": 1.0,
             "on_time_rate": 0.75, "satisfaction_rate": 1.0}]
    areas = [{"name": "East", "contact_rate": 0.5, "on_time_rate": 0.75,
              "satisfaction_rate": 1.0}]
    with translation.override("en"):
        drawn = charts.compliance_charts(days, areas, areas)
        specs = {name: chart_specs(str(chart))[0] for name, chart in drawn.items()}
        seen: dict[str, set[str | None]] = {}
        for name in ("daily", "areas", "technicians"):
            for series in specs[name]["data"]:
                label = series["name"].split(" (")[0]
                seen.setdefault(label, set()).add(series.get("color"))
        score = chart_specs(str(charts.scorecard_chart(days, days, "Alice", "East")))[0]
    assert seen["On-time arrival"] == {charts.SERIES_COLORS["on_time_rate"]}
    assert seen["Customer contacted within the window"] == {
        charts.SERIES_COLORS["contact_rate"]}
    for label, colours in seen.items():
        assert len(colours) == 1 and None not in colours, label
    everything = [c for s in seen.values() for c in s]
    assert len(set(everything)) == len(everything)  # different series, different colours
    assert _colours(score)["Alice: on-time arrival"] == charts.SERIES_COLORS["on_time_rate"]
    assert _colours(score)["Alice: contact within the window"] == \
        charts.SERIES_COLORS["contact_rate"]


def test_a_day_without_orders_is_a_gap_not_zero():
    # R39: a day with no orders has no rate; the line must break, not fall to 0 %
    days = [{"key": DAY, "orders": 2, "contact_rate": 1.0, "on_time_rate": 0.5},
            {"key": DAY + dt.timedelta(days=1), "orders": 0},
            {"key": DAY + dt.timedelta(days=2), "orders": 1, "contact_rate": 1.0}]
    with translation.override("en"):
        daily = chart_specs(str(charts.compliance_charts(days, [], [])["daily"]))[0]
        score = chart_specs(str(charts.scorecard_chart(days, days, "Alice", "East")))[0]
    for spec in (daily, score):
        for series in spec["data"]:
            assert series["data"][1][1] is None, series
        assert spec["options"]["dataset"]["spanGaps"] is False
        assert spec["options"]["discrete"] is True  # dates as categories, no adapter


def _static_bytes(url: str) -> int:
    path = finders.find(url.removeprefix("/static/"))
    assert path, url
    return Path(path).stat().st_size


def _page_weight(html: str) -> tuple[int, list[str]]:
    assets = re.findall(r'<(?:script|link)[^>]+(?:src|href)="(/static/[^"]+)"', html)
    return len(html.encode()) + sum(_static_bytes(a) for a in assets), assets


@pytest.mark.django_db
def test_chart_scripts_load_only_where_a_chart_is_drawn_and_pages_stay_light(
        supervisor, alice):
    # R39: every page used to load the 957 KB Chart.bundle.js; the breaches page draws none
    client = client_for(supervisor)
    pages = {
        "compliance": reverse("dashboard:compliance"),
        "breaches": reverse("dashboard:breaches"),
        "scorecard": reverse("dashboard:scorecard", args=[alice.pk]),
    }
    weights = {}
    for name, url in pages.items():
        response = client.get(url, HTTP_ACCEPT_LANGUAGE="zh-hans")
        assert response.status_code == 200, name
        html = response.content.decode()
        weight, assets = _page_weight(html)
        weights[name] = weight
        assert not any("Chart.bundle" in a or a.endswith("/chartkick.js") for a in assets)
        drawn = 'class="fo-chart"' in html
        assert any(a.endswith("chart.umd.js") for a in assets) == drawn, name
        assert weight < 300_000, (name, weight, assets)
    assert "chart.umd.js" not in client.get(pages["breaches"]).content.decode()
    assert weights["breaches"] < 60_000
