"""What the SLA engine tells the layers above: typed events on the bus (``fieldops.bus``)."""

from __future__ import annotations

import dataclasses
import datetime as dt
from typing import NamedTuple


class TimerStep(NamedTuple):
    """One ladder step a timer reached (R38). A named tuple, not a dataclass: a breach
    storm's batch builds thousands of them, and a frozen dataclass costs four times as
    much to build."""

    timer_id: int
    kind: str  # a ``TimerEventKind`` value: warned, breached, ...
    at: dt.datetime  # when the step was truly reached (R38), not when it was swept


@dataclasses.dataclass(frozen=True)
class TimerStepped:
    """One or more timers reached a ladder step (a warning before the due time, a breach)
    in the publisher's transaction: an order event or a sweep batch (R38). Published once
    per batch, so a breach storm costs one handler call, not thousands."""

    steps: tuple[TimerStep, ...]


@dataclasses.dataclass(frozen=True)
class BreachesExempted:
    """A supervisor approved a force-majeure exemption (R50): these breached timers are now
    exempt (``sla.ExemptBreach``), left out of the compliance figures and of the assessment
    ledger (R53). The breaches stay recorded (R38). Published in the approving transaction
    (and again, with the new timers only, when a timer breaches later inside an approved
    range); each timer is in at most one such event."""

    exemption_id: int
    timer_ids: tuple[int, ...]
    approved_by: int | None  # the supervisor's user id
    at: dt.datetime  # when the exemption was approved (the marks' ``exempted_at``)


@dataclasses.dataclass(frozen=True)
class WithdrawnStep:
    timer_id: int
    order_id: int
    kind: str  # the withdrawn step's ``TimerEventKind``: warned, breached, escalated
    level: int  # its place on the ladder
    reached_at: dt.datetime  # when it had fired (its event's ``at``)


@dataclasses.dataclass(frozen=True)
class BreachesWithdrawn:
    """An order event that stops, cancels or pauses timers reached the server late (done
    offline on a phone) and happened before ladder steps the sweep had already fired:
    those steps are withdrawn (``sla.engine._withdraw``; each has a WITHDRAWN timer event,
    the step's own event stays, R38). ``timer_ids``: the timers whose breach was withdrawn
    (their outcome is "met" for a stop in time): the assessment ledger reverses their
    missed-promise entries (R53) and the dashboards count them as met (R39). Published
    once, in the transaction of the late event; a retried event publishes nothing."""

    timer_ids: tuple[int, ...]
    order_ids: tuple[int, ...]
    at: dt.datetime  # when the late event truly happened (the phone's time)
    received_at: dt.datetime  # when it reached the server
    action: str  # the order action (``OrderAction``), e.g. check_in
    steps: tuple[WithdrawnStep, ...]
