"""What the outbox tells the floors above it (``fieldops.bus``)."""

from __future__ import annotations

import dataclasses


@dataclasses.dataclass(frozen=True)
class AlertsWritten:
    """In-app alerts were written in this transaction (by id, or by dedupe key where they
    were written in bulk): the alerts' audience may also hear of them by Web Push. Published
    only while push is on (``notifications.push.enabled``)."""

    ids: tuple[int, ...] = ()
    dedupe_keys: tuple[str, ...] = ()
