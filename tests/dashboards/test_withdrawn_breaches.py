"""Withdrawn breaches in the dashboards (issue 16, R38, R39): a contact done offline in time
and synced after the sweep recorded the breach counts as met in the compliance figures,
through the refresh the withdrawal asks for and through a rebuild alike."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.core.management import call_command
from django.db import transaction

from dashboards import selectors
from dashboards.handlers import withdrawn_stale
from dashboards.models import OrderFact, StaleFact
from dashboards.selectors import Filters
from dashboards.tasks import refresh_stale_facts
from sla import engine
from sla.events import BreachesWithdrawn
from workorders.events import OrderAction
from workorders.lifecycle import record_event
from workorders.models import State, WorkOrder

T0 = dt.datetime(2026, 11, 24, 9, 0, tzinfo=ZoneInfo("Asia/Shanghai"))
DAY = Filters(start=T0.date(), end=T0.date())


def minutes(n: int) -> dt.timedelta:
    return dt.timedelta(minutes=n)


@pytest.mark.django_db
def test_a_withdrawn_breach_counts_as_met(make_order, alice):
    # R7, R39: both orders' contact promises (60 min) were recorded broken by the sweep at
    # 10:05; one contact was truly made at 09:50 offline and reaches the server at 10:20
    with time_machine.travel(T0, tick=False) as traveller:
        synced = make_order(State.DISPATCHED, technician=alice)
        broken = make_order(State.DISPATCHED, technician=alice)
        traveller.move_to(T0 + minutes(65))
        engine.sweep_all()
        refresh_stale_facts()
        figures = selectors.compliance(DAY).current
        assert (figures["contact_breached"], figures["breaches"]) == (2, 2)
        traveller.move_to(T0 + minutes(80))
        with transaction.atomic():
            order = WorkOrder.objects.select_for_update().get(pk=synced.pk)
            record_event(order=order, by=alice.user, action=OrderAction.LOG_CONTACT,
                         from_state=order.state, to_state=order.state, at=T0 + minutes(50))
        refresh_stale_facts()
        figures = selectors.compliance(DAY).current
        assert (figures["contact_met"], figures["contact_breached"]) == (1, 1)
        assert figures["breaches"] == 1 and figures["contact_rate"] == 0.5
        assert OrderFact.objects.get(order=synced).contact_outcome == "met"
        assert OrderFact.objects.get(order=broken).contact_outcome == "breached"
        OrderFact.objects.all().delete()
        call_command("dashboard_facts")
        assert selectors.compliance(DAY).current == figures


@pytest.mark.django_db
def test_the_withdrawal_marks_the_orders_facts_for_the_refresh(make_order, alice):
    # The withdrawal event alone (whatever published it) marks the orders' facts stale.
    with time_machine.travel(T0, tick=False):
        order = make_order(State.DISPATCHED, technician=alice)
        refresh_stale_facts()
        assert not StaleFact.objects.filter(order_id=order.pk).exists()
        with transaction.atomic():
            withdrawn_stale(BreachesWithdrawn(timer_ids=(), order_ids=(order.pk,), at=T0,
                                              received_at=T0, action="check_in", steps=()))
        assert StaleFact.objects.filter(order_id=order.pk).exists()
