"""What quality inspection tells the floors above (``fieldops.bus``)."""

from __future__ import annotations

import dataclasses
import datetime as dt


@dataclasses.dataclass(frozen=True)
class InspectionFailed:
    """An inspector failed a completed order (R52): the order went back for rework (R31)
    and a quality record was written; the assessment ledger makes its entry from this
    (R53). Published once, in the failing transaction."""

    inspection_id: int
    record_id: int
    order_id: int
    technician_id: int | None
    at: dt.datetime
    findings: str
