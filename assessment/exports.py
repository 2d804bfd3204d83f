"""The monthly statements as CSV and XLSX (R53), for supervisors: one row per technician
(or team) with the points per kind, the number of entries and the net points and amount."""

from __future__ import annotations

import csv
import datetime as dt
import io
from decimal import Decimal
from typing import Any

from django.utils.translation import gettext as _

from .models import EntryKind
from .selectors import StatementLine, statement_by_team, statement_by_technician

Table = tuple[list[str], list[list[Any]]]


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


def as_csv(table: Table) -> str:
    """CSV with a byte-order mark, so spreadsheet programs read the Chinese text right."""
    out = io.StringIO()
    out.write("\ufeff")
    writer = csv.writer(out)
    header, body = table
    writer.writerow(header)
    writer.writerows(body)
    return out.getvalue()


def as_workbook(period: dt.date) -> bytes:
    """Both statements, one sheet each (openpyxl, as the dashboards' exports)."""
    # openpyxl is large and only the Excel export needs it.
    from openpyxl import Workbook
    from openpyxl.styles import Font

    book = Workbook()
    for i, (by, title) in enumerate((("technician", _("By technician")),
                                     ("team", _("By team")))):
        sheet = book.active if i == 0 else book.create_sheet()
        assert sheet is not None
        sheet.title = str(title)[:31]
        header, body = statement_table(period, by=by)
        sheet.append(header)
        for cell in sheet[1]:
            cell.font = Font(bold=True)
        for row in body:
            sheet.append([float(v) if isinstance(v, Decimal) else v for v in row])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()
