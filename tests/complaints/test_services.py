"""R51: recording, handling, deciding and closing a complaint; the rework it can reopen;
the assessment entry an upheld one makes (R53); bad input refused with nothing written."""

from __future__ import annotations

import pytest
from django.utils import translation

from assessment.handlers import complaints_to_entries
from assessment.models import Entry, EntryKind
from complaints import services
from complaints.events import ComplaintDecided
from complaints.models import (
    Complaint,
    ComplaintDeadline,
    ComplaintStatus,
    ContactKind,
    DeadlineStatus,
)
from fieldops import bus
from workorders.errors import NotPermitted, RuleViolation
from workorders.events import OrderAction
from workorders.models import State, WorkOrder, WorkOrderEvent

from .conftest import COMPLAINT_TEXT, settle

pytestmark = pytest.mark.django_db


def test_a_complaint_about_an_order_starts_both_deadlines_and_is_logged_without_its_text(
        completed_order, record, alice):
    # R51, R42
    complaint = record(completed_order, tier="escalated")
    assert complaint.customer_id == completed_order.customer_id
    assert complaint.technician == alice
    deadlines = {d.kind: d for d in complaint.deadlines.all()}
    assert set(deadlines) == {"response", "resolution"}
    assert deadlines["response"].due_at - complaint.recorded_at == dt_minutes(60)
    assert deadlines["resolution"].due_at - complaint.recorded_at == dt_minutes(24 * 60)
    event = WorkOrderEvent.objects.get(order=completed_order,
                                       action=OrderAction.RECORD_COMPLAINT)
    assert event.payload["complaint"] == complaint.pk
    assert COMPLAINT_TEXT not in str(event.payload) + event.reason


def dt_minutes(n: int):
    import datetime as dt
    return dt.timedelta(minutes=n)


def test_an_unknown_tier_is_refused_naming_the_tiers_and_nothing_is_written(
        completed_order, record):
    # R51 (bad input)
    events = WorkOrderEvent.objects.count()
    with pytest.raises(RuleViolation) as refused:
        record(completed_order, tier="urgent")
    assert refused.value.field == "tier"
    assert "urgent" in refused.value.message
    for tier in ("complaint", "escalated", "regulator"):
        assert tier in refused.value.message
    assert not Complaint.objects.exists()
    assert not ComplaintDeadline.objects.exists()
    assert WorkOrderEvent.objects.count() == events


def test_a_complaint_against_a_customer_only_needs_no_order(completed_order, agent):
    # R51: a complaint may be about the customer's service, not a visit
    complaint = services.complaint_record(by=agent, tier="regulator", channel="regulator",
                                          text="投诉宽带经常断线",
                                          customer=completed_order.customer)
    assert complaint.order is None and complaint.technician is None
    assert complaint.deadlines.count() == 2


def test_only_the_call_centre_records(completed_order, alice, supervisor, dispatcher):
    # R51: the call-centre records; nobody else
    for user in (alice.user, supervisor, dispatcher):
        with pytest.raises(NotPermitted):
            services.complaint_record(by=user, tier="complaint", channel="phone", text="x",
                                      order=completed_order)
    assert not Complaint.objects.exists()


def test_the_first_contact_meets_the_response_deadline(completed_order, record, agent):
    # R51: answered quickly
    complaint = record(completed_order)
    services.complaint_handle(complaint=complaint, by=agent, kind=ContactKind.CALL,
                              note="已联系客户")
    response = complaint.deadlines.get(kind="response")
    assert response.status == DeadlineStatus.MET and response.outcome == "met"
    assert complaint.deadlines.get(kind="resolution").status == DeadlineStatus.ARMED
    assert Complaint.objects.get(pk=complaint.pk).status == ComplaintStatus.IN_HAND


def test_closing_without_confirmation_or_callback_is_refused(completed_order, record, agent,
                                                              supervisor):
    # R51: closed only with the customer's confirmation or a recorded callback
    complaint = settle(record(completed_order), agent, supervisor, confirmed=False)
    with translation.override("en"), pytest.raises(RuleViolation) as refused:
        services.complaint_close(complaint=complaint, by=agent)
    assert refused.value.field == "closure"
    assert "callback" in refused.value.message
    assert Complaint.objects.get(pk=complaint.pk).status != ComplaintStatus.CLOSED
    assert complaint.deadlines.get(kind="resolution").status == DeadlineStatus.ARMED
    # a recorded callback is enough
    services.complaint_handle(complaint=complaint, by=agent, kind=ContactKind.CALLBACK,
                              note="回访: 客户表示问题已处理")
    closed = services.complaint_close(complaint=complaint, by=agent, note="结案")
    assert (closed.status, closed.closure) == (ComplaintStatus.CLOSED, "callback")
    assert complaint.deadlines.get(kind="resolution").status == DeadlineStatus.MET
    assert WorkOrderEvent.objects.filter(order=completed_order,
                                         action=OrderAction.CLOSE_COMPLAINT).count() == 1


