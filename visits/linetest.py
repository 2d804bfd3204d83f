"""R48: reading the line from the operator's network instead of typing a number.

``LINE_TEST_BACKEND`` (a dotted path) names a class with ``read(order) -> LineReading``.
A real adapter asks the OLT or ACS management system for the ONU that serves the order's
account (its optical receive power and registration state); the demo backend simulates a
reading deterministically from the order's address, so demo data and tests are stable.
A backend that cannot answer raises ``LineTestUnavailable``; the technician then types
the reading from the power meter.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from decimal import Decimal
from typing import Protocol

from django.conf import settings
from django.utils.module_loading import import_string

from workorders.models import WorkOrder


@dataclass(frozen=True)
class LineReading:
    #: The ONU's optical receive power (dBm), None when the network has no optical line.
    rx_power_dbm: Decimal | None
    #: The ONU's registration state as the network reports it (e.g. "registered (O5)").
    onu_state: str


class LineTestUnavailable(Exception):
    """The network could not be asked (no ONU for the account, the system is down)."""


class LineTestBackend(Protocol):
    def read(self, order: WorkOrder) -> LineReading: ...


class DemoLineTest:
    """The demo network: the same address always reads the same, inside the GPON range
    for most addresses (-12.0 ... -25.9 dBm)."""

    def read(self, order: WorkOrder) -> LineReading:
        digest = hashlib.sha256(order.address.encode()).digest()
        tenths = int.from_bytes(digest[:2], "big") % 140
        return LineReading(rx_power_dbm=Decimal(-120 - tenths) / 10,
                           onu_state="registered (O5)")


class NoLineTest:
    """No network access configured: every reading is typed."""

    def read(self, order: WorkOrder) -> LineReading:
        raise LineTestUnavailable("no line-test backend")


def backend() -> LineTestBackend:
    path = getattr(settings, "LINE_TEST_BACKEND", "visits.linetest.DemoLineTest")
    found: LineTestBackend = import_string(path)()
    return found
