"""The desk's order history shows each event's details in words (issue 14: no JSON, no
internal codes or ids on the console), from the payload the event log keeps (R42)."""

from __future__ import annotations

import json

import pytest
from django.urls import reverse
from django.utils import translation
from django.utils.html import escape

from console.history import details
from workorders.models import State, WorkOrderEvent

pytestmark = pytest.mark.django_db


def test_a_payload_reads_as_labels_and_values(alice):
    with translation.override("en"):
        text = details({"technician": alice.pk, "automatic": True, "channel": "hotline",
                        "kind": "repair", "report_hash": "ab" * 32, "survey": 7,
                        "start": "2026-12-07T06:00:00+00:00", "precision": "exact",
                        "items": ["cleaver", "shoe_covers"], "conduct": None,
                        "report": {"work_done": "spliced", "fault_cause": "line",
                                   "download_mbps": 300}})
    assert text == ("Technician: Alice Wang; Chosen automatically: Yes; Channel: Hotline; "
                    "Kind: Repair; From: 2026-12-07 14:00; Booked as: Exact time; "
                    "Kit checked: Fibre cleaver, Shoe covers; Report: Work done: spliced; "
                    "Fault cause: Line; Download (Mbit/s): 300")


def test_the_order_page_shows_the_details_in_words_not_json(client, dispatcher, make_order,
                                                             alice):
    order = make_order(State.SCHEDULED, technician=alice)
    events = list(WorkOrderEvent.objects.filter(order=order).exclude(payload={}))
    assert events
    client.force_login(dispatcher)
    html = client.get(reverse("admin:workorders_workorder_change", args=[order.pk]),
                      HTTP_ACCEPT_LANGUAGE="en").content.decode()
    with translation.override("en"):
        for event in events:
            assert escape(details(event.payload)) in html
            assert escape(json.dumps(event.payload)) not in html
            assert escape(json.dumps(event.payload, ensure_ascii=False)) not in html
    assert f"Technician: {alice.display_name}" in html
