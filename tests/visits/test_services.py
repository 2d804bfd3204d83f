"""The visit's checklist and measured results (R43, R44, R48, R49): policy-driven
required steps, refusals with nothing written, network-verified readings, and the
sign-off check and seal they join (R26)."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.db import connection
from django.utils import translation

from tests.fieldapp.helpers import on_site_with_report, upload
from tests.fieldapp.test_sign_off import sign
from visits import services as vs
from visits.models import ChecklistPolicy, Measure, Source, StepKey, StepRecord, TestResult
from visits.selectors import checklist, policy_for
from workorders import services
from workorders.errors import NotPermitted, RuleViolation
from workorders.events import OrderAction
from workorders.kit import SAFETY_GEAR, order_kit, required_kit
from workorders.models import CompletionReport, Signature, State, WorkOrder, WorkOrderEvent


@pytest.fixture(autouse=True)
def _english() -> object:
    with translation.override("en"):
        yield


def bare(make_order, alice, **intake) -> WorkOrder:
    """On site with a report, the checklist left to the test."""
    return on_site_with_report(make_order(State.ON_SITE, technician=alice, **intake),
                               checklist=False)


def refused(fn, **kwargs) -> RuleViolation:
    with pytest.raises(RuleViolation) as err:
        fn(**kwargs)
    return err.value


def todo(order: WorkOrder) -> set[str]:
    return {s.key for s in checklist(order).steps if s.required and not s.settled}


def test_the_policy_decides_the_required_steps_per_kind(make_order, alice):
    """R43/R44/R48: the seeded policy: an install needs tests, try-out and clean-up; a
    repair also the cause explained; an admin change takes effect at once."""
    install = bare(make_order, alice)
    assert todo(install) == {StepKey.TESTS, StepKey.TRYOUT, StepKey.CLEANUP}
    repair = bare(make_order, alice, kind="repair")
    assert policy_for(repair).explain_cause
    assert {StepKey.TESTS, StepKey.TRYOUT, StepKey.CLEANUP} <= todo(repair)
    ChecklistPolicy.objects.filter(kind="install", access_type="").update(
        cleanup="hidden", tests="optional")
    assert todo(install) == {StepKey.TRYOUT}
    assert StepKey.CLEANUP not in {s.key for s in checklist(install).steps}


def test_the_most_specific_policy_wins(make_order, alice):
    order = bare(make_order, alice)
    ChecklistPolicy.objects.create(kind="install", access_type="ftth", tryout="optional",
                                   tests="optional", cleanup="optional")
    assert todo(order) == set()


def test_sign_off_is_refused_until_the_customer_tried_it(make_order, alice):
    """R43: the try-out (or the customer's refusal to try) comes before the signature."""
    order = bare(make_order, alice)
    vs.work_order_read_line(order=order, by=alice.user)
    for measure, value in ((Measure.SPEED_DOWN, 480), (Measure.SPEED_UP, 48)):
        vs.work_order_record_reading(order=order, by=alice.user, measure=measure, value=value)
    vs.work_order_record_cleanup(order=order, by=alice.user, done=True)
    error = refused(sign, order=order)
    assert error.rule == "R43" and error.field == "tryout"
    assert WorkOrder.objects.get(pk=order.pk).state == State.ON_SITE
    vs.work_order_record_tryout(order=order, by=alice.user, tried=[], worked=None,
                                customer_declined=True)
    sign(order)
    assert WorkOrder.objects.get(pk=order.pk).state == State.SIGNED_OFF


def test_a_tryout_says_what_was_tried_and_whether_it_worked(make_order, alice):
    """R43: what the customer tried and the answer are recorded, and logged (R42)."""
    order = bare(make_order, alice)
    assert refused(vs.work_order_record_tryout, order=order, by=alice.user, tried=[],
                   worked=True).field == "tried"
    assert refused(vs.work_order_record_tryout, order=order, by=alice.user,
                   tried=["internet"], worked=None).field == "worked"
    record = vs.work_order_record_tryout(order=order, by=alice.user,
                                         tried=["internet", "tv", "bogus"], worked=True,
                                         explained=["use", "upkeep"])
    assert record.data["tried"] == ["internet", "tv"] and record.data["worked"] is True
    event = WorkOrderEvent.objects.filter(order=order).latest("id")
    assert event.action == OrderAction.RECORD_VISIT_STEP
    assert event.payload["step"] == "tryout" and event.actor == alice.user


def test_a_repair_needs_the_cause_explained(make_order, alice):
    """R43: for a repair the explanation includes the cause of the fault."""
    order = on_site_with_report(make_order(State.ON_SITE, technician=alice, kind="repair"))
    vs.work_order_record_tryout(order=order, by=alice.user, tried=["internet"], worked=True,
                                explained=["use"])
    error = refused(sign, order=order)
    assert error.rule == "R43" and "cause" in error.message
    vs.work_order_record_tryout(order=order, by=alice.user, tried=["internet"], worked=True,
                                explained=["use", "cause"])
    sign(order)


def test_the_cleanup_is_recorded_with_an_optional_photo(make_order, alice):
    """R44: a checkbox, and a photo that joins the visit's photos (sealed, R26)."""
    order = bare(make_order, alice)
    assert refused(vs.work_order_record_cleanup, order=order, by=alice.user,
                   done=False).rule == "R44"
    assert not StepRecord.objects.filter(order=order).exists()
    record = vs.work_order_record_cleanup(order=order, by=alice.user, done=True,
                                          photo=upload())
    assert record.photo is not None and record.photo.order_id == order.pk
    assert StepKey.CLEANUP not in todo(order)


def test_a_required_step_is_declined_only_with_a_reason(make_order, alice):
    order = bare(make_order, alice)
    assert refused(vs.work_order_decline_step, order=order, by=alice.user,
                   step=StepKey.CLEANUP, reason="  ").field == "reason"
    assert refused(vs.work_order_decline_step, order=order, by=alice.user,
                   step=StepKey.TRYOUT, reason="no time").rule == "R43"
    vs.work_order_decline_step(order=order, by=alice.user, step=StepKey.CLEANUP,
                               reason="building site, nothing to clean")
    assert StepKey.CLEANUP not in todo(order)
    event = WorkOrderEvent.objects.filter(order=order).latest("id")
    assert event.payload["status"] == "declined"
    assert event.reason == "building site, nothing to clean"


def test_an_out_of_range_reading_blocks_unless_justified_with_an_outstanding_issue(
        make_order, alice):
    """R48 with R27: a weak optical level is kept, but sign-off needs the reason AND the
    outstanding issue flagged in the report."""
    order = on_site_with_report(make_order(State.ON_SITE, technician=alice))
    TestResult.objects.filter(order=order, measure=Measure.RX_POWER).delete()
    result = vs.work_order_record_reading(order=order, by=alice.user,
                                          measure=Measure.RX_POWER, value="-29.4")
    assert not result.in_range and result.source == Source.TYPED
    error = refused(sign, order=order)
    assert (error.rule, error.field) == ("R48", Measure.RX_POWER)
    vs.work_order_justify_reading(order=order, by=alice.user, measure=Measure.RX_POWER,
                                  reason="splitter far away; line team to re-splice")
    error = refused(sign, order=order)
    assert (error.rule, error.field) == ("R48", "outstanding_issue")
    on_site_with_report(order, outstanding_issue="re-splice the drop fibre")
    assert TestResult.objects.get(order=order, measure=Measure.RX_POWER).reason
    sign(order)


def test_a_slow_speed_test_is_out_of_range(make_order, alice):
    """R48: the speed test is held against the subscribed bandwidth (90 % of it)."""
    order = bare(make_order, alice)
    slow = vs.work_order_record_reading(order=order, by=alice.user,
                                        measure=Measure.SPEED_DOWN, value=400)
    fast = vs.work_order_record_reading(order=order, by=alice.user,
                                        measure=Measure.SPEED_DOWN, value="451")
    assert not slow.in_range and fast.in_range and fast.pk == slow.pk


@pytest.mark.parametrize(("measure", "value", "words"), [
    (Measure.RX_POWER, "+40", "not a possible optical reading"),
    (Measure.RX_POWER, "-80", "not a possible optical reading"),
    (Measure.SPEED_DOWN, "10000", "not possible on a 500 Mbit/s line"),
    (Measure.SPEED_UP, "-3", "not possible"),
    (Measure.SPEED_DOWN, "fast", "Type a number"),
])
def test_absurd_values_are_refused_and_nothing_is_written(make_order, alice, measure,
                                                           value, words):
    """R48: +40 dBm or 10 Gbit/s on the plan are refused outright, with a clear message."""
    order = bare(make_order, alice)
    events = WorkOrderEvent.objects.filter(order=order).count()
    error = refused(vs.work_order_record_reading, order=order, by=alice.user,
                    measure=measure, value=value)
    assert error.rule == "R48" and error.field == measure and words in error.message
    assert not TestResult.objects.filter(order=order).exists()
    assert WorkOrderEvent.objects.filter(order=order).count() == events


def test_ten_gigabit_on_a_hundred_megabit_plan_is_refused(make_order, alice):
    order = bare(make_order, alice, access_type="lan")
    error = refused(vs.work_order_record_reading, order=order, by=alice.user,
                    measure=Measure.SPEED_DOWN, value="10000")
    assert "100 Mbit/s" in error.message


def test_the_line_test_reading_is_network_verified_and_cannot_be_typed_over(
        make_order, alice):
    """R48: the demo backend reads the same level for the same address; the reading is
    the network's and typing another number is refused."""
    order = bare(make_order, alice)
    first = vs.work_order_read_line(order=order, by=alice.user)
    assert first.source == Source.NETWORK and first.onu_state.startswith("registered")
    assert Decimal("-25.9") <= first.value <= Decimal("-12.0") and first.in_range
    again = vs.work_order_read_line(order=order, by=alice.user)
    assert again.value == first.value
    error = refused(vs.work_order_record_reading, order=order, by=alice.user,
                    measure=Measure.RX_POWER, value="-15.0")
    assert error.rule == "R48"
    assert TestResult.objects.get(pk=first.pk).value == first.value


def test_no_line_test_backend_asks_for_the_meter_reading(make_order, alice, settings):
    settings.LINE_TEST_BACKEND = "visits.linetest.NoLineTest"
    order = bare(make_order, alice)
    assert refused(vs.work_order_read_line, order=order, by=alice.user).field == "rx_power"


def test_a_fixed_line_is_tested_with_a_call(make_order, alice):
    """R48: a fixed line needs the test call (ok / failed), not a speed test."""
    order = bare(make_order, alice, service="fixed_line", access_type="xdsl")
    assert checklist(order).measures == [Measure.TEST_CALL]
    failed = vs.work_order_record_reading(order=order, by=alice.user,
                                          measure=Measure.TEST_CALL, passed=False)
    assert not failed.in_range
    assert refused(vs.work_order_record_reading, order=order, by=alice.user,
                   measure=Measure.TEST_CALL).field == Measure.TEST_CALL


def test_work_at_height_needs_the_second_person_before_the_work(make_order, alice, bob):
    """R49: once the order is flagged as work at height, no reading (work) and no
    sign-off until the second person is named and the warning sign is up."""
    order = bare(make_order, alice)
    ChecklistPolicy.objects.filter(kind="install", access_type="").update(
        work_at_height=True)
    error = refused(vs.work_order_record_reading, order=order, by=alice.user,
                    measure=Measure.SPEED_DOWN, value=480)
    assert error.rule == "R49"
    assert refused(vs.work_order_record_safety, order=order, by=alice.user,
                   at_height=True).field == "second_person"
    assert refused(vs.work_order_record_safety, order=order, by=alice.user, at_height=True,
                   second_person="王五").field == "warning_sign"
    assert refused(vs.work_order_record_safety, order=order, by=alice.user, at_height=True,
                   second_technician=alice, warning_sign=True).rule == "R49"
    assert refused(vs.work_order_record_safety, order=order, by=alice.user,
                   at_height=False).field == "at_height"
    assert refused(sign, order=order).rule == "R49"
    record = vs.work_order_record_safety(order=order, by=alice.user, at_height=True,
                                         second_technician=bob, warning_sign=True)
    assert record.data["second_technician"] == bob.pk
    vs.work_order_record_reading(order=order, by=alice.user, measure=Measure.SPEED_DOWN,
                                 value=480)


def test_at_height_the_report_waits_for_the_second_person(make_order, alice):
    """R49: the work itself (its report) is a work step: at height it is refused, with
    nothing written, until the second person is named and the warning sign is up."""
    ChecklistPolicy.objects.filter(kind="install", access_type="").update(
        work_at_height=True)
    order = make_order(State.ON_SITE, technician=alice)
    error = refused(services.work_order_save_report, order=order, by=alice.user,
                    work_done="安装光猫 ONU installed")
    assert (error.rule, error.field) == ("R49", StepKey.SAFETY)
    assert "second person" in error.message
    assert not CompletionReport.objects.filter(order=order).exists()
    assert not order.events.filter(action=OrderAction.SAVE_REPORT).exists()
    vs.work_order_record_safety(order=order, by=alice.user, at_height=True,
                                second_person="王五", warning_sign=True)
    report = services.work_order_save_report(order=order, by=alice.user,
                                             work_done="安装光猫 ONU installed")
    assert report.work_done == "安装光猫 ONU installed"


def test_without_height_the_work_needs_no_safety_step(make_order, alice):
    """R49 applies only at height: an ordinary visit writes its report at once."""
    order = make_order(State.ON_SITE, technician=alice)
    services.work_order_save_report(order=order, by=alice.user, work_done="ONU installed")
    assert not StepRecord.objects.filter(order=order, step=StepKey.SAFETY).exists()


def test_at_height_the_kit_includes_the_safety_gear(make_order, alice):
    """R49 with R20: where the policy says work at height, the kit check asks for the
    helmet, the harness, the ladder and the warning sign; elsewhere it does not."""
    order = make_order(State.SCHEDULED, technician=alice)
    assert not set(SAFETY_GEAR) & set(order_kit(order))
    ChecklistPolicy.objects.filter(kind="install", access_type="").update(
        work_at_height=True)
    kit = order_kit(order)
    assert set(SAFETY_GEAR) <= set(kit) and set(required_kit("ftth")) <= set(kit)
    error = refused(services.work_order_confirm_kit, order=order, by=alice.user,
                    items=required_kit(order.access_type))
    assert error.rule == "R20"
    for label in ("Safety helmet", "Safety harness", "Ladder", "Warning sign"):
        assert label in error.message
    assert WorkOrder.objects.get(pk=order.pk).state == State.SCHEDULED
    services.work_order_confirm_kit(order=order, by=alice.user, items=kit)
    assert WorkOrder.objects.get(pk=order.pk).state == State.PREPARED


def test_a_visit_flagged_at_height_needs_the_gear_next_time(make_order, alice):
    """R49: the technician's own flag (an order the policy does not mark) also puts the
    safety gear on the kit for the next trip."""
    order = make_order(State.ON_SITE, technician=alice)
    assert "helmet" not in order_kit(order)
    vs.work_order_record_safety(order=order, by=alice.user, at_height=True,
                                second_person="李强 (helper)", warning_sign=True)
    assert set(SAFETY_GEAR) <= set(order_kit(WorkOrder.objects.get(pk=order.pk)))


def test_the_technician_flags_work_at_height(make_order, alice):
    """R49: a flag on the checklist makes safety a required step."""
    order = bare(make_order, alice)
    assert checklist(order).step(StepKey.SAFETY).requirement == "optional"
    vs.work_order_record_safety(order=order, by=alice.user, at_height=True,
                                second_person="李强 (helper)", warning_sign=True)
    state = checklist(order)
    assert state.at_height and state.safety_ok
    assert state.step(StepKey.SAFETY).status == "done"


def test_only_the_orders_technician_records_and_only_on_site(make_order, alice, bob):
    order = bare(make_order, alice)
    with pytest.raises(NotPermitted):
        vs.work_order_record_cleanup(order=order, by=bob.user, done=True)
    signed = on_site_with_report(make_order(State.ON_SITE, technician=alice))
    sign(signed)
    with pytest.raises(Exception) as err:
        vs.work_order_record_cleanup(order=signed, by=alice.user, done=True)
    assert getattr(err.value, "status", 0) == 409


def test_a_reading_changed_in_the_database_after_signing_is_caught(make_order, alice):
    """R26 with R48: the signature's hash covers the readings and the checklist."""
    order = on_site_with_report(make_order(State.ON_SITE, technician=alice))
    signature = sign(order)
    assert Signature.objects.get(pk=signature.pk).content_intact
    with connection.cursor() as cursor:
        cursor.execute("UPDATE visits_testresult SET value = -12.0 WHERE order_id = %s "
                       "AND measure = 'rx_power'", [order.pk])
    assert not Signature.objects.get(pk=signature.pk).content_intact


def test_a_checklist_step_changed_after_signing_is_caught(make_order, alice):
    """R26 with R44: the clean-up the customer saw is part of what they signed."""
    order = on_site_with_report(make_order(State.ON_SITE, technician=alice))
    signature = sign(order)
    StepRecord.objects.filter(order=order, step=StepKey.CLEANUP).update(
        status=StepRecord.Status.DECLINED, reason="no")
    assert not Signature.objects.get(pk=signature.pk).content_intact


def test_a_helper_name_with_a_hidden_character_is_refused(make_order, alice):
    """R49: the second person's name is a visible one-line name."""
    order = bare(make_order, alice)
    error = refused(vs.work_order_record_safety, order=order, by=alice.user, at_height=True,
                    second_person="李\u202e强", warning_sign=True)
    assert error.field == "second_person"
    assert not StepRecord.objects.filter(order=order).exists()
