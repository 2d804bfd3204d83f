"""Shared ground for the outage tests (R54): a fixed Tuesday morning, an access node in
the east area, and repair orders whose lines hang on it."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.utils import translation

from notifications.models import Notification
from outages.models import AccessNode, AccountNode, NodeKind
from workorders.models import AccessType, Customer, Kind, Service, ServiceAccount, WorkOrder

SH = ZoneInfo("Asia/Shanghai")
T0 = dt.datetime(2026, 11, 24, 9, 0, tzinfo=SH)  # a Tuesday
ETA = T0.replace(hour=16)


@pytest.fixture(autouse=True)
def _english() -> Iterator[None]:
    """Messages are asserted in English here; the customers' SMS are written in the
    site's language (zh-hans) whatever the test's."""
    with translation.override("en"):
        yield


@pytest.fixture
def at_t0() -> Iterator[Any]:
    with time_machine.travel(T0, tick=False) as traveller:
        yield traveller


@pytest.fixture
def olt(east: Any) -> AccessNode:
    return AccessNode.objects.create(code="OLT-DC-01", name="东四 OLT", kind=NodeKind.OLT,
                                     area=east)


@pytest.fixture
def repair(make_order: Callable[..., WorkOrder]) -> Callable[..., WorkOrder]:
    """``repair(state, node=None, n=0, **intake)``: a repair order walked to ``state``; with
    ``node`` its account's line hangs on that access node."""

    def make(state: str = "accepted", *, node: AccessNode | None = None, n: int = 0,
             **intake: Any) -> WorkOrder:
        if node is not None:
            # The line is on the node before the customer calls (the operator's records).
            intake.setdefault("account_number", f"BB{node.pk:03d}{n:05d}")
            if not ServiceAccount.objects.filter(number=intake["account_number"]).exists():
                customer = Customer.objects.create(name="张伟", phone="13812345678")
                account = ServiceAccount.objects.create(
                    number=intake["account_number"], customer=customer, area=node.area,
                    address="北京市东城区东四十条 88 号", service=Service.BROADBAND,
                    access_type=AccessType.FTTH)
                AccountNode.objects.create(account=account, node=node)
        return make_order(state, kind=Kind.REPAIR, **intake)

    return make


def sms(kind: str) -> list[Notification]:
    return list(Notification.objects.filter(channel="sms", kind=kind).order_by("pk"))
