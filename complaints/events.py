"""What the complaints app tells the layers above: typed events on the bus (``fieldops.bus``)."""

from __future__ import annotations

import dataclasses
import datetime as dt


@dataclasses.dataclass(frozen=True)
class ComplaintDecided:
    """A supervisor decided a complaint (R51), in the deciding transaction. The assessment
    ledger turns an upheld one against a technician into an entry (R53), once: the decision
    is taken once, and the ledger's key (kind, complaint) absorbs a replayed event."""

    complaint_id: int
    upheld: bool
    technician_id: int | None
    order_id: int | None
    at: dt.datetime  # when it was decided
    decided_by: int | None  # the supervisor's user id