def test_closing_needs_a_solution_and_a_decision(completed_order, record, agent, supervisor):
    # R51: given a solution, and decided, before it is closed
    complaint = record(completed_order)
    services.complaint_handle(complaint=complaint, by=agent, kind=ContactKind.CALL,
                              note="已联系")
    with pytest.raises(RuleViolation) as no_solution:
        services.complaint_close(complaint=complaint, by=agent)
    assert no_solution.value.field == "solution"
    services.complaint_handle(complaint=complaint, by=agent, kind=ContactKind.CALL,
                              note="客户同意", solution="重新上门调试", customer_confirmed=True)
    with pytest.raises(RuleViolation) as undecided:
        services.complaint_close(complaint=complaint, by=agent)
    assert undecided.value.field == "outcome"
    services.complaint_decide(complaint=complaint, by=supervisor, upheld=False, note="不属实")
    assert services.complaint_close(complaint=complaint, by=agent).closure == "confirmed"


def test_confirmation_before_any_solution_is_refused(completed_order, record, agent):
    complaint = record(completed_order)
    with pytest.raises(RuleViolation) as refused:
        services.complaint_handle(complaint=complaint, by=agent, kind="call", note="x",
                                  customer_confirmed=True)
    assert refused.value.field == "solution"
    assert not complaint.contacts.exists()


def test_bad_compensation_is_refused(completed_order, record, agent):
    complaint = record(completed_order)
    for bad in ("-5", "fifty"):
        with pytest.raises(RuleViolation) as refused:
            services.complaint_handle(complaint=complaint, by=agent, kind="call", note="x",
                                      solution="y", compensation=bad)
        assert refused.value.field == "compensation"
    assert not complaint.contacts.exists()


def test_an_upheld_complaint_makes_one_ledger_entry_even_when_the_handler_retries(
        completed_order, record, agent, supervisor, alice):
    # R51 → R53: exactly once
    complaint = settle(record(completed_order), agent, supervisor, upheld=True)
    entries = Entry.objects.filter(kind=EntryKind.COMPLAINT_UPHELD, technician=alice)
    assert entries.count() == 1
    entry = entries.get()
    assert entry.source_id == str(complaint.pk) and entry.points < 0
    assert complaint.number in entry.reason
    assert COMPLAINT_TEXT not in entry.reason  # R51: the technician reads the reason
    # the handler runs again (a retried job, a replayed event): nothing new
    event = ComplaintDecided(complaint_id=complaint.pk, upheld=True, technician_id=alice.pk,
                             order_id=completed_order.pk, at=complaint.decided_at,
                             decided_by=supervisor.pk)
    complaints_to_entries(event)
    bus.publish(event)
    assert entries.count() == 1
    # and a second decision is refused
    with pytest.raises(services.AlreadyDecided):
        services.complaint_decide(complaint=complaint, by=supervisor, upheld=True, note="再次")
    assert entries.count() == 1


def test_a_complaint_not_upheld_makes_no_entry(completed_order, record, agent, supervisor):
    settle(record(completed_order), agent, supervisor, upheld=False)
    assert not Entry.objects.filter(kind=EntryKind.COMPLAINT_UPHELD).exists()


def test_only_a_supervisor_decides(completed_order, record, agent, alice):
    complaint = record(completed_order)
    for user in (agent, alice.user):
        with pytest.raises(NotPermitted):
            services.complaint_decide(complaint=complaint, by=user, upheld=True, note="x")
    assert Complaint.objects.get(pk=complaint.pk).outcome == ""


def test_a_complaint_about_a_completed_order_reopens_rework(completed_order, record, agent):
    # R51, R31: the visit goes back to its technician
    complaint = record(completed_order)
    order = services.complaint_reopen_rework(complaint=complaint, by=agent,
                                             reason="光猫未固定, 客户要求返工")
    assert order.state == State.REWORK
    assert WorkOrder.objects.get(pk=order.pk).rework_round == 1
    event = WorkOrderEvent.objects.filter(order=order,
                                          action=OrderAction.START_REWORK).get()
    assert event.payload["complaint"] == complaint.pk


def test_a_complaint_about_a_closed_order_reopens_it_for_rework(make_order, alice, agent,
                                                                 record, at_t0):
    # R51, R31: a closed order goes back to its technician through reopen_rework
    order = make_order(State.CLOSED, technician=alice)
    complaint = record(order)
    reopened = services.complaint_reopen_rework(complaint=complaint, by=agent,
                                                reason="光猫掉线仍未解决")
    assert reopened.state == State.REWORK and reopened.technician_id == alice.pk
    event = WorkOrderEvent.objects.get(order=order, action=OrderAction.REOPEN_REWORK)
    assert event.payload["complaint"] == complaint.pk and event.reason == "光猫掉线仍未解决"


def test_reopening_an_order_still_in_the_field_is_refused(make_order, alice, agent, record,
                                                         at_t0):
    order = make_order(State.SCHEDULED, technician=alice)
    complaint = record(order)
    with pytest.raises(RuleViolation) as refused:
        services.complaint_reopen_rework(complaint=complaint, by=agent, reason="返工")
    assert refused.value.field == "order"
    assert WorkOrder.objects.get(pk=order.pk).state == State.SCHEDULED
