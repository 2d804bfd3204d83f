"""The callback survey and the rework loop with a controllable clock (R29-R33): the SMS
is queued on completion and held through the quiet hours, an unanswered survey becomes a
callback after 24 h, satisfied closes, unsatisfied starts a timed rework round, the second
one tells the supervisor and sends another technician, and every round is kept."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
import time_machine

from appointments import services as booking_services
from notifications.delivery import flush_due
from notifications.models import Channel, Notification, Status
from sla import engine
from sla.timers import Timer
from surveys import selectors, services
from surveys.models import (
    AnswerChannel,
    Callback,
    CallbackStatus,
    ReworkOutcome,
    ReworkRound,
    Survey,
    SurveyStatus,
)
from surveys.tasks import open_due_callbacks
from tests.conftest import make_technician
from workorders.errors import NotPermitted, RuleViolation
from workorders.events import OrderAction
from workorders.models import ContactAttempt, State, WorkOrder, WorkOrderEvent

SH = ZoneInfo("Asia/Shanghai")
DAY = dt.datetime(2026, 11, 24, 15, 0, tzinfo=SH)  # a Tuesday afternoon
NIGHT = dt.datetime(2026, 11, 24, 22, 30, tzinfo=SH)  # inside the 21:00-08:00 quiet hours


def at(moment: dt.datetime):
    return time_machine.travel(moment, tick=False)


def survey_sms(order: WorkOrder) -> Notification:
    return Notification.objects.get(order=order, kind="survey",
                                    dedupe_key=f"survey:{order.surveys.latest('pk').pk}")


def pending(order: WorkOrder) -> Survey:
    return Survey.objects.get(order=order, status=SurveyStatus.PENDING)


def answer(order: WorkOrder, satisfied: bool, **ratings) -> WorkOrder:
    """The customer answers the open survey through the link."""
    services.survey_answer(survey=pending(order), by=None, channel=AnswerChannel.SMS,
                           satisfied=satisfied, **ratings)
    return WorkOrder.objects.get(pk=order.pk)


def resolve(order: WorkOrder, note: str = "换了新光猫 replaced the ONU") -> WorkOrder:
    order = WorkOrder.objects.get(pk=order.pk)
    return services.work_order_resolve_rework(order=order, by=order.technician.user, note=note)


@pytest.fixture
def carol(east):
    """A second technician in alice's area: R33's "different technician"."""
    return make_technician("carol", areas=[east], full_name="Carol Zhao")


# --- R29: the automatic survey ------------------------------------------------------------

def test_completion_queues_the_survey_sms_with_a_link(make_order, alice):
    # R29
    with at(DAY):
        order = make_order(State.SURVEY_PENDING, technician=alice)
    survey = pending(order)
    assert survey.round == 0 and survey.technician == alice
    sms = survey_sms(order)
    assert sms.channel == Channel.SMS and sms.address == order.contact_phone
    assert "/s/" in sms.body and order.number in sms.body
    assert sms.next_attempt_at == DAY  # daytime: goes out at once
    assert survey.callback_due_at == DAY + dt.timedelta(hours=24)
    sent = WorkOrderEvent.objects.get(order=order, action=OrderAction.START_SURVEY)
    assert sent.payload["survey"] == survey.pk
    assert dt.datetime.fromisoformat(sent.payload["sms_not_before"]) == DAY


def test_a_survey_completed_at_night_is_held_until_the_quiet_hours_end(make_order, alice):
    # R29: not 21:00-08:00
    with at(NIGHT):
        order = make_order(State.SURVEY_PENDING, technician=alice)
        sms = survey_sms(order)
        morning = dt.datetime(2026, 11, 25, 8, 0, tzinfo=SH)
        assert sms.next_attempt_at == morning
        flush_due()  # the visit's own SMS go; the survey's waits
    sms.refresh_from_db()
    assert sms.status == Status.PENDING
    with at(dt.datetime(2026, 11, 25, 7, 59, tzinfo=SH)):
        assert flush_due() == 0
    with at(dt.datetime(2026, 11, 25, 8, 0, 30, tzinfo=SH)):
        assert flush_due() == 1
    sms.refresh_from_db()
    assert sms.status == Status.SENT and sms.sent_at >= morning
    # The customer's day to answer starts when the SMS went out.
    assert pending(order).callback_due_at == morning + dt.timedelta(hours=24)


@pytest.mark.parametrize(("local", "expected"), [
    ((20, 59), (0, 20, 59)), ((21, 0), (1, 8, 0)), ((23, 59), (1, 8, 0)), ((0, 0), (0, 8, 0)),
    ((7, 59), (0, 8, 0)), ((8, 0), (0, 8, 0)), ((12, 0), (0, 12, 0)),
])
def test_quiet_hours_wrap_midnight(local, expected):
    # R29
    moment = dt.datetime(2026, 11, 24, *local, tzinfo=SH)
    days, hour, minute = expected
    want = dt.datetime(2026, 11, 24 + days, hour, minute, tzinfo=SH)
    assert services.sms_not_before(moment) == want


def test_quiet_hours_are_a_setting(settings):
    # R29: configurable; empty means none
    settings.SURVEY_QUIET_HOURS = "12:00-14:00"
    noon = dt.datetime(2026, 11, 24, 12, 30, tzinfo=SH)
    assert services.sms_not_before(noon) == dt.datetime(2026, 11, 24, 14, 0, tzinfo=SH)
    assert services.sms_not_before(NIGHT) == NIGHT
    settings.SURVEY_QUIET_HOURS = ""
    assert services.sms_not_before(noon) == noon


# --- R30: no answer, a callback ------------------------------------------------------------

def test_no_answer_in_24_hours_opens_one_callback_and_running_it_twice_opens_none(
        make_order, alice):
    # R30
    with at(DAY):
        order = make_order(State.SURVEY_PENDING, technician=alice)
    with at(DAY + dt.timedelta(hours=23, minutes=59)):
        assert open_due_callbacks() == 0
    with at(DAY + dt.timedelta(hours=24)):
        assert open_due_callbacks() == 1
        assert open_due_callbacks() == 0  # run it twice
    callback = Callback.objects.get(order=order)
    assert callback.status == CallbackStatus.OPEN and callback.survey == pending(order)
    assert WorkOrderEvent.objects.filter(
        order=order, action=OrderAction.CALLBACK_OPENED).count() == 1
    assert selectors.callback_backlog().open == 1


def test_the_callback_result_is_recorded_like_the_customers_answer(make_order, alice, agent):
    # R30
    with at(DAY):
        order = make_order(State.SURVEY_PENDING, technician=alice)
    with at(DAY + dt.timedelta(hours=25)):
        open_due_callbacks()
        callback = Callback.objects.get(order=order)
        done = services.callback_record(callback=callback, by=agent, satisfied=True,
                                        punctuality=4, comment="电话回访满意")
    assert done.status == CallbackStatus.DONE and done.done_by == agent
    survey = done.survey
    assert survey.status == SurveyStatus.ANSWERED and survey.channel == AnswerChannel.CALLBACK
    assert survey.answered_by == agent and survey.punctuality == 4 and survey.conduct is None
    order.refresh_from_db()
    assert order.state == State.CLOSED
    event = WorkOrderEvent.objects.get(order=order, action=OrderAction.CLOSE_SATISFIED)
    assert event.actor == agent and event.payload["channel"] == "callback"
    assert selectors.callback_backlog().open == 0


def test_a_customer_answering_late_closes_the_open_callback(make_order, alice):
    # R30: the link still works after the callback was opened; the task is then not needed
    with at(DAY):
        order = make_order(State.SURVEY_PENDING, technician=alice)
    with at(DAY + dt.timedelta(hours=30)):
        open_due_callbacks()
        answer(order, True, punctuality=5, conduct=5, result=5)
    assert Callback.objects.get(order=order).status == CallbackStatus.CANCELLED


def test_technicians_may_not_record_callbacks(make_order, alice):
    # R30, R41
    with at(DAY):
        order = make_order(State.SURVEY_PENDING, technician=alice)
    with at(DAY + dt.timedelta(hours=25)):
        open_due_callbacks()
    with pytest.raises(NotPermitted):
        services.callback_record(callback=Callback.objects.get(order=order), by=alice.user,
                                 satisfied=True)


# --- Satisfied closes; unsatisfied: rework with its timer -------------------------------------

def test_a_satisfied_answer_closes_the_order(make_order, alice):
    # R29
    with at(DAY):
        order = make_order(State.SURVEY_PENDING, technician=alice)
        order = answer(order, True, punctuality=5, conduct=4, result=5, comment="很好")
    assert order.state == State.CLOSED and order.closed_at == DAY
    survey = order.surveys.get()
    assert (survey.satisfied, survey.punctuality, survey.conduct, survey.result) == (
        True, 5, 4, 5)
    assert survey.answered_by is None and survey.channel == AnswerChannel.SMS
    event = WorkOrderEvent.objects.get(order=order, action=OrderAction.CLOSE_SATISFIED)
    assert event.actor is None and event.payload["survey"] == survey.pk
    assert event.payload["result"] == 5 and event.reason == "很好"


def test_ratings_outside_1_to_5_are_refused(make_order, alice):
    # R29
    with at(DAY):
        order = make_order(State.SURVEY_PENDING, technician=alice)
    with pytest.raises(RuleViolation):
        answer(order, True, punctuality=6)
    assert pending(order).status == SurveyStatus.PENDING


def test_unsatisfied_starts_rework_with_the_same_technician_and_a_24_hour_timer(
        make_order, alice):
    # R31
    with at(DAY):
        order = make_order(State.SURVEY_PENDING, technician=alice)
        order = answer(order, False, punctuality=2, conduct=4, result=1, comment="网速还是慢")
    assert order.state == State.REWORK and order.technician == alice
    assert order.rework_round == 1
    first = ReworkRound.objects.get(order=order)
    assert (first.number, first.technician, first.outcome) == (1, alice, ReworkOutcome.OPEN)
    assert first.survey.satisfied is False
    timer = Timer.objects.get(order=order, kind="rework_contact")
    assert timer.due_at == DAY + dt.timedelta(hours=24)


def test_a_rework_not_contacted_within_24_hours_is_a_breach(make_order, alice):
    # R31, R38
    with at(DAY):
        order = make_order(State.SURVEY_PENDING, technician=alice)
        answer(order, False)
    with at(DAY + dt.timedelta(hours=25)):
        engine.sweep(now=DAY + dt.timedelta(hours=25))
    timer = Timer.objects.get(order=order, kind="rework_contact")
    assert timer.breached_at == DAY + dt.timedelta(hours=24)


def test_the_technician_contacts_the_customer_in_rework_and_meets_the_timer(make_order,
                                                                            alice):
    # R31: the contact step works in rework, stops the timer and counts for the round
    with at(DAY):
        order = make_order(State.SURVEY_PENDING, technician=alice)
        order = answer(order, False)
    with at(DAY + dt.timedelta(hours=3)):
        order, _attempt = booking_services.work_order_log_contact(
            order=order, by=alice.user, channel=ContactAttempt.Channel.PHONE,
            outcome=ContactAttempt.Outcome.REACHED, note="约好明早上门")
    with at(DAY + dt.timedelta(hours=25)):
        engine.sweep(now=DAY + dt.timedelta(hours=25))
    timer = Timer.objects.get(order=order, kind="rework_contact")
    assert timer.breached_at is None and timer.outcome == "met"
    assert ReworkRound.objects.get(order=order).contacted_at == DAY + dt.timedelta(hours=3)


def test_resolving_keeps_the_note_and_surveys_again(make_order, alice):
    # R32
    with at(DAY):
        order = make_order(State.SURVEY_PENDING, technician=alice)
        order = answer(order, False)
    with at(DAY + dt.timedelta(hours=5)):
        order = resolve(order, "重新熔接光纤 re-spliced the fibre")
    assert order.state == State.SURVEY_PENDING
    first = ReworkRound.objects.get(order=order)
    assert first.outcome == ReworkOutcome.RESOLVED
    assert first.resolution_note == "重新熔接光纤 re-spliced the fibre"
    assert first.resolved_at == DAY + dt.timedelta(hours=5)
    second = pending(order)
    assert second.round == 1
    assert Survey.objects.filter(order=order).count() == 2
    with at(DAY + dt.timedelta(hours=6)):
        order = answer(order, True)
    assert order.state == State.CLOSED
    assert ReworkRound.objects.get(order=order).outcome == ReworkOutcome.SATISFIED


# --- R33: still unsatisfied ---------------------------------------------------------------------

def test_second_unsatisfied_tells_the_supervisor_and_sends_a_different_technician(
        make_order, alice, carol, supervisor):
    # R33
    with at(DAY):
        order = make_order(State.SURVEY_PENDING, technician=alice)
        order = answer(order, False)
        order = resolve(order)
        order = answer(order, False, comment="还是不行")
    assert order.state == State.REWORK and order.rework_round == 2
    assert order.technician == carol
    second = ReworkRound.objects.get(order=order, number=2)
    assert second.technician == carol and second.previous_technician == alice
    assert second.supervisor_notified_at == DAY and second.reassigned_at == DAY
    told = Notification.objects.filter(order=order, kind="rework_repeat")
    assert told.filter(recipient=supervisor).exists()
    assert told.filter(address="role:supervisor").exists()
    event = WorkOrderEvent.objects.get(order=order, action=OrderAction.REASSIGN_REWORK)
    assert event.actor is None and event.payload["previous"] == alice.pk
    # The new technician's contact timer starts with the reassignment (R31 again).
    assert Timer.objects.filter(order=order, kind="rework_contact").exists()


def test_with_nobody_else_free_the_rework_stays_and_the_dispatcher_is_asked(
        make_order, alice, supervisor):
    # R33: no candidate: keep it in rework, tell dispatcher and supervisor
    with at(DAY):
        order = make_order(State.SURVEY_PENDING, technician=alice)
        order = answer(order, False)
        order = resolve(order)
        order = answer(order, False)
    assert order.state == State.REWORK and order.technician == alice
    asked = Notification.objects.filter(order=order, kind="rework_unassigned")
    assert asked.filter(address="role:dispatcher").exists()
    assert asked.filter(recipient=supervisor).exists()


def test_three_unsatisfied_rounds_in_a_row_keep_all_history(make_order, alice, carol, east,
                                                            dispatcher):
    # R31-R33: each round numbered and kept, never a previous technician again
    dave = make_technician("dave", areas=[east], full_name="Dave Sun")
    moment = DAY
    with at(moment):
        order = make_order(State.SURVEY_PENDING, technician=alice)
    holders = []
    for _n in range(3):
        moment += dt.timedelta(hours=2)
        with at(moment):
            order = answer(order, False, comment=f"round {_n}")
            holders.append(order.technician)
            order = resolve(order, f"fix {_n}")
    with at(moment + dt.timedelta(hours=1)):
        order = answer(order, True, result=5)
    assert order.state == State.CLOSED and order.rework_round == 3
    assert holders == [alice, carol, dave]
    rounds = list(ReworkRound.objects.filter(order=order).order_by("number"))
    assert [r.number for r in rounds] == [1, 2, 3]
    assert [r.technician for r in rounds] == [alice, carol, dave]
    assert [r.outcome for r in rounds] == [ReworkOutcome.UNSATISFIED, ReworkOutcome.UNSATISFIED,
                                           ReworkOutcome.SATISFIED]
    assert [r.resolution_note for r in rounds] == ["fix 0", "fix 1", "fix 2"]
    surveys = list(order.surveys.order_by("created_at", "pk"))
    assert [s.round for s in surveys] == [0, 1, 2, 3]
    assert [s.satisfied for s in surveys] == [False, False, False, True]
    actions = list(WorkOrderEvent.objects.filter(order=order).values_list("action", flat=True))
    assert actions.count(OrderAction.START_REWORK) == 3
    assert actions.count(OrderAction.RESOLVE_REWORK) == 3
    assert actions.count(OrderAction.REASSIGN_REWORK) == 2
    assert actions[-1] == OrderAction.CLOSE_SATISFIED
    assert selectors.rounds_per_rework() == 3


# --- The single answering service ----------------------------------------------------------

def test_a_survey_is_answered_once(make_order, alice, agent):
    # R29: the customer's answer and a callback at once: the first wins
    with at(DAY):
        order = make_order(State.SURVEY_PENDING, technician=alice)
        survey = pending(order)
        answer(order, True)
        with pytest.raises(services.AlreadyAnswered):
            services.survey_answer(survey=survey, by=agent, channel=AnswerChannel.CALLBACK,
                                   satisfied=False)


def test_the_desk_and_the_api_action_go_through_the_survey(make_order, alice, agent):
    # R30: work_order_record_survey answers the open survey on the agent's behalf
    with at(DAY):
        order = make_order(State.SURVEY_PENDING, technician=alice)
        order = services.work_order_record_survey(order=order, by=agent, satisfied=False,
                                            comment="不满意", result=2)
    survey = order.surveys.get()
    assert survey.channel == AnswerChannel.CALLBACK and survey.answered_by == agent
    assert survey.result == 2 and order.state == State.REWORK


def test_a_survey_answered_before_the_survey_task_ran_is_still_kept(make_order, alice, agent):
    # R30: the call-centre calls right after completion, before the SMS went out
    with at(DAY):
        order = make_order(State.COMPLETED, technician=alice)
        assert order.state == State.COMPLETED  # the task is queued after commit
        order = services.work_order_record_survey(order=order, by=agent, satisfied=True)
        assert services.work_order_start_survey(order=order).state == State.CLOSED  # then runs
    assert order.state == State.CLOSED
    survey = order.surveys.get()
    assert survey.status == SurveyStatus.ANSWERED and survey.answered_by == agent
    event = WorkOrderEvent.objects.filter(order=order).latest("pk")
    assert (event.action, event.from_state) == ("close_satisfied", State.COMPLETED)
    assert not Notification.objects.filter(order=order, kind="survey").exists()


def test_beat_opens_due_callbacks_periodically(settings):
    # R30: the sweep is on the beat schedule and registered with the worker
    from fieldops.celery import app

    entry = settings.CELERY_BEAT_SCHEDULE["survey-callbacks"]
    assert entry["task"] == "surveys.tasks.open_due_callbacks"
    assert entry["task"] in app.tasks


def test_the_survey_task_run_twice_sends_one_survey(make_order, alice):
    # R29: thin, idempotent task
    from surveys.tasks import start_survey

    order = make_order(State.COMPLETED, technician=alice)
    if order.state == State.COMPLETED:  # queued on commit; run it by hand, twice
        start_survey(order.pk)
    start_survey(order.pk)
    assert Survey.objects.filter(order=order).count() == 1
    assert Notification.objects.filter(order=order, kind="survey").count() == 1
    assert WorkOrderEvent.objects.filter(order=order, action=OrderAction.START_SURVEY).count() == 1
