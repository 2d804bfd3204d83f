"""What the outbox tells the floors above it (``fieldops.bus``)."""

from __future__ import annotations

import dataclasses
import datetime as dt


@dataclasses.dataclass(frozen=True)
class AlertsWritten:
    """In-app alerts were written in this transaction (by id, by dedupe key where they were
    written in bulk, or as every in-app row created at ``written_at`` where a set-based
    statement wrote them): their audience may also hear of them by Web Push. Published only
    while push is on (``notifications.push.enabled``)."""

    ids: tuple[int, ...] = ()
    dedupe_keys: tuple[str, ...] = ()
    written_at: dt.datetime | None = None
