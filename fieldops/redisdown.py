"""What a process does while Redis does not answer (docs/operations.md, "When Redis is
down"). Each feature that shares state through Redis falls back to something of its own:
the API's rate limits count per process (``api.throttling``), the image-work limit is per
process (``fieldops.semaphores``), permissions are read from the database
(``fieldops.permcache``). Each keeps one ``Outage``: after a failure Redis is left alone
for ``RETRY_SECONDS``, the log says so at most once every ``WARNING_EVERY_SECONDS``, and
once more when Redis answers again. Times are the product's clock (``fieldops.clock``),
so a test can move past them.
"""

from __future__ import annotations

import logging
import threading
from typing import Any

from . import clock

#: After Redis failed, it is asked again this many seconds later.
RETRY_SECONDS = 5.0
#: The warning that a feature runs without Redis is logged at most this often.
WARNING_EVERY_SECONDS = 60.0


class Outage:
    """One feature's view of Redis being down. ``down`` and ``back`` are the log's
    messages: ``down`` is formatted with the error and then ``failed``'s own arguments,
    ``back`` with ``recovered``'s."""

    def __init__(self, logger: logging.Logger, down: str, back: str) -> None:
        self.logger, self.down_message, self.back_message = logger, down, back
        self.lock = threading.Lock()
        self.retry_at = 0.0
        self.warned_at: float | None = None
        #: Redis failed and has not answered since.
        self.degraded = False

    def down(self) -> bool:
        """Redis failed a moment ago: don't ask it yet."""
        return clock.now().timestamp() < self.retry_at

    def failed(self, error: Exception, *args: Any) -> None:
        now = clock.now().timestamp()
        with self.lock:
            self.retry_at = now + RETRY_SECONDS
            self.degraded = True
            warn = self.warned_at is None or now - self.warned_at >= WARNING_EVERY_SECONDS
            if warn:
                self.warned_at = now
        if warn:
            self.logger.warning(self.down_message, error, *args)

    def recovered(self, *args: Any) -> None:
        """Redis answered: say so once if it had failed."""
        if not self.degraded:
            return
        with self.lock:
            was, self.degraded, self.warned_at = self.degraded, False, None
        if was:
            self.logger.warning(self.back_message, *args)

    def clear(self) -> None:
        with self.lock:
            self.retry_at, self.warned_at, self.degraded = 0.0, None, False
