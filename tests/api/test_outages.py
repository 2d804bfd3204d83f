"""The call-centre API and outages (R54): a repair taken in an outage's area is told
"known outage, ETA 16:00" in the create answer and is attached right after, its visit
clock paused; the order's detail keeps showing the outage while it waits."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
import time_machine

from outages import services
from outages.models import OutageOrder
from sla.timers import Timer, TimerStatus
from workorders.events import OrderAction
from workorders.models import WorkOrder

SH = ZoneInfo("Asia/Shanghai")
T0 = dt.datetime(2026, 11, 24, 9, 0, tzinfo=SH)
ETA = T0.replace(hour=16)


@pytest.fixture
def at_t0():
    with time_machine.travel(T0, tick=False) as traveller:
        yield traveller


def repair_body(intake):
    return intake(kind="repair", symptoms="无法上网, 光猫 LOS 红灯", preferred_day=None)


def test_a_new_repair_in_an_outage_area_attaches_and_the_answer_carries_the_eta(
        at_t0, cc, intake, dispatcher, east, django_capture_on_commit_callbacks):
    outage = services.declare(by=dispatcher, area=east, eta=ETA,
                              explanation="东四路段光缆被挖断, 正在抢修.")
    with django_capture_on_commit_callbacks(execute=True):
        response = cc.create(repair_body(intake))
    assert response.status_code == 201, response.body
    told = response.body["outage"]
    assert told["number"] == outage.number and told["state"] == "open"
    assert told["eta"] == "2026-11-24T16:00:00+08:00"
    assert "16:00" in told["message"] and "光缆被挖断" in told["message"]
    assert outage.number in told["message"]
    order = WorkOrder.objects.get(pk=response.body["id"])
    assert OutageOrder.objects.filter(outage=outage, order=order).exists()
    assert order.events.filter(action=OrderAction.ATTACH_OUTAGE).count() == 1
    assert Timer.objects.get(order=order, kind="visit").status == TimerStatus.PAUSED
    detail = cc.get(f"work-orders/{order.pk}/")
    assert detail.body["outage"]["attached"] is True
    assert detail.body["outage"]["number"] == outage.number


def test_an_install_or_a_repair_elsewhere_has_no_outage(at_t0, cc, intake, dispatcher, east,
                                                        west,
                                                        django_capture_on_commit_callbacks):
    services.declare(by=dispatcher, area=east, eta=ETA, explanation="光缆中断.")
    with django_capture_on_commit_callbacks(execute=True):
        install = cc.create(intake())
        elsewhere = cc.create({**repair_body(intake), "area": west.code})
    assert install.status_code == 201 and install.body["outage"] is None
    assert elsewhere.status_code == 201 and elsewhere.body["outage"] is None
    assert not OutageOrder.objects.exists()


def test_a_repaired_outage_is_no_longer_told_to_new_callers(at_t0, cc, intake, dispatcher,
                                                            east):
    outage = services.declare(by=dispatcher, area=east, eta=ETA, explanation="光缆中断.")
    services.mark_repaired(outage, by=dispatcher)
    response = cc.create(repair_body(intake))
    assert response.status_code == 201 and response.body["outage"] is None
