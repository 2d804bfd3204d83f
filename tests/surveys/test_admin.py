"""The call-centre's callback queue in the admin (R30), the read-only survey records and
the survey/rework/follow-up history on the work order's page (R28-R33, R42)."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine
from django.urls import reverse

from surveys import services
from surveys.models import AnswerChannel, Callback, CallbackStatus, Survey, SurveyStatus
from workorders.events import OrderAction
from workorders.models import State, WorkOrder

QUEUE = reverse("admin:surveys_callback_changelist")


def record_url(callback: Callback) -> str:
    return reverse("admin:surveys_callback_record", args=[callback.pk])


@pytest.fixture
def callback(make_order, alice) -> Callback:
    order = make_order(State.SURVEY_PENDING, technician=alice)
    later = Survey.objects.get(order=order).callback_due_at + dt.timedelta(minutes=1)
    with time_machine.travel(later, tick=False):
        services.callbacks_open_due()
    return Callback.objects.get(order=order)


def test_the_queue_shows_the_callbacks_to_make(client, agent, callback):
    # R30
    client.force_login(agent)
    page = client.get(QUEUE)
    assert page.status_code == 200
    assert [c.pk for c in page.context["cl"].result_list] == [callback.pk]
    html = page.content.decode()
    assert record_url(callback) in html
    assert callback.order.contact_phone in html  # the agent calls this number (R40)
    assert client.get(QUEUE, {"status": "done"}).context["cl"].result_count == 0
    assert client.get(QUEUE, {"status": "all"}).context["cl"].result_count == 1


def test_supervisors_read_the_queue_with_masked_phones(client, supervisor, callback):
    # R40
    client.force_login(supervisor)
    page = client.get(QUEUE)
    assert page.status_code == 200
    assert callback.order.contact_phone not in page.content.decode()
    assert client.get(record_url(callback)).status_code == 403


def test_the_agent_records_the_result_through_the_service(client, agent, callback):
    # R30: recorded the same way as the customer's own answer
    client.force_login(agent)
    assert client.get(record_url(callback)).status_code == 200
    response = client.post(record_url(callback), {"satisfied": "no", "result": "2",
                                                  "comment": "网速还是慢"})
    assert response.status_code == 302
    callback.refresh_from_db()
    assert callback.status == CallbackStatus.DONE and callback.done_by == agent
    survey = Survey.objects.get(pk=callback.survey_id)
    assert survey.status == SurveyStatus.ANSWERED and survey.channel == AnswerChannel.CALLBACK
    assert survey.result == 2 and survey.punctuality is None
    assert WorkOrder.objects.get(pk=callback.order_id).state == State.REWORK
    again = client.post(record_url(callback), {"satisfied": "yes"}, follow=True)
    assert again.status_code == 200
    assert WorkOrder.objects.get(pk=callback.order_id).state == State.REWORK


def test_the_order_page_shows_surveys_rework_rounds_and_follow_ups(client, dispatcher,
                                                                   make_order, alice, agent):
    # R28, R31-R33: visible on the order
    order = make_order(State.REWORK, technician=alice)
    services.follow_up_log(order=order, by=agent, kind="complaint", text="师傅态度不好")
    client.force_login(dispatcher)
    page = client.get(reverse("admin:workorders_workorder_change", args=[order.pk]))
    assert page.status_code == 200
    html = page.content.decode()
    assert "师傅态度不好" in html
    names = {type(inline).__name__ for inline in page.context["inline_admin_formsets"]
             for inline in [inline.opts]}
    assert {"SurveyInline", "ReworkRoundInline", "FollowUpInline"} <= names


def test_survey_and_rework_records_are_read_only(client, dispatcher, make_order, alice):
    order = make_order(State.REWORK, technician=alice)
    client.force_login(dispatcher)
    survey = Survey.objects.get(order=order)
    url = reverse("admin:surveys_survey_change", args=[survey.pk])
    page = client.get(url)
    assert page.status_code == 200
    assert survey.nonce not in page.content.decode()  # the link's secret is not shown
    assert client.post(url, {"satisfied": "on"}).status_code == 403
    assert client.get(reverse("admin:surveys_reworkround_changelist")).status_code == 200


def test_a_call_that_does_not_reach_the_customer_keeps_the_callback_open(client, agent,
                                                                          callback):
    # R30: counted, logged, still in the queue
    client.force_login(agent)
    response = client.post(record_url(callback), {"not_reached": "1", "comment": "无人接听"})
    assert response.status_code == 302
    callback.refresh_from_db()
    assert callback.status == CallbackStatus.OPEN and callback.attempts == 1
    assert callback.order.events.filter(action=OrderAction.CALLBACK_NOT_REACHED,
                                        reason="无人接听").count() == 1
    assert "1" in client.get(record_url(callback)).content.decode()
