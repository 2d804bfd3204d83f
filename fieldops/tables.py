"""Tables as files for spreadsheet programs: a table is a header row and body rows; CSV
(UTF-8 with a byte-order mark, so the Chinese text reads right) and an XLSX workbook of one
or more sheets (openpyxl). The dashboards' exports and the ledger's statements use them."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence
from decimal import Decimal
from typing import Any

Table = tuple[list[str], list[list[Any]]]


def as_csv(table: Table) -> str:
    """CSV with a byte-order mark, so spreadsheet programs read the Chinese text right."""
    out = io.StringIO()
    out.write("\ufeff")
    writer = csv.writer(out)
    header, body = table
    writer.writerow(header)
    writer.writerows(body)
    return out.getvalue()


def as_workbook(sheets: Iterable[tuple[str, Table]],
                notes: Sequence[Sequence[Any]] = ()) -> bytes:
    """One sheet per (title, table), the header in bold; ``notes`` are rows added under
    the first sheet's table after a blank row (the period it covers, say)."""
    # openpyxl is large and only the Excel exports need it.
    from openpyxl import Workbook
    from openpyxl.styles import Font

    book = Workbook()
    for i, (title, (header, body)) in enumerate(sheets):
        sheet = book.active if i == 0 else book.create_sheet()
        assert sheet is not None
        sheet.title = str(title)[:31]
        sheet.append(header)
        for cell in sheet[1]:
            cell.font = Font(bold=True)
        for row in body:
            sheet.append([float(v) if isinstance(v, Decimal) else v for v in row])
        if i == 0 and notes:
            sheet.append([])
            for note in notes:
                sheet.append(list(note))
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()
