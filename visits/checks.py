"""How the checklist and the test results join sign-off (``workorders.visit_parts``):
the sign-off check (R43, R44, R48, R49 and the policy's required steps), the sealed
parts "checklist" and "tests" that the signature's hash covers (R26), and safety at
height before any work (R49: the work check every work step runs, and whether the kit
needs the safety gear)."""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext as _

from workorders.errors import RuleViolation
from workorders.models import WorkOrder
from workorders.visit_parts import (
    register_at_height,
    register_sealed_part,
    register_sign_off_check,
    register_work_check,
)

from .models import Measure, StepKey, StepRecord, TestResult
from .selectors import Checklist, at_height, checklist, safety_ok


def work_may_start(order: WorkOrder) -> None:
    """R49: at height, no work (the report, the readings, equipment, materials) before
    the second person is named and the warning sign is up."""
    if not safety_ok(order):
        raise RuleViolation(_("Name the second person and put up the warning sign before "
                              "working at height."), field=StepKey.SAFETY, rule="R49")


def refusal(state: Checklist) -> RuleViolation | None:
    """Why the customer may not sign yet, or None. The order of the questions is the
    order a technician fixes them in: safety, the try-out, the readings, the rest."""
    if not state.safety_ok:
        return RuleViolation(_("Working at height needs a second person named and the "
                               "warning sign put up before the work."),
                             field=StepKey.SAFETY, rule="R49")
    tryout = state.step(StepKey.TRYOUT)
    if tryout is not None and tryout.required and tryout.status != "done":
        return RuleViolation(_("Let the customer try the service (or record that they "
                               "declined) before they sign."), field=StepKey.TRYOUT,
                             rule="R43")
    if (tryout is not None and tryout.record is not None and state.policy.explain_cause
            and not (tryout.record.data or {}).get("customer_declined")
            and "cause" not in (tryout.record.data or {}).get("explained", [])):
        return RuleViolation(_("Explain the cause of the fault to the customer and "
                               "record it on the try-out."), field=StepKey.TRYOUT,
                             rule="R43")
    issue = state.report is not None and state.report.has_outstanding_issue
    for result in state.results:
        if result.in_range:
            continue
        label = Measure(result.measure).label
        if not result.reason.strip():
            return RuleViolation(
                _("%(measure)s is out of range (%(value)s, expected %(expected)s): "
                  "measure again, or record why.")
                % {"measure": label, "value": result.shown, "expected": result.expected},
                field=result.measure, rule="R48")
        if not issue:
            return RuleViolation(
                _("%(measure)s is out of range: flag it as an outstanding issue in the "
                  "report.") % {"measure": label}, field="outstanding_issue", rule="R48")
    for step in state.steps:
        if step.required and not step.settled:
            return RuleViolation(
                _("“%(step)s” is still to do: do it, or decline it with a reason.")
                % {"step": step.label}, field=step.key, rule=step.rule)
    return None


def check_sign_off(order: WorkOrder) -> None:
    problem = refusal(checklist(order))
    if problem is not None:
        raise problem


def sealed_checklist(order: WorkOrder) -> list[dict[str, Any]]:
    """The checklist as the customer is shown it; no ids or times, so a copy of the
    order (demo scale data) seals the same."""
    rows = StepRecord.objects.filter(order=order).select_related("photo").order_by("step")
    return [{"step": r.step, "status": r.status, "data": r.data, "reason": r.reason.strip(),
             "photo": r.photo.sha256 if r.photo else ""} for r in rows]


def sealed_tests(order: WorkOrder) -> list[dict[str, Any]]:
    rows = TestResult.objects.filter(order=order).order_by("measure")
    return [{"measure": r.measure, "value": None if r.value is None else str(r.value),
             "passed": r.passed, "in_range": r.in_range, "expected": r.expected,
             "source": r.source, "onu_state": r.onu_state, "reason": r.reason.strip()}
            for r in rows]


def register() -> None:
    register_sign_off_check("visits", check_sign_off)
    register_work_check("visits", work_may_start)
    register_at_height("visits", at_height)
    register_sealed_part("checklist", sealed_checklist)
    register_sealed_part("tests", sealed_tests)
