"""R52: inspectors pass or fail a completed order; a fail reopens rework (R31), writes a
quality record and one assessment entry (R53); an order that is not completed is refused."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import transaction
from django.utils import translation

from assessment.models import Entry, EntryKind
from fieldops import bus, clock
from quality import services
from quality.events import InspectionFailed
from quality.models import Inspection, InspectionStatus, QualityRecord
from sla.timers import Timer
from surveys import services as survey_services
from surveys.models import Survey, SurveyStatus
from workorders.errors import NotPermitted, RuleViolation
from workorders.models import Assignment, State, WorkOrder, WorkOrderEvent

from .helpers import complete

pytestmark = pytest.mark.django_db

POINT = "The photos show this order's site and equipment"


@pytest.fixture
def done(make_order, alice):
    at = clock.now() - dt.timedelta(hours=5)
    return complete(make_order, alice, check_in_at=at)


def test_a_failed_inspection_reopens_rework_and_leaves_a_quality_record(done, inspector,
                                                                          alice):
    # R52 → R31, R53
    inspection = services.inspection_open(order=done, by=inspector)
    round_before = done.rework_round
    services.inspection_decide(inspection=inspection, by=inspector, passed=False,
                               method="review", failed_points=[POINT],
                               notes="check-in photo is a stock picture")
    order = WorkOrder.objects.get(pk=done.pk)
    assert order.state == State.REWORK
    assert order.rework_round == round_before + 1
    assert order.technician_id == alice.pk
    events = list(WorkOrderEvent.objects.filter(order=order).order_by("-id")[:2])
    assert [e.action for e in events] == ["reopen_rework", "inspect"]
    reopen = events[0]
    assert reopen.payload["cause"] == "inspection"
    assert reopen.payload["inspection"] == inspection.pk
    assert reopen.actor_id == inspector.pk and POINT in reopen.reason  # R42
    record = QualityRecord.objects.get(inspection=inspection)
    assert record.technician_id == alice.pk and POINT in record.findings
    assert record.rework_round == order.rework_round
    inspection.refresh_from_db()
    assert inspection.status == InspectionStatus.FAILED
    # R31: the technician owes the customer a call again
    assert Timer.objects.filter(order=order, kind="rework_contact", status="armed").exists()
    # R53: one ledger entry for the technician
    entry = Entry.objects.get(kind=EntryKind.INSPECTION_FAILED)
    assert (entry.technician_id, entry.order_id) == (alice.pk, order.pk)


def test_the_ledger_entry_is_written_once_when_the_event_comes_twice(done, inspector):
    # R53: exactly once (the entry is keyed by the quality record)
    inspection = services.inspection_open(order=done, by=inspector)
    services.inspection_decide(inspection=inspection, by=inspector, passed=False,
                               method="review", notes="no ONU at the address")
    record = QualityRecord.objects.get()
    with transaction.atomic():
        bus.publish(InspectionFailed(inspection_id=inspection.pk, record_id=record.pk,
                                     order_id=done.pk, technician_id=record.technician_id,
                                     at=record.recorded_at, findings=record.findings))
    assert Entry.objects.filter(kind=EntryKind.INSPECTION_FAILED).count() == 1


def test_a_passed_inspection_leaves_the_order_as_it_was(done, supervisor):
    inspection = services.inspection_open(order=done, by=supervisor)
    services.inspection_decide(inspection=inspection, by=supervisor, passed=True,
                               method="revisit", revisited_at=clock.now(),
                               notes="all as reported")
    order = WorkOrder.objects.get(pk=done.pk)
    assert order.state == done.state and order.version == done.version
    assert WorkOrderEvent.objects.filter(order=order, action="inspect").get().payload[
        "passed"] is True
    assert not QualityRecord.objects.exists()
    assert not Entry.objects.filter(kind=EntryKind.INSPECTION_FAILED).exists()


def test_inspecting_an_order_that_is_not_completed_is_refused(make_order, alice, inspector):
    # R52
    order = make_order(State.SCHEDULED, technician=alice)
    with translation.override("en"), pytest.raises(RuleViolation) as err:
        services.inspection_open(order=order, by=inspector)
    assert err.value.rule == "R52" and err.value.field == "order"
    assert "is not completed" in err.value.message and order.number in err.value.message
    assert not Inspection.objects.exists()


def test_an_order_that_left_completion_since_it_was_drawn_is_refused(done, inspector, agent):
    inspection = services.inspection_open(order=done, by=inspector)
    survey_services.work_order_start_survey(order=done)
    survey_services.work_order_record_survey(order=WorkOrder.objects.get(pk=done.pk),
                                             by=agent, satisfied=False, comment="slow")
    with translation.override("en"), pytest.raises(RuleViolation, match="not completed"):
        services.inspection_decide(inspection=inspection, by=inspector, passed=False,
                                   method="review", notes="x")
    inspection.refresh_from_db()
    assert inspection.status == InspectionStatus.OPEN  # nothing half-written
    assert not QualityRecord.objects.exists()


def test_a_fail_needs_a_finding_and_a_revisit_needs_its_time(done, inspector):
    inspection = services.inspection_open(order=done, by=inspector)
    with pytest.raises(RuleViolation) as err:
        services.inspection_decide(inspection=inspection, by=inspector, passed=False,
                                   method="review")
    assert err.value.field == "notes"
    with pytest.raises(RuleViolation) as err:
        services.inspection_decide(inspection=inspection, by=inspector, passed=True,
                                   method="revisit")
    assert err.value.field == "revisited_at"
    with pytest.raises(RuleViolation) as err:
        services.inspection_decide(inspection=inspection, by=inspector, passed=False,
                                   method="review", failed_points=["made up"])
    assert err.value.field == "failed_points"
    assert WorkOrder.objects.get(pk=done.pk).state == done.state


def test_an_inspection_is_decided_once(done, inspector, supervisor):
    inspection = services.inspection_open(order=done, by=inspector)
    services.inspection_decide(inspection=inspection, by=inspector, passed=True,
                               method="review")
    with pytest.raises(services.AlreadyDecided):
        services.inspection_decide(inspection=inspection, by=supervisor, passed=False,
                                   method="review", notes="second opinion")
    assert WorkOrder.objects.get(pk=done.pk).state == done.state


def test_only_inspectors_and_supervisors_decide(done, dispatcher, agent, alice, inspector):
    inspection = services.inspection_open(order=done, by=inspector)
    for user in (dispatcher, agent, alice.user):
        with pytest.raises(NotPermitted):
            services.inspection_decide(inspection=inspection, by=user, passed=True,
                                       method="review")


def test_reopening_a_closed_order_holds_the_technician_again(done, inspector, agent, alice):
    # R31 after R52: a closed order's assignment had ended; the same technician holds it
    survey_services.work_order_start_survey(order=done)
    closed = survey_services.work_order_record_survey(
        order=WorkOrder.objects.get(pk=done.pk), by=agent, satisfied=True)
    assert closed.state == State.CLOSED
    assert not Assignment.objects.filter(order=closed, ended_at__isnull=True).exists()
    inspection = services.inspection_open(order=closed, by=inspector)
    services.inspection_decide(inspection=inspection, by=inspector, passed=False,
                               method="review", notes="no cable run")
    order = WorkOrder.objects.get(pk=done.pk)
    assert order.state == State.REWORK and order.closed_at is None
    assert Assignment.objects.get(order=order, ended_at__isnull=True).technician_id == alice.pk


def test_reopening_while_the_survey_waits_sets_the_survey_aside(done, inspector):
    survey_services.work_order_start_survey(order=done)
    assert Survey.objects.get(order=done).status == SurveyStatus.PENDING
    inspection = services.inspection_open(order=done, by=inspector)
    services.inspection_decide(inspection=inspection, by=inspector, passed=False,
                               method="review", notes="speed test photo is another site")
    assert Survey.objects.get(order=done).status == SurveyStatus.SUPERSEDED


def test_the_reopen_service_refuses_an_unknown_cause_and_an_empty_reason(done, supervisor):
    from workorders.services import work_order_reopen_rework

    with pytest.raises(RuleViolation) as err:
        work_order_reopen_rework(order=done, by=supervisor, reason="x", cause="whim")
    assert err.value.field == "cause"
    with pytest.raises(RuleViolation) as err:
        work_order_reopen_rework(order=done, by=supervisor, reason="  ", cause="inspection")
    assert err.value.field == "reason"
    assert WorkOrder.objects.get(pk=done.pk).state == State.COMPLETED
