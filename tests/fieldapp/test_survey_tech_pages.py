"""The rework loop on the technician's phone (R31, R32): the order shows in the list with
its contact promise, the contact step works in rework, and "complaint resolved" with a
resolution note sends the customer a new survey. After a reassignment (R33) the previous
technician no longer sees the order (R41)."""

from __future__ import annotations

import pytest
from django.urls import reverse

from notifications.models import Notification
from surveys.models import ReworkOutcome, ReworkRound, Survey, SurveyStatus
from tests.conftest import make_technician
from workorders.models import ContactAttempt, State, WorkOrder


def post(client, order, name, **data):
    return client.post(reverse("tech:step", args=[order.pk, name]),
                       {"version": order.version, **data})


@pytest.fixture
def rework(make_order, alice) -> WorkOrder:
    return make_order(State.REWORK, technician=alice)


def test_a_rework_order_is_on_the_technicians_list_with_its_contact_promise(alice_client,
                                                                          rework):
    # R31
    page = alice_client.get(reverse("tech:today"))
    assert page.status_code == 200
    rows = page.context["rows"]
    assert [row["order"].pk for row in rows] == [rework.pk]
    assert rows[0]["clock"] is not None and rows[0]["clock"].rule == "R31"


def test_the_order_page_offers_contact_and_complaint_resolved(alice_client, rework):
    page = alice_client.get(reverse("tech:order", args=[rework.pk]))
    html = page.content.decode()
    assert 'data-step="contact"' in html and 'data-step="rework-done"' in html
    # R31: the complaint the technician has to put right
    assert 'data-rework-round="1"' in html and "网速慢 still slow" in html


def test_the_technician_logs_the_contact_and_resolves_the_complaint(alice_client, rework,
                                                                    alice):
    # R31, R32
    response = post(alice_client, rework, "contact", channel="phone", outcome="reached",
                    note="约好下午上门")
    assert response.status_code == 302
    assert ContactAttempt.objects.filter(order=rework, note="约好下午上门").exists()
    rework = WorkOrder.objects.get(pk=rework.pk)
    response = post(alice_client, rework, "rework-done", note="更换了分光器端口")
    assert response.status_code == 302
    order = WorkOrder.objects.get(pk=rework.pk)
    assert order.state == State.SURVEY_PENDING
    round_ = ReworkRound.objects.get(order=order)
    assert round_.resolution_note == "更换了分光器端口"
    assert round_.outcome == ReworkOutcome.RESOLVED and round_.contacted_at is not None
    new = Survey.objects.get(order=order, status=SurveyStatus.PENDING)
    assert new.round == 1
    assert Notification.objects.filter(order=order, kind="survey",
                                       dedupe_key=f"survey:{new.pk}").exists()


def test_resolving_needs_a_note(alice_client, rework):
    response = post(alice_client, rework, "rework-done", note="")
    assert response.status_code == 400
    assert WorkOrder.objects.get(pk=rework.pk).state == State.REWORK


def test_after_reassignment_only_the_new_technician_sees_the_order(make_order, alice, east,
                                                                   alice_client):
    # R33, R41
    from django.test import Client

    from surveys import services

    carol = make_technician("carol", areas=[east], full_name="Carol Zhao")
    order = make_order(State.REWORK, technician=alice)
    order = WorkOrder.objects.get(pk=order.pk)
    order = services.work_order_resolve_rework(order=order, by=alice.user, note="fixed")
    services.survey_answer(survey=Survey.objects.get(order=order, status="pending"), by=None,
                           channel="sms", satisfied=False)
    assert WorkOrder.objects.get(pk=order.pk).technician == carol
    assert alice_client.get(reverse("tech:order", args=[order.pk])).status_code == 404
    carol_client = Client()
    carol_client.force_login(carol.user)
    page = carol_client.get(reverse("tech:order", args=[order.pk]))
    assert page.status_code == 200 and 'data-step="rework-done"' in page.content.decode()
