"""R51 with R38's ladder: a complaint's response and resolution deadlines warn, breach and
escalate through the periodic sweep, each step once (run twice, or two sweeps at once),
with the notices in the outbox once each."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine
from django.conf import settings

from complaints import deadlines, services, tasks
from complaints.models import (
    Complaint,
    ComplaintDeadline,
    ComplaintDeadlineEvent,
    ContactKind,
)
from notifications.models import Notification
from tests.concurrency import race
from workorders.models import State

from .conftest import COMPLAINT_TEXT, T0

MIN = dt.timedelta(minutes=1)


def steps(complaint: Complaint, kind: str) -> list[tuple[str, int | None, dt.datetime]]:
    return list(ComplaintDeadlineEvent.objects.filter(deadline__complaint=complaint,
                                                      deadline__kind=kind)
                .order_by("at", "id").values_list("kind", "level", "at"))


def notes(complaint: Complaint) -> list[Notification]:
    return list(Notification.objects.filter(kind__startswith="complaint.",
                                            body__contains=complaint.number))


@pytest.mark.django_db
def test_the_response_deadline_warns_breaches_and_escalates_once_each(completed_order,
                                                                      record):
    # R51: a complaint (tier "complaint") is answered within 120 minutes
    complaint = record(completed_order)
    response = complaint.deadlines.get(kind="response")
    assert response.due_at == T0 + 120 * MIN
    with time_machine.travel(T0 + 95 * MIN, tick=False):
        assert deadlines.sweep_all() == 0  # nothing due before 80 % (96 minutes)
    with time_machine.travel(T0 + 100 * MIN, tick=False):
        tasks.sweep_deadlines()
        assert [s[0] for s in steps(complaint, "response")] == ["warned"]
        assert {n.address for n in notes(complaint)} == {"role:call_centre"}
    with time_machine.travel(T0 + 200 * MIN, tick=False):
        tasks.sweep_deadlines()
        tasks.sweep_deadlines()  # run twice: nothing new
    got = steps(complaint, "response")
    assert [(kind, level) for kind, level, _at in got] == [
        ("warned", 0), ("breached", 1), ("escalated", 2)]
    # each step at its true moment, not when the sweep noticed (R38)
    assert [at for *_k, at in got] == [T0 + 96 * MIN, T0 + 120 * MIN, T0 + 180 * MIN]
    response.refresh_from_db()
    assert response.breached_at == T0 + 120 * MIN and response.next_check_at is None
    assert len(notes(complaint)) == 4  # warn: desk; breach: desk + supervisors; escalate
    assert {n.address for n in notes(complaint)} == {"role:call_centre", "role:supervisor"}
    assert all(COMPLAINT_TEXT not in n.body for n in notes(complaint))


@pytest.mark.django_db
def test_a_late_contact_keeps_the_breach_at_its_true_time(completed_order, record, agent):
    # R38: the breach that happened while nobody swept is recorded when the deadline is met
    complaint = record(completed_order)
    with time_machine.travel(T0 + 130 * MIN, tick=False):
        services.complaint_handle(complaint=complaint, by=agent, kind=ContactKind.CALL,
                                  note="迟到的回电")
    response = ComplaintDeadline.objects.get(complaint=complaint, kind="response")
    assert response.breached_at == T0 + 120 * MIN
    assert response.outcome == "breached" and response.met_at == T0 + 130 * MIN
    assert [k for k, *_ in steps(complaint, "response")] == ["warned", "breached", "met"]
    with time_machine.travel(T0 + 400 * MIN, tick=False):
        deadlines.sweep_all()
    assert [k for k, *_ in steps(complaint, "response")] == ["warned", "breached", "met"]


@pytest.mark.django_db
def test_a_met_deadline_never_fires(completed_order, record, agent):
    complaint = record(completed_order)
    with time_machine.travel(T0 + 10 * MIN, tick=False):
        services.complaint_handle(complaint=complaint, by=agent, kind="call", note="回电")
    with time_machine.travel(T0 + 300 * MIN, tick=False):
        deadlines.sweep_all()
    assert [k for k, *_ in steps(complaint, "response")] == ["met"]
    assert steps(complaint, "resolution") == []  # 48 hours are not over


def test_the_beat_schedule_runs_the_sweep():
    tasks_run = {entry["task"] for entry in settings.CELERY_BEAT_SCHEDULE.values()}
    assert "complaints.tasks.sweep_deadlines" in tasks_run


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_sweeps_at_once_fire_each_step_once(reference_data, make_order, alice, agent):
    # R51, R38: SKIP LOCKED gives each sweep its own rows; the unique step backs it up
    with time_machine.travel(T0, tick=False):
        order = make_order(State.COMPLETED, technician=alice)
        made = [services.complaint_record(by=agent, tier="regulator", channel="phone",
                                          text=f"申诉 {n}", order=order) for n in range(4)]
    with time_machine.travel(T0 + 48 * 60 * MIN, tick=False):
        results = race([lambda: deadlines.sweep_all(batch=1) for _ in range(3)])
    assert not [r for r in results if isinstance(r, Exception)], results
    assert sum(results) == 8  # 4 complaints x 2 deadlines, each claimed by one sweep
    for complaint in made:
        for kind in ("response", "resolution"):
            assert [(k, level) for k, level, _at in steps(complaint, kind)] == [
                ("warned", 0), ("breached", 1), ("escalated", 2)]
        assert len(notes(complaint)) == 8
