"""The survey figures the dashboards read (R39), on hand-built rows: satisfaction rate,
rework rate, rounds per rework and the callback backlog, with period, area and technician
filters."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
import time_machine

from surveys import selectors
from surveys.models import Callback, CallbackStatus, ReworkRound, Survey, SurveyStatus
from workorders.models import State

SH = ZoneInfo("Asia/Shanghai")
NOV = dt.datetime(2026, 11, 1, tzinfo=SH)
DEC = dt.datetime(2026, 12, 1, tzinfo=SH)


@pytest.fixture
def rows(make_order, alice, bob, west):
    """Eight answers in November and one in December, in two areas:

    order   tech   round 0    round 1    round 2   rework rounds
    o1      alice  yes
    o2      alice  no         yes                  1
    o3      alice  no         no         yes       2
    o4      alice  yes (Dec)
    o5      bob    no         pending              1 (west)
    o6      bob    yes                             (west)
    """
    orders = {f"o{i}": make_order(State.ACCEPTED) for i in range(1, 7)}
    for name in ("o5", "o6"):
        orders[name].area = west
        orders[name].save(update_fields=["area"])
    n = iter(range(1000))

    def survey(order, tech, round_, satisfied, when, status=SurveyStatus.ANSWERED):
        return Survey.objects.create(
            order=order, round=round_, technician=tech, status=status, created_at=when,
            sms_not_before=when, callback_due_at=when + dt.timedelta(days=1),
            nonce=f"n{next(n)}", expires_at=when + dt.timedelta(days=3),
            answered_at=when if status == SurveyStatus.ANSWERED else None,
            satisfied=satisfied if status == SurveyStatus.ANSWERED else None)

    def rework(order, number, trigger, tech):
        return ReworkRound.objects.create(order=order, number=number, opened_at=trigger.answered_at,
                                          survey=trigger, technician=tech)

    day = lambda d: NOV + dt.timedelta(days=d)  # noqa: E731
    survey(orders["o1"], alice, 0, True, day(1))
    s = survey(orders["o2"], alice, 0, False, day(2))
    rework(orders["o2"], 1, s, alice)
    survey(orders["o2"], alice, 1, True, day(3))
    s = survey(orders["o3"], alice, 0, False, day(4))
    rework(orders["o3"], 1, s, alice)
    s = survey(orders["o3"], alice, 1, False, day(5))
    rework(orders["o3"], 2, s, alice)
    survey(orders["o3"], alice, 2, True, day(6))
    survey(orders["o4"], alice, 0, True, DEC + dt.timedelta(days=1))
    s = survey(orders["o5"], bob, 0, False, day(7))
    rework(orders["o5"], 1, s, bob)
    pending = survey(orders["o5"], bob, 1, None, day(8), status=SurveyStatus.PENDING)
    survey(orders["o6"], bob, 0, True, day(9))
    return {"orders": orders, "pending": pending}


def test_satisfaction_rate_counts_every_answer_in_the_period(rows, alice, east, west):
    # R39
    november = selectors.satisfaction_rate(start=NOV, end=DEC)
    assert (november.part, november.whole) == (4, 8)
    assert november.value == 0.5
    everything = selectors.satisfaction_rate()
    assert (everything.part, everything.whole) == (5, 9)
    alice_nov = selectors.satisfaction_rate(start=NOV, end=DEC, technician=alice)
    assert (alice_nov.part, alice_nov.whole) == (3, 6)
    west_all = selectors.satisfaction_rate(area=west)
    assert (west_all.part, west_all.whole) == (1, 2)


def test_rework_rate_is_first_answers_not_satisfied(rows, alice, bob, west):
    # R31, R39
    november = selectors.rework_rate(start=NOV, end=DEC)
    assert (november.part, november.whole) == (3, 5)  # o2, o3, o5 of o1, o2, o3, o5, o6
    assert selectors.rework_rate(start=DEC).value == 0.0
    bob_rate = selectors.rework_rate(technician=bob)
    assert (bob_rate.part, bob_rate.whole) == (1, 2)


def test_rounds_per_rework_averages_the_rounds_of_each_reworked_order(rows, alice, east):
    # R33
    assert selectors.rounds_per_rework() == pytest.approx((1 + 2 + 1) / 3)
    assert selectors.rounds_per_rework(area=east) == pytest.approx(1.5)
    assert selectors.rounds_per_rework(technician=alice) == pytest.approx(1.5)
    assert selectors.rounds_per_rework(start=DEC) is None


def test_no_answers_give_no_rate(reference_data):
    rate = selectors.satisfaction_rate()
    assert (rate.part, rate.whole, rate.value) == (0, 0, None)


def test_the_callback_backlog_counts_open_callbacks_and_the_overdue(rows, bob, alice, west):
    # R30
    pending = rows["pending"]
    opened = NOV + dt.timedelta(days=9)
    Callback.objects.create(survey=pending, order=pending.order, created_at=opened)
    done_survey = Survey.objects.filter(round=0, technician=alice).first()
    Callback.objects.create(survey=done_survey, order=done_survey.order, created_at=opened,
                            status=CallbackStatus.DONE)
    backlog = selectors.callback_backlog(now=opened + dt.timedelta(hours=2))
    assert (backlog.open, backlog.overdue, backlog.oldest) == (1, 0, opened)
    later = selectors.callback_backlog(now=opened + dt.timedelta(days=2))
    assert later.overdue == 1
    assert selectors.callback_backlog(technician=alice).open == 0
    assert selectors.callback_backlog(area=west).open == 1


def test_the_follow_up_backlog_counts_open_and_overdue_questions(make_order, alice, agent,
                                                                 west):
    # R28: tracked until answered
    from surveys import services

    order = make_order(State.ON_SITE, technician=alice)
    start = dt.datetime(2026, 11, 24, 10, 0, tzinfo=SH)
    with time_machine.travel(start, tick=False):
        question = services.follow_up_log(order=order, by=alice.user, kind="question",
                                          text="宽带能不能提速到 1000M?")
        services.follow_up_log(order=order, by=agent, kind="complaint", text="上次师傅迟到",
                               due_at=start + dt.timedelta(hours=2))
    now = start + dt.timedelta(hours=3)
    backlog = selectors.follow_up_backlog(now=now)
    assert (backlog.open, backlog.overdue, backlog.oldest) == (2, 1, start)
    assert selectors.follow_up_backlog(owner=alice.user, now=now).open == 1
    assert selectors.follow_up_backlog(area=west, now=now).open == 0
    services.follow_up_answer(follow_up=question, by=alice.user, answer="可以, 已转营业厅")
    assert selectors.follow_up_backlog(now=now).open == 1
