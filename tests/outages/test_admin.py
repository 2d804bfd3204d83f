"""The outage pages on the desk (R54) for every role: dispatchers declare and mark
repaired, the call-centre and supervisors read, supervisors set the policy, technicians
see none of it; a paused clock says "Paused: Attached to an outage" on the order's page."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from outages import services
from outages.models import Outage, OutageOrder, OutagePolicy, OutageProposal, OutageState

from .conftest import ETA


def client_for(user: Any) -> Client:
    client = Client(HTTP_ACCEPT_LANGUAGE="en")  # the desk's words, asserted in English
    client.force_login(user)
    return client


@pytest.fixture
def people(dispatcher, agent, supervisor, alice):
    return {"dispatcher": dispatcher, "agent": agent, "supervisor": supervisor,
            "technician": alice.user}


@pytest.mark.django_db
def test_the_role_matrix_of_the_outage_pages(at_t0, repair, people, east, olt):
    order = repair("accepted")
    outage = services.declare(by=people["dispatcher"], area=east, eta=ETA,
                              explanation="光缆中断.")
    OutageProposal.objects.create(node=olt, reports=5, window_minutes=60,
                                  proposed_at=outage.declared_at)
    policy = OutagePolicy.objects.get()
    pages = {
        "outages": reverse("admin:outages_outage_changelist"),
        "outage": reverse("admin:outages_outage_change", args=[outage.pk]),
        "declare": reverse("admin:outages_outage_add"),
        "repair": reverse("admin:outages_outage_repair", args=[outage.pk]),
        "proposals": reverse("admin:outages_outageproposal_changelist"),
        "nodes": reverse("admin:outages_accessnode_changelist"),
        "add_node": reverse("admin:outages_accessnode_add"),
        "policy": reverse("admin:outages_outagepolicy_change", args=[policy.pk]),
        "order": reverse("admin:workorders_workorder_change", args=[order.pk]),
    }
    expected = {  # role: page -> status (302: the technician is sent to the login)
        "dispatcher": {"outages": 200, "outage": 200, "declare": 200, "repair": 200,
                       "proposals": 200, "nodes": 200, "add_node": 200, "policy": 200,
                       "order": 200},
        "agent": {"outages": 200, "outage": 200, "declare": 403, "repair": 403,
                  "proposals": 403, "nodes": 403, "add_node": 403, "policy": 403,
                  "order": 200},
        "supervisor": {"outages": 200, "outage": 200, "declare": 403, "repair": 403,
                       "proposals": 200, "nodes": 200, "add_node": 403, "policy": 200,
                       "order": 200},
        "technician": dict.fromkeys(pages, 302),
    }
    for role, statuses in expected.items():
        client = client_for(people[role])
        for page, status in statuses.items():
            got = client.get(pages[page]).status_code
            assert got == status, (role, page, got)
    # the policy is the supervisors' to change, read-only for dispatchers
    edit = client_for(people["supervisor"]).get(pages["policy"]).content.decode()
    assert 'name="proposal_count"' in edit
    view = client_for(people["dispatcher"]).get(pages["policy"]).content.decode()
    assert 'name="proposal_count"' not in view
    # a held order's page says why its clock stands still
    page = client_for(people["dispatcher"]).get(pages["order"]).content.decode()
    assert "Paused: Attached to an outage" in page


@pytest.mark.django_db
def test_a_dispatcher_declares_and_repairs_on_the_desk(at_t0, repair, dispatcher, east):
    order = repair("accepted")
    client = client_for(dispatcher)
    add = reverse("admin:outages_outage_add")
    refused = client.post(add, {"explanation": "光缆中断.", "eta_0": "2026-11-24",
                                "eta_1": "16:00"})
    assert refused.status_code == 200 and "choose an area or an access node" in \
        refused.content.decode()
    past = client.post(add, {"area": east.pk, "explanation": "光缆中断.",
                             "eta_0": "2026-11-24", "eta_1": "08:00"})
    assert past.status_code == 200 and "has already passed" in past.content.decode()
    assert not Outage.objects.exists() and not OutageOrder.objects.exists()
    done = client.post(add, {"area": east.pk, "explanation": "光缆中断.",
                             "eta_0": "2026-11-24", "eta_1": "16:00"})
    assert done.status_code == 302
    outage = Outage.objects.get()
    assert OutageOrder.objects.get().order_id == order.pk
    listing = client.get(reverse("admin:outages_outage_change", args=[outage.pk]))
    assert order.number in listing.content.decode()
    repair_url = reverse("admin:outages_outage_repair", args=[outage.pk])
    assert client.post(repair_url, {"note": "熔接完成"}).status_code == 302
    assert Outage.objects.get().state == OutageState.REPAIRED
    again = client.post(repair_url, {"note": "again"}, follow=True)
    assert "already marked repaired" in again.content.decode()
