"""R28 (首问负责制): questions and complaints logged, owned and tracked until answered."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine

from fieldops import clock
from surveys import services
from surveys.models import FollowUp, FollowUpStatus
from workorders.errors import NotPermitted, RuleViolation
from workorders.models import State, WorkOrderEvent


def test_a_technician_logs_a_question_and_owns_it(make_order, alice):
    # R28: first asked is responsible
    order = make_order(State.ON_SITE, technician=alice)
    follow_up = services.follow_up_log(order=order, by=alice.user, kind="question",
                                       text="IPTV 套餐能否升级?")
    assert follow_up.owner == alice.user and follow_up.status == FollowUpStatus.OPEN
    assert follow_up.due_at == follow_up.created_at + dt.timedelta(hours=24)
    event = WorkOrderEvent.objects.filter(order=order).last()
    assert event.action == "follow_up_logged" and event.from_state == event.to_state


def test_another_technician_cannot_log_on_someone_elses_order(make_order, alice, bob):
    order = make_order(State.ON_SITE, technician=alice)
    with pytest.raises(NotPermitted):
        services.follow_up_log(order=order, by=bob.user, kind="question", text="?")


def test_a_follow_up_needs_text_and_a_known_kind(make_order, agent):
    order = make_order()
    with pytest.raises(RuleViolation) as err:
        services.follow_up_log(order=order, by=agent, kind="question", text=" ")
    assert err.value.field == "text"
    with pytest.raises(RuleViolation):
        services.follow_up_log(order=order, by=agent, kind="praise", text="好")


def test_answering_twice_is_refused(make_order, agent):
    order = make_order()
    follow_up = services.follow_up_log(order=order, by=agent, kind="complaint", text="态度差")
    services.follow_up_answer(follow_up=follow_up, by=agent, answer="已致歉并回访")
    with pytest.raises(services.AlreadyAnswered):
        services.follow_up_answer(follow_up=follow_up, by=agent, answer="again")
    follow_up.refresh_from_db()
    assert follow_up.answer == "已致歉并回访" and follow_up.answered_by == agent


def test_the_call_centre_logs_lists_and_answers_through_the_api(cc, make_order, call_centre):
    order = make_order()
    created = cc.post(f"work-orders/{order.pk}/follow-ups/",
                      {"kind": "complaint", "text": "师傅迟到一小时"})
    assert created.status_code == 201, created.body
    assert created.body["owner"] == call_centre.user.username
    listed = cc.get(f"work-orders/{order.pk}/follow-ups/").body
    assert [f["id"] for f in listed] == [created.body["id"]]
    assert [f["id"] for f in cc.get("follow-ups/", status="open", mine="true")
            .body["results"]] == [created.body["id"]]
    answered = cc.post(f"follow-ups/{created.body['id']}/answer/", {"answer": "已致歉"})
    assert answered.status_code == 200 and answered.body["status"] == "answered"
    again = cc.post(f"follow-ups/{created.body['id']}/answer/", {"answer": "x"})
    assert again.status_code == 409 and again.body["code"] == "already_answered"


def test_overdue_follow_ups_are_listed(cc, make_order):
    order = make_order()
    start = clock.now()
    with time_machine.travel(start, tick=False):
        late = cc.post(f"work-orders/{order.pk}/follow-ups/",
                       {"kind": "question", "text": "什么时候来?"}).body
    with time_machine.travel(start + dt.timedelta(hours=25), tick=False):
        cc.post(f"work-orders/{order.pk}/follow-ups/", {"kind": "question", "text": "新问题"})
        overdue = cc.get("follow-ups/", overdue="true").body["results"]
    assert [f["id"] for f in overdue] == [late["id"]]


def test_a_reporting_client_reads_but_cannot_log(bi, make_order, agent):
    order = make_order()
    services.follow_up_log(order=order, by=agent, kind="question", text="?")
    assert len(bi.get(f"work-orders/{order.pk}/follow-ups/").body) == 1
    response = bi.post(f"work-orders/{order.pk}/follow-ups/", {"kind": "question", "text": "?"})
    assert response.status_code == 403
    assert FollowUp.objects.count() == 1
