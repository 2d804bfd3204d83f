"""Shared scenes for the complaint tests (R51)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import time_machine

from complaints import services
from complaints.models import Complaint, ContactKind
from workorders.models import State, WorkOrder

SH = ZoneInfo("Asia/Shanghai")
T0 = dt.datetime(2026, 11, 24, 9, 0, tzinfo=SH)  # a Tuesday
COMPLAINT_TEXT = "师傅态度恶劣, 还多收了50元材料费"


@pytest.fixture
def at_t0() -> Iterator[Any]:
    with time_machine.travel(T0, tick=False) as traveller:
        yield traveller


@pytest.fixture
def completed_order(at_t0: Any, make_order: Callable[..., WorkOrder], alice: Any) -> WorkOrder:
    return make_order(State.COMPLETED, technician=alice, customer_name="王芳")


@pytest.fixture
def record(agent: Any) -> Callable[..., Complaint]:
    """``record(order, tier="complaint")``: a complaint recorded by the call-centre agent."""

    def make(order: WorkOrder | None = None, tier: str = "complaint", **extra: Any) -> Complaint:
        fields = {"channel": "phone", "text": COMPLAINT_TEXT, **extra}
        return services.complaint_record(by=agent, tier=tier, order=order, **fields)

    return make


def settle(complaint: Complaint, agent: Any, supervisor: Any, *, upheld: bool = True,
           confirmed: bool = True) -> Complaint:
    """Handle a complaint with a solution, decide it, and (``confirmed``) have the customer
    confirm the solution: everything closing needs."""
    services.complaint_handle(complaint=complaint, by=agent, kind=ContactKind.CALL,
                              note="已致电客户道歉", solution="退还50元, 班长上门回访",
                              compensation="50", customer_confirmed=confirmed)
    return services.complaint_decide(complaint=complaint, by=supervisor, upheld=upheld,
                                     note="核实属实", released_note="注意服务态度")
