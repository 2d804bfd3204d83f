"""The scale demo data gives the dashboards a realistic history: SLA timers kept as the
engine would have kept them (breaches included), arrivals, and the per-order facts,
computed by the same function as the event hook; rebuilding the facts from the full event
log gives the same rows."""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import call_command

from appointments.models import Appointment
from dashboards import selectors
from dashboards.models import OrderFact
from dashboards.selectors import Filters
from sla.timers import Timer
from workorders.models import WorkOrder

FIELDS = [f.attname for f in OrderFact._meta.concrete_fields
          if f.attname not in ("updated_at",)]


@pytest.mark.django_db
def test_scale_data_has_timers_arrivals_and_facts_that_a_rebuild_reproduces(reference_data):
    out = StringIO()
    call_command("demo_data", "--orders", "400", "--events", "full", "--days", "30",
                 "--seed", "7", stdout=out, stderr=StringIO())
    assert OrderFact.objects.count() == WorkOrder.objects.count() >= 400
    assert Timer.objects.filter(breached_at__isnull=False).exists()  # some promises broken
    assert Timer.objects.filter(status="stopped", breached_at__isnull=True).exists()
    assert Timer.objects.filter(status="armed").exists()  # open orders run their clocks
    assert Appointment.objects.filter(arrived_at__isnull=False, late=True).exists()
    figures = selectors.compliance(Filters.last_days(30)).current
    assert figures["orders"] >= 350  # the first day of the 30 is partly outside
    for key in ("contact_rate", "visit_rate", "on_time_rate", "satisfaction_rate",
                "rework_rate", "first_fix_rate", "contact_median", "site_p90"):
        assert figures[key] is not None, key
    assert 0.5 < figures["contact_rate"] < 1.0

    generated = {row["order_id"]: row for row in OrderFact.objects.values(*FIELDS)}
    call_command("dashboard_facts", stdout=StringIO(), stderr=StringIO())
    rebuilt = {row["order_id"]: row for row in OrderFact.objects.values(*FIELDS)}
    differences = [(pk, k, generated[pk][k], rebuilt[pk][k]) for pk in generated
                   for k in FIELDS if generated[pk][k] != rebuilt[pk][k]]
    assert differences == []
