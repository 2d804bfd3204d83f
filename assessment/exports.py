"""The monthly statements as CSV and XLSX (R53), for supervisors: one row per technician
(or team) with the points per kind, the number of entries and the net points and amount."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from django.utils.translation import gettext as _

from fieldops import tables
from fieldops.tables import Table

from .models import EntryKind
from .selectors import StatementLine, statement_by_team, statement_by_technician


def statement_table(period: dt.date, *, by: str = "technician") -> Table:
    """``by``: "technician" or "team"."""
    lines: list[StatementLine]
    if by == "team":
        lines = statement_by_team(period)
        first = [_("Month"), _("Team")]
    else:
        lines = statement_by_technician(period)
        first = [_("Month"), _("Employee number"), _("Technician"), _("Team")]
    kinds = [k for k in EntryKind if any(k.value in line.by_kind for line in lines)]
    header = [*first, *(f"{k.label} ({_('points')})" for k in kinds), _("Entries"),
              _("Net points"), _("Net amount (yuan)")]
    body = []
    for line in lines:
        start = ([period.strftime("%Y-%m"), line.key] if by == "team"
                 else [period.strftime("%Y-%m"), line.key, line.label, line.team])
        body.append([*start, *(line.by_kind.get(k.value, (0, 0, 0))[1] for k in kinds),
                     sum(n for n, _p, _a in line.by_kind.values()), line.points,
                     line.amount.quantize(Decimal("0.01"))])
    return [str(h) for h in header], body


def as_workbook(period: dt.date) -> bytes:
    """Both statements, one sheet each."""
    return tables.as_workbook((str(title), statement_table(period, by=by))
                              for by, title in (("technician", _("By technician")),
                                                ("team", _("By team"))))
