"""The customer's link and the call-centre's callback answering the same survey at the
same moment, and two beat runs opening callbacks at once: exactly one wins (R29, R30)."""

from __future__ import annotations

import datetime as dt

import psycopg
import pytest
import time_machine
from django.db import connection

from surveys import services
from surveys.models import AnswerChannel, Callback, Survey, SurveyStatus
from tests.concurrency import race
from workorders.errors import DomainError
from workorders.events import OrderAction
from workorders.models import State, WorkOrder, WorkOrderEvent

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def test_the_link_and_a_callback_at_once_record_one_answer(make_order, alice, agent):
    order = make_order(State.SURVEY_PENDING, technician=alice)
    survey = Survey.objects.get(order=order)
    results = race([
        lambda: services.survey_answer(survey=survey, by=None, channel=AnswerChannel.SMS,
                                       satisfied=True),
        lambda: services.survey_answer(survey=survey, by=agent,
                                       channel=AnswerChannel.CALLBACK, satisfied=False),
    ])
    wins = [r for r in results if isinstance(r, Survey)]
    refused = [r for r in results if isinstance(r, DomainError)]
    assert len(wins) == 1 and len(refused) == 1, results
    assert refused[0].status == 409
    order = WorkOrder.objects.get(pk=order.pk)
    answered = Survey.objects.get(pk=survey.pk)
    assert answered.status == SurveyStatus.ANSWERED
    assert order.state == (State.CLOSED if answered.satisfied else State.REWORK)
    answers = WorkOrderEvent.objects.filter(order=order,
                                            action__in=["close_satisfied", "start_rework"])
    assert answers.count() == 1


def test_two_sweeps_at_once_open_one_callback(make_order, alice):
    # R30: run it twice, concurrently
    orders = [make_order(State.SURVEY_PENDING, technician=alice) for _ in range(3)]
    later = max(s.callback_due_at for s in Survey.objects.all()) + dt.timedelta(minutes=1)
    with time_machine.travel(later, tick=False):
        results = race([services.callbacks_open_due, services.callbacks_open_due])
    assert sum(results) == 3, results  # each due survey claimed by exactly one sweep
    assert Callback.objects.count() == 3
    for order in orders:
        assert WorkOrderEvent.objects.filter(
            order=order, action=OrderAction.CALLBACK_OPENED).count() == 1


def test_an_order_being_changed_is_left_to_the_next_run(make_order, alice):
    """R30 under the lock order of every order change (the order, then its rows): a run
    that meets an order another transaction holds skips it, and the next run opens its
    callback."""
    order = make_order(State.SURVEY_PENDING, technician=alice)
    later = Survey.objects.get(order=order).callback_due_at + dt.timedelta(minutes=1)
    params = connection.get_connection_params()
    with psycopg.connect(**params, autocommit=False) as other:
        other.execute("SELECT 1 FROM workorders_workorder WHERE id = %s FOR NO KEY UPDATE",
                      [order.pk])
        with time_machine.travel(later, tick=False):
            assert services.callbacks_open_due() == 0
        other.rollback()
    with time_machine.travel(later, tick=False):
        assert services.callbacks_open_due() == 1
    assert Callback.objects.filter(order=order).count() == 1
