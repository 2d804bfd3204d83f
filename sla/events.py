"""What the SLA engine tells the layers above: typed events on the bus (``fieldops.bus``)."""

from __future__ import annotations

import dataclasses
import datetime as dt


@dataclasses.dataclass(frozen=True)
class TimerStep:
    timer_id: int
    kind: str  # a ``TimerEventKind`` value: warned, breached, ...
    at: dt.datetime  # when the step was truly reached (R38), not when it was swept


@dataclasses.dataclass(frozen=True)
class TimerStepped:
    """One or more timers reached a ladder step (a warning before the due time, a breach)
    in the publisher's transaction: an order event or a sweep batch (R38). Published once
    per batch, so a breach storm costs one handler call, not thousands."""

    steps: tuple[TimerStep, ...]
