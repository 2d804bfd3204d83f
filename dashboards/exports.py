"""Every dashboard table as CSV, and the period's summary as a spreadsheet (openpyxl)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import pgettext

from fieldops import tables
from fieldops.tables import Table

from . import selectors
from .selectors import FIGURES_BY_KEY, SEGMENTS, TABLE_FIGURES, Filters


def _cell(value: Any, unit: str) -> Any:
    if value is None:
        return ""
    if unit == "rate":
        return round(value * 100, 1)
    if unit == "duration":
        return round(value / 60, 1)
    return value


def _figure_header(key: str) -> str:
    figure = FIGURES_BY_KEY[key]
    suffix = {"rate": " (%)", "duration": " (min)"}.get(figure.unit, "")
    return f"{figure.label}{suffix}"


def _breakdown(rows: Iterable[dict[str, Any]], first: Sequence[str],
               keys: Sequence[str]) -> Table:
    header = [*first, *(_figure_header(k) for k in TABLE_FIGURES)]
    body = [[*(row.get(k, "") for k in keys),
             *(_cell(row.get(f), FIGURES_BY_KEY[f].unit) for f in TABLE_FIGURES)]
            for row in rows]
    return header, body


def summary_table(filters: Filters) -> Table:
    result = selectors.compliance(filters)
    header = [_("Figure"), _("Rule"), _("This period"), _("Previous period"), _("Change")]
    body = [[str(r["figure"].label), r["figure"].rule,
             _cell(r["value"], r["figure"].unit), _cell(r["previous"], r["figure"].unit),
             _cell(r["change"], r["figure"].unit)] for r in result.rows()]
    return header, body


def daily_table(filters: Filters) -> Table:
    rows = [{**r, "day": r["key"].isoformat()} for r in selectors.daily(filters)]
    return _breakdown(rows, [_("Date")], ["day"])


def areas_table(filters: Filters) -> Table:
    return _breakdown(selectors.by_area(filters), [_("Area")], ["name"])


def technicians_table(filters: Filters) -> Table:
    return _breakdown(selectors.by_technician(filters), [_("Employee number"), _("Technician")],
                      ["employee_no", "name"])


def breaches_table(filters: Filters) -> Table:
    result = selectors.breach_attribution(filters, limit=10_000)
    header = [_("Order"), _("Timer"), _("Area"), _("Technician"), _("Started"), _("Breached"),
              *(f"{label} (min)" for _k, label in SEGMENTS), _("Mainly")]
    labels = dict(SEGMENTS)
    body = [[row["order"].number, row["timer"].get_kind_display(), row["order"].area.name,
             row["technician"], _local(row["timer"].started_at),
             _local(row["timer"].breached_at),
             *(round(row["spent"][key] / 60, 1) for key, _l in SEGMENTS),
             str(labels[row["main"]])] for row in result["rows"]]
    return header, body


def now_table(filters: Filters) -> Table:
    panel = selectors.now_panel(filters, limit=10_000)
    header = [_("Order"), _("Timer"), _("Status"), _("Since"), _("Minutes left"), _("Area"),
              _("Technician")]
    body = [[row["order"].number, row["timer"].get_kind_display(),
             _("Breached") if row["breached"] else _("At risk"), _local(row["since"]),
             round(row["seconds_left"] / 60), row["order"].area.name, row["technician"]]
            for row in panel["rows"]]
    return header, body


def _visit_breakdown(rows: Iterable[dict[str, Any]], first: Sequence[str],
                     keys: Sequence[str]) -> Table:
    header = [*first, _("Completed orders"), _("Above the material norm (R46)"),
              _("Share above the norm (R46) (%)"), _("With test results (R48)"),
              _("Network-verified (R48)"), _("Share network-verified (R48) (%)"),
              _("Charges collected (R47) (¥)")]
    body = [[*(row.get(k, "") for k in keys), row["completed"], row["above_norm"],
             _cell(row["above_norm_rate"], "rate"), row["measured"], row["network"],
             _cell(row["network_rate"], "rate"), row["collected"]] for row in rows]
    return header, body


def visit_areas_table(filters: Filters) -> Table:
    return _visit_breakdown(selectors.visit_figures(filters)["areas"], [_("Area")], ["name"])


def visit_technicians_table(filters: Filters) -> Table:
    return _visit_breakdown(selectors.visit_figures(filters)["technicians"],
                            [_("Employee number"), _("Technician")], ["employee_no", "name"])


def materials_table(filters: Filters) -> Table:
    header = [_("Code"), _("Material"), _("Unit"), _("Used"), _("Norm"),
              _("Used ÷ norm (%)"), _("Orders above the norm")]
    body = [[row["code"], row["name"], row["unit"], row["used"],
             "" if row["norm"] is None else row["norm"], _cell(row["ratio"], "rate"),
             row["flagged"]] for row in selectors.material_use(filters)]
    return header, body


def _quality_breakdown(rows: Iterable[dict[str, Any]], first: Sequence[str],
                       keys: Sequence[str]) -> Table:
    header = [*first, _("Inspections"), pgettext("inspection", "Open"), _("Passed"),
              pgettext("inspection", "Failed"),
              _("Pass rate (R52) (%)")]
    body = [[*(row.get(k, "") for k in keys), row["inspections"], row["open"],
             row["passed"], row["failed"], _cell(row["pass_rate"], "rate")] for row in rows]
    return header, body


def inspections_areas_table(filters: Filters) -> Table:
    return _quality_breakdown(selectors.inspection_figures(filters)["areas"], [_("Area")],
                              ["name"])


def inspections_technicians_table(filters: Filters) -> Table:
    return _quality_breakdown(selectors.inspection_figures(filters)["technicians"],
                              [_("Employee number"), _("Technician")],
                              ["employee_no", "name"])


def signals_table(filters: Filters) -> Table:
    return ([_("Suspicion signal (R52)"), _("Found in the period")],
            [[str(row["label"]), row["count"]]
             for row in selectors.inspection_figures(filters)["signals"]])


def ledger_technicians_table(filters: Filters) -> Table:
    return ([_("Employee number"), _("Technician"), _("Entries"), _("Points (R53)"),
             _("Amount (R53) (¥)")],
            [[row["employee_no"], row["name"], row["entries"], row["points"], row["amount"]]
             for row in selectors.ledger_figures(filters)["technicians"]])


def ledger_teams_table(filters: Filters) -> Table:
    return ([_("Team"), _("Entries"), _("Points (R53)"), _("Amount (R53) (¥)")],
            [[row["name"], row["entries"], row["points"], row["amount"]]
             for row in selectors.ledger_figures(filters)["teams"]])


def complaints_table(filters: Filters) -> Table:
    figures = selectors.complaint_figures(filters)
    header = [_("Tier (R51)"), _("Complaints"), _("Response deadlines met"),
              _("Response deadlines met or breached"), _("Response deadlines met (%)"),
              _("Resolution deadlines met"), _("Resolution deadlines met or breached"),
              _("Resolution deadlines met (%)"), _("Upheld"), _("Decided"), _("Upheld (%)")]
    body = [[str(row["label"]), row["complaints"], row["response_met"],
             row["response_judged"], _cell(row["response_rate"], "rate"),
             row["resolution_met"], row["resolution_judged"],
             _cell(row["resolution_rate"], "rate"), row["upheld"], row["decided"],
             _cell(row["upheld_rate"], "rate")]
            for row in [*figures["tiers"], figures["summary"]]]
    return header, body


def outages_table(filters: Filters) -> Table:
    return ([_("Area"), _("Outages declared (R54)"), _("Orders attached"),
             _("Closed without a visit"), _("Closed without a visit (%)")],
            [[row["name"], row["outages"], row["orders"], row["resolved"],
              _cell(row["resolved_rate"], "rate")]
             for row in selectors.outage_figures(filters)["areas"]])


def _local(moment: Any) -> str:
    return timezone.localtime(moment).strftime("%Y-%m-%d %H:%M") if moment else ""


TABLES = {
    "summary": summary_table,
    "daily": daily_table,
    "areas": areas_table,
    "technicians": technicians_table,
    "breaches": breaches_table,
    "now": now_table,
    "visit_areas": visit_areas_table,
    "visit_technicians": visit_technicians_table,
    "materials": materials_table,
    "inspections_areas": inspections_areas_table,
    "inspections_technicians": inspections_technicians_table,
    "signals": signals_table,
    "ledger_technicians": ledger_technicians_table,
    "ledger_teams": ledger_teams_table,
    "complaints": complaints_table,
    "outages": outages_table,
}


def summary_workbook(filters: Filters) -> bytes:
    """The period's summary, daily figures, areas and technicians, the visit and the
    quality and exceptions tables, one sheet each."""
    sheets = (("summary", _("Summary")), ("daily", _("By day")), ("areas", _("By area")),
              ("technicians", _("By technician")),
              ("visit_areas", _("Visits by area")),
              ("visit_technicians", _("Visits by technician")),
              ("materials", _("Materials against the norm")),
              ("inspections_areas", _("Inspections by area")),
              ("inspections_technicians", _("Inspections by technician")),
              ("signals", _("Suspicion signals")),
              ("ledger_technicians", _("Ledger by technician")),
              ("ledger_teams", _("Ledger by team")),
              ("complaints", _("Complaints by tier")),
              ("outages", _("Outages by area")))
    return tables.as_workbook(
        ((str(title), TABLES[name](filters)) for name, title in sheets),
        notes=[[_("Period"), f"{filters.start.isoformat()} – {filters.end.isoformat()}"]])
