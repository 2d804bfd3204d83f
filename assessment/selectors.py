"""Reads of the ledger: a technician's month, the monthly statements per technician and
per team (R53), and the totals the supervisors' figures use (issue 17, part 6)."""

from __future__ import annotations

import dataclasses
import datetime as dt
from decimal import Decimal
from typing import Any

from django.db.models import Count, QuerySet, Sum

from technicians.models import Technician

from .models import Entry, EntryKind


def month_start(day: dt.date) -> dt.date:
    return day.replace(day=1)


def entries_of(technician: Technician, period: dt.date) -> QuerySet[Entry]:
    """One technician's entries in one month, newest first, with their appeal (R41: the
    caller passes the signed-in technician, never one taken from the request)."""
    return (Entry.objects.filter(technician=technician, period=month_start(period))
            .select_related("order", "appeal", "reverses", "reversed_by")
            .order_by("-occurred_at", "-id"))


@dataclasses.dataclass
class StatementLine:
    """One technician's (or team's) month: count, points and amount per kind, and net."""

    key: Any
    label: str
    team: str
    by_kind: dict[str, tuple[int, int, Decimal]] = dataclasses.field(default_factory=dict)

    @property
    def points(self) -> int:
        return sum(p for _n, p, _a in self.by_kind.values())

    @property
    def amount(self) -> Decimal:
        return sum((a for _n, _p, a in self.by_kind.values()), Decimal("0.00"))


def _totals(period: dt.date, group: str, *, team_id: int | None = None,
            technician_id: int | None = None) -> list[dict[str, Any]]:
    qs = Entry.objects.filter(period=month_start(period))
    if team_id is not None:
        qs = qs.filter(technician__team_id=team_id)
    if technician_id is not None:
        qs = qs.filter(technician_id=technician_id)
    return list(qs.values(group, "kind").annotate(n=Count("id"), points=Sum("points"),
                                                 amount=Sum("amount")).order_by(group, "kind"))


def statement_by_technician(period: dt.date, *, team_id: int | None = None,
                            technician_id: int | None = None) -> list[StatementLine]:
    """The month's statement per technician: totals by kind and net (a reversal counts in
    the month of the entry it reverses, so the month's net is net of it)."""
    rows = _totals(period, "technician_id", team_id=team_id, technician_id=technician_id)
    techs = Technician.objects.select_related("user", "team").in_bulk(
        {r["technician_id"] for r in rows})
    lines: dict[int, StatementLine] = {}
    for r in rows:
        tech = techs[r["technician_id"]]
        line = lines.get(tech.pk) or lines.setdefault(tech.pk, StatementLine(
            key=tech.employee_no, label=tech.display_name,
            team=tech.team.name if tech.team else ""))
        line.by_kind[r["kind"]] = (r["n"], r["points"] or 0, r["amount"] or Decimal("0.00"))
    return sorted(lines.values(), key=lambda line: (line.team, line.key))


def statement_by_team(period: dt.date) -> list[StatementLine]:
    """The month's statement per team (technicians without a team under "")."""
    rows = _totals(period, "technician__team__name")
    lines: dict[str, StatementLine] = {}
    for r in rows:
        name = r["technician__team__name"] or ""
        line = lines.get(name) or lines.setdefault(name, StatementLine(key=name, label=name,
                                                                      team=name))
        line.by_kind[r["kind"]] = (r["n"], r["points"] or 0, r["amount"] or Decimal("0.00"))
    return sorted(lines.values(), key=lambda line: line.key)


def ledger_totals(start: dt.date, end: dt.date) -> list[dict[str, Any]]:
    """Net points and amount per technician (with team and area) over the months from
    ``start`` to ``end``: the ledger figure for the supervisors' pages (issue 17, part 6).
    The dashboards floor does not import this app; a face shows it."""
    return [dict(row) for row in Entry.objects.filter(period__gte=month_start(start),
                                                     period__lte=end)
                .values("technician__employee_no", "technician__team__name")
                .annotate(entries=Count("id"), points=Sum("points"), amount=Sum("amount"))
                .order_by("technician__team__name", "technician__employee_no")]


KINDS = [k for k in EntryKind]
