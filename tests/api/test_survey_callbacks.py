"""The callback queue in the API (R30): list the callbacks to make, record the result
through the same answering service as the customer's link; technicians and read-only
clients are refused with problem+json."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine

from fieldops import clock
from surveys.models import AnswerChannel, Callback, CallbackStatus, Survey, SurveyStatus
from surveys.services import callbacks_open_due
from workorders.events import OrderAction
from workorders.models import State, WorkOrder, WorkOrderEvent


@pytest.fixture
def due_callback(make_order, alice) -> Callback:
    order = make_order(State.SURVEY_PENDING, technician=alice)
    later = Survey.objects.get(order=order).callback_due_at + dt.timedelta(minutes=1)
    with time_machine.travel(later, tick=False):
        callbacks_open_due()
    return Callback.objects.get(order=order)


def test_the_call_centre_lists_the_callbacks_to_make(cc, due_callback):
    # R30
    response = cc.get("callbacks/")
    assert response.status_code == 200, response.body
    [row] = response.body["results"]
    order = due_callback.order
    assert row["id"] == due_callback.pk and row["order"] == order.pk
    assert row["order_number"] == order.number and row["status"] == "open"
    assert row["contact_phone"] == order.contact_phone  # the agent calls this number (R40)
    assert row["technician"]["name"] == "Alice Wang"
    assert row["survey"]["round"] == 0 and row["survey"]["status"] == "pending"
    assert response.body["next"] is None


def test_reporting_clients_see_the_queue_with_masked_phones(bi, due_callback):
    # R40
    row = bi.get("callbacks/").body["results"][0]
    assert row["contact_phone"] != due_callback.order.contact_phone
    assert "*" in row["contact_phone"]


def test_the_callback_list_pages_and_filters(cc, make_order, alice, due_callback):
    second = make_order(State.SURVEY_PENDING, technician=alice)
    later = Survey.objects.get(order=second).callback_due_at + dt.timedelta(minutes=1)
    with time_machine.travel(later, tick=False):
        callbacks_open_due()
    first_page = cc.get("callbacks/", page_size=1)
    assert len(first_page.body["results"]) == 1 and first_page.body["next"]
    second_page = cc.get(first_page.body["next"])
    assert [r["order"] for r in first_page.body["results"] + second_page.body["results"]] == [
        due_callback.order_id, second.pk]
    assert cc.get("callbacks/", status="done").body["results"] == []
    assert cc.get("callbacks/", area="NOWHERE").body["results"] == []
    assert cc.get("callbacks/", status="later").status_code == 400


def test_recording_the_result_answers_the_survey(cc, due_callback):
    # R30 -> R29: satisfied closes the order
    response = cc.post(f"callbacks/{due_callback.pk}/result/",
                       {"satisfied": True, "punctuality": 5, "conduct": 4, "result": 5,
                        "comment": "回访满意"})
    assert response.status_code == 200, response.body
    assert response.body["status"] == "done" and response.body["order_state"] == State.CLOSED
    survey = Survey.objects.get(pk=due_callback.survey_id)
    assert survey.status == SurveyStatus.ANSWERED and survey.channel == AnswerChannel.API
    assert (survey.punctuality, survey.conduct, survey.result) == (5, 4, 5)
    event = WorkOrderEvent.objects.get(order=due_callback.order, action=OrderAction.CLOSE_SATISFIED)
    assert event.payload["channel"] == "api" and event.actor is not None


def test_an_unsatisfied_callback_starts_rework(cc, due_callback):
    # R31
    response = cc.post(f"callbacks/{due_callback.pk}/result/",
                       {"satisfied": False, "comment": "还是掉线"})
    assert response.status_code == 200
    order = WorkOrder.objects.get(pk=due_callback.order_id)
    assert order.state == State.REWORK and order.rework_round == 1


def test_a_callback_is_recorded_once(cc, due_callback):
    cc.post(f"callbacks/{due_callback.pk}/result/", {"satisfied": True})
    again = cc.post(f"callbacks/{due_callback.pk}/result/", {"satisfied": False})
    assert again.status_code == 409
    assert again["Content-Type"].startswith("application/problem+json")
    assert again.body["code"] == "already_answered"


@pytest.mark.parametrize("body", [{"satisfied": "yes"}, {"satisfied": True, "result": 6},
                                  {"satisfied": True, "mood": "ok"}, {}])
def test_a_bad_result_is_a_400(cc, due_callback, body):
    response = cc.post(f"callbacks/{due_callback.pk}/result/", body)
    assert response.status_code == 400
    assert response["Content-Type"].startswith("application/problem+json")
    assert Callback.objects.get(pk=due_callback.pk).status == CallbackStatus.OPEN


def test_an_unknown_callback_is_a_404(cc, reference_data):
    response = cc.post("callbacks/999999/result/", {"satisfied": True})
    assert response.status_code == 404


def test_technicians_are_refused(as_session, alice, due_callback):
    # R30 is the call-centre's; R41
    tech = as_session(alice.user)
    assert tech.get("callbacks/").status_code == 403
    response = tech.post(f"callbacks/{due_callback.pk}/result/", {"satisfied": True})
    assert response.status_code == 403
    assert response["Content-Type"].startswith("application/problem+json")


def test_read_only_clients_may_not_record_results(bi, due_callback):
    response = bi.post(f"callbacks/{due_callback.pk}/result/", {"satisfied": True})
    assert response.status_code == 403
    assert Callback.objects.get(pk=due_callback.pk).status == CallbackStatus.OPEN


def test_the_order_action_records_ratings_too(cc, make_order, alice):
    # R30 through the order's own action, same service
    order = make_order(State.SURVEY_PENDING, technician=alice)
    response = cc.post(f"work-orders/{order.pk}/callback-survey/",
                       {"satisfied": False, "result": 2, "comment": "慢"})
    assert response.status_code == 200, response.body
    assert response.body["state"] == State.REWORK
    survey = Survey.objects.get(order=order)
    assert survey.result == 2 and survey.channel == AnswerChannel.API
    assert clock.now() >= survey.answered_at


def test_a_call_not_answered_is_counted_and_the_callback_stays_open(cc, due_callback):
    # R30
    response = cc.post(f"callbacks/{due_callback.pk}/not-reached/", {"note": "关机"})
    assert response.status_code == 200, response.body
    assert response.body["status"] == "open" and response.body["attempts"] == 1
    assert response.body["note"] == "关机"
    assert cc.get("callbacks/").body["results"][0]["attempts"] == 1
    done = cc.post(f"callbacks/{due_callback.pk}/result/", {"satisfied": True})
    assert done.status_code == 200
    late = cc.post(f"callbacks/{due_callback.pk}/not-reached/", {})
    assert late.status_code == 409


def test_technicians_may_not_record_unanswered_calls(as_session, alice, due_callback):
    response = as_session(alice.user).post(f"callbacks/{due_callback.pk}/not-reached/", {})
    assert response.status_code == 403
