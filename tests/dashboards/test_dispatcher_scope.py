"""Dispatchers read the SLA dashboards of the areas they run (R39; issue: the dashboards
answered 403 to every dispatcher); supervisors keep every area."""

from __future__ import annotations

import csv
import datetime as dt
import io

import pytest
import time_machine
from django.test import Client
from django.urls import reverse

from dashboards.tasks import refresh_stale_facts
from fieldops import clock
from sla import engine
from workorders.models import State

pytestmark = pytest.mark.django_db


def client_for(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def two_areas(make_order, alice, bob, west):
    """A late order in each area (east: alice; west: bob), its breach recorded."""
    east_order = make_order(State.DISPATCHED, technician=alice)
    west_order = make_order(State.DISPATCHED, technician=bob, area=west)
    return east_order, west_order


def test_a_dispatcher_reads_only_the_areas_they_run(two_areas, dispatcher, supervisor, east,
                                                     west):
    east.dispatchers.add(dispatcher)
    refresh_stale_facts()
    page = client_for(dispatcher).get(reverse("dashboard:compliance"),
                                      HTTP_ACCEPT_LANGUAGE="en")
    assert page.status_code == 200
    html = page.content.decode()
    assert f'<option value="{east.pk}"' in html and f'<option value="{west.pk}"' not in html
    assert "Alice Wang" in html and "Bob" not in html
    everything = client_for(supervisor).get(reverse("dashboard:compliance")).content.decode()
    assert f'<option value="{west.pk}"' in everything


def test_the_now_panel_and_the_exports_keep_to_the_dispatchers_areas(two_areas, dispatcher,
                                                                     east):
    east_order, west_order = two_areas
    east.dispatchers.add(dispatcher)
    with time_machine.travel(clock.now() + dt.timedelta(minutes=65), tick=False):
        engine.sweep_all()
        now = client_for(dispatcher).get(reverse("dashboard:now")).content.decode()
    assert east_order.number in now and west_order.number not in now
    refresh_stale_facts()
    areas = client_for(dispatcher).get(reverse("dashboard:export_csv", args=["areas"]),
                                       HTTP_ACCEPT_LANGUAGE="en")
    rows = list(csv.reader(io.StringIO(areas.content.decode("utf-8-sig"))))
    assert [r[0] for r in rows[1:]] == [east.name]


def test_another_area_in_the_url_shows_nothing_of_it(two_areas, dispatcher, east, west):
    east.dispatchers.add(dispatcher)
    refresh_stale_facts()
    page = client_for(dispatcher).get(reverse("dashboard:compliance"), {"area": west.pk},
                                      HTTP_ACCEPT_LANGUAGE="en")
    assert page.status_code == 200
    html = page.content.decode()
    assert "Select a valid choice" in html and "Bob" not in html


def test_a_technician_of_another_area_has_no_scorecard_for_the_dispatcher(dispatcher, east,
                                                                         alice, bob):
    east.dispatchers.add(dispatcher)
    client = client_for(dispatcher)
    assert client.get(reverse("dashboard:scorecard", args=[alice.pk])).status_code == 200
    assert client.get(reverse("dashboard:scorecard", args=[bob.pk])).status_code == 404


def test_a_dispatcher_who_runs_no_area_is_told_whom_to_ask(dispatcher):
    page = client_for(dispatcher).get(reverse("dashboard:compliance"),
                                      HTTP_ACCEPT_LANGUAGE="en")
    assert page.status_code == 403
    assert "No area is assigned to you yet" in page.content.decode()


def test_an_admin_assigns_dispatchers_to_an_area(admin_client, dispatcher, supervisor, east):
    url = reverse("admin:technicians_area_change", args=[east.pk])
    form = admin_client.get(url).context["adminform"].form
    offered = {u.username for u in form.fields["dispatchers"].queryset}
    assert dispatcher.username in offered and supervisor.username not in offered
