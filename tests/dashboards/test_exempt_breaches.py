"""Exempt breaches in the dashboards' facts and rollups (R50, R38, R39): counted apart,
rebuilt the same by ``dashboard_facts`` (full and ``--rollups-only``)."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.core.management import call_command

from dashboards import selectors
from dashboards.models import COUNTERS, AreaDailyRollup, DailyRollup, OrderFact
from dashboards.selectors import Filters
from dashboards.tasks import refresh_stale_facts
from fieldops import clock
from sla import engine, force_majeure
from workorders.models import State

T0 = dt.datetime(2026, 11, 24, 9, 0, tzinfo=ZoneInfo("Asia/Shanghai"))
DAY = Filters(start=T0.date(), end=T0.date())


def rows() -> tuple[set[tuple], set[tuple]]:
    technician = set(DailyRollup.objects.values_list(
        "day", "area_id", "team_id", "technician_id", "kind", "customer_class", *COUNTERS))
    area = set(AreaDailyRollup.objects.values_list("day", "area_id", "kind",
                                                   "customer_class", *COUNTERS))
    return ({r for r in technician if any(r[6:])}, {r for r in area if any(r[4:])})


@pytest.mark.django_db
def test_exempt_breaches_are_counted_apart_and_rebuilt_the_same(make_order, alice,
                                                                dispatcher, supervisor):
    # R50, R38, R39: two orders breach their contact promise; one breach is exempted
    with time_machine.travel(T0, tick=False) as traveller:
        exempted = make_order(State.DISPATCHED, technician=alice)
        kept = make_order(State.DISPATCHED, technician=alice)
        traveller.move_to(T0 + dt.timedelta(minutes=65))
        engine.sweep_all()
        exemption = force_majeure.declare(by=dispatcher, kind="power_cut", reason="停电",
                                          order=exempted, starts_at=T0, ends_at=clock.now())
        force_majeure.decide(exemption, by=supervisor, approve=True, reason="供电局公告")
        refresh_stale_facts()
        figures = selectors.compliance(DAY).current
        assert (figures["breaches"], figures["exempt_breaches"]) == (1, 1)
        assert (figures["contact_breached"], figures["exemption_rate"]) == (1, 0.5)
        assert OrderFact.objects.get(order=exempted).exempt_breaches == 1
        assert OrderFact.objects.get(order=kept).exempt_breaches == 0
        kept_by_the_hook = rows()

        OrderFact.objects.all().delete()
        DailyRollup.objects.all().delete()
        AreaDailyRollup.objects.all().delete()
        call_command("dashboard_facts")
        assert rows() == kept_by_the_hook
        call_command("dashboard_facts", "--rollups-only")
        assert rows() == kept_by_the_hook
        assert selectors.compliance(DAY).current == figures
