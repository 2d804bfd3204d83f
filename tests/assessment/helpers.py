"""Entries for the ledger tests, written through the service (R53)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from assessment.models import Entry, EntryKind
from assessment.services import NewEntry, record_entries


def entry(technician: Any, *, kind: str = EntryKind.BREACH_CONTACT, source: str = "1",
          at: dt.datetime, order: Any = None, source_type: str = "timer") -> Entry:
    record_entries([NewEntry(kind=kind, technician_id=technician.pk, source_type=source_type,
                             source_id=source, occurred_at=at, reason="测试原因",
                             order_id=order.pk if order else None)])
    return Entry.objects.get(kind=kind, source_type=source_type, source_id=source)
