"""The dashboard pages: who may see them (R39: supervisors and admins only), what they
show, the filters in the URL, the live "Now" panel and the exports."""

from __future__ import annotations

import csv
import io

import pytest
from django.contrib.auth.models import User
from django.test import Client
from django.urls import reverse

from dashboards.tasks import refresh_stale_facts
from workorders.models import State

PAGES = [
    reverse("dashboard:compliance"),
    reverse("dashboard:now"),
    reverse("dashboard:breaches"),
    reverse("dashboard:export_csv", args=["summary"]),
    reverse("dashboard:export_xlsx"),
]


def client_for(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def admin_user(db) -> User:
    return User.objects.create_superuser("root", "root@example.com", "pw-root")


@pytest.mark.django_db
@pytest.mark.parametrize("url", PAGES)
def test_supervisors_and_admins_see_the_dashboards(url, supervisor, admin_user):
    # R39
    assert client_for(supervisor).get(url).status_code == 200
    assert client_for(admin_user).get(url).status_code == 200


@pytest.mark.django_db
@pytest.mark.parametrize("url", PAGES)
def test_technicians_agents_and_dispatchers_without_areas_are_refused(url, alice, dispatcher,
                                                                     agent):
    # R39, R41: a technician (and any other role) gets a 403; a dispatcher reads only the
    # areas they run (tests/dashboards/test_dispatcher_scope.py), and runs none here
    for user in (alice.user, dispatcher, agent):
        assert client_for(user).get(url).status_code == 403, user


@pytest.mark.django_db
def test_a_visitor_is_sent_to_the_login_page(reference_data):
    response = Client().get(reverse("dashboard:compliance") + "?kind=repair")
    assert response.status_code == 302
    assert "/admin/login/" in response["Location"] and "kind%3Drepair" in response["Location"]


@pytest.mark.django_db
def test_the_scorecard_is_for_supervisors_only(supervisor, alice):
    url = reverse("dashboard:scorecard", args=[alice.pk])
    assert client_for(alice.user).get(url).status_code == 403
    response = client_for(supervisor).get(url)
    assert response.status_code == 200
    assert "Alice Wang" in response.content.decode()


@pytest.mark.django_db
def test_the_page_shows_figures_charts_and_links_to_the_orders(supervisor, make_order,
                                                               alice, east):
    order = make_order(State.DISPATCHED, technician=alice)
    response = client_for(supervisor).get(reverse("dashboard:compliance"),
                                          {"area": east.pk}, HTTP_ACCEPT_LANGUAGE="en")
    page = response.content.decode()
    assert response.status_code == 200
    assert 'data-figure="contact_rate"' in page and 'data-figure="work_p90"' in page
    assert "vendor/chart.js/chart.umd.js" in page and "dashboard/dashboard.js" in page
    assert 'class="fo-chart"' in page and "<script>" not in page  # no inline script (CSP)
    assert "//cdn" not in page and "https://" not in page  # our own static files only
    assert f'value="{east.pk}" selected' in page  # the filter survives in the form
    assert "area=" in page  # and in the export links
    assert "Alice Wang" in page
    assert order.number not in page  # nothing at risk yet: the Now panel is empty


@pytest.mark.django_db
def test_the_now_panel_links_each_order_at_risk_to_the_admin(supervisor, make_order,
                                                               alice):
    import datetime as dt

    import time_machine

    from fieldops import clock
    from sla import engine

    order = make_order(State.DISPATCHED, technician=alice)
    with time_machine.travel(clock.now() + dt.timedelta(minutes=65), tick=False):
        engine.sweep_all()
        response = client_for(supervisor).get(reverse("dashboard:now"),
                                              HTTP_ACCEPT_LANGUAGE="en")
    page = response.content.decode()
    assert reverse("admin:workorders_workorder_change", args=[order.pk]) in page
    assert "Breached" in page and "overdue" in page and "Alice Wang" in page


@pytest.mark.django_db
def test_the_pages_speak_chinese_and_english(supervisor):
    client = client_for(supervisor)
    english = client.get(reverse("dashboard:compliance"), HTTP_ACCEPT_LANGUAGE="en")
    assert '<html lang="en">' in english.content.decode()
    chinese = client.get(reverse("dashboard:compliance"), HTTP_ACCEPT_LANGUAGE="zh-hans")
    assert '<html lang="zh-hans">' in chinese.content.decode()


@pytest.mark.django_db
@pytest.mark.parametrize("table", ["summary", "daily", "areas", "technicians", "breaches",
                                   "now"])
def test_every_table_downloads_as_csv(table, supervisor, make_order, alice):
    make_order(State.CLOSED, technician=alice)
    refresh_stale_facts()  # what beat does within seconds
    response = client_for(supervisor).get(reverse("dashboard:export_csv", args=[table]),
                                          HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))
    assert rows[0]  # a header
    if table == "technicians":
        assert rows[1][1] == "Alice Wang" and rows[1][2] == "1"


@pytest.mark.django_db
def test_an_unknown_table_is_404(supervisor):
    url = reverse("dashboard:export_csv", args=["salaries"])
    assert client_for(supervisor).get(url).status_code == 404


@pytest.mark.django_db
def test_the_summary_downloads_as_a_spreadsheet(supervisor, make_order, alice):
    from openpyxl import load_workbook

    make_order(State.CLOSED, technician=alice)
    refresh_stale_facts()  # what beat does within seconds
    response = client_for(supervisor).get(reverse("dashboard:export_xlsx"),
                                          {"kind": "install"}, HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 200
    book = load_workbook(io.BytesIO(response.content))
    assert book.sheetnames == ["Summary", "By day", "By area", "By technician",
                               "Visits by area", "Visits by technician",
                               "Materials against the norm",  # R46, R48
                               "Inspections by area", "Inspections by technician",
                               "Suspicion signals", "Ledger by technician",  # R52, R53
                               "Ledger by team", "Complaints by tier",  # R53, R51
                               "Outages by area"]  # R54
    summary = {row[0]: row[2] for row in book["Summary"].iter_rows(values_only=True) if row}
    assert summary["Orders received"] == 1
    assert summary["Satisfied answers"] == 100.0


@pytest.mark.django_db
def test_a_bad_period_falls_back_to_the_last_30_days_and_says_why(supervisor):
    response = client_for(supervisor).get(reverse("dashboard:compliance"),
                                          {"start": "2026-12-01", "end": "2026-11-01"},
                                          HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 200
    assert "The period must start before it ends." in response.content.decode()


@pytest.mark.django_db
def test_with_many_technicians_the_breakdown_waits_for_an_area(supervisor, make_order, alice,
                                                               east, monkeypatch):
    from dashboards import views

    make_order(State.CLOSED, technician=alice)
    refresh_stale_facts()  # what beat does within seconds
    monkeypatch.setattr(views, "TECHNICIANS_SHOWN_UNFILTERED", 0)
    client = client_for(supervisor)
    page = client.get(reverse("dashboard:compliance"), HTTP_ACCEPT_LANGUAGE="en")
    assert "Choose an area or a team to see its technicians." in page.content.decode()
    assert 'data-table="technicians"' not in page.content.decode()
    narrowed = client.get(reverse("dashboard:compliance"), {"area": east.pk},
                          HTTP_ACCEPT_LANGUAGE="en")
    assert 'data-table="technicians"' in narrowed.content.decode()


def test_the_admin_header_links_supervisors_to_the_dashboards(supervisor, dispatcher, east):
    # R39: the desk shows the way to the dashboards to those who may open them, only.
    link = f'href="{reverse("dashboard:compliance")}"'
    index = reverse("admin:index") + "?apps=1"
    assert link in client_for(supervisor).get(index).content.decode()
    assert link not in client_for(dispatcher).get(index).content.decode()
    east.dispatchers.add(dispatcher)  # a dispatcher who runs an area reads its figures
    assert link in client_for(dispatcher).get(index).content.decode()
