"""Reads: the policy that applies to an order, the measures it needs, and the state of
each checklist step (done / declined / to do), for the pages, the sign-off check, the
admin and the API."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.utils.functional import Promise

from workorders.models import CompletionReport, Service, WorkOrder
from workorders.visit_parts import visit_steps_done

from .models import (
    FOREIGN_STEPS,
    STEP_RULES,
    ChecklistPolicy,
    Measure,
    Requirement,
    StepKey,
    StepRecord,
    TestRangePolicy,
    TestResult,
)

DEFAULT_POLICY = ChecklistPolicy()  # the model's defaults, when no row exists at all
DEFAULT_RANGES = TestRangePolicy()


def policy_for(order: WorkOrder) -> ChecklistPolicy:
    """The most specific policy row: kind and access type, kind, access type, default."""
    rows = {(p.kind, p.access_type): p for p in ChecklistPolicy.objects.filter(
        kind__in=[order.kind, ""], access_type__in=[order.access_type, ""])}
    for key in ((order.kind, order.access_type), (order.kind, ""), ("", order.access_type),
                ("", "")):
        if key in rows:
            return rows[key]
    return DEFAULT_POLICY


def ranges_for(order: WorkOrder) -> TestRangePolicy:
    rows = {r.access_type: r for r in TestRangePolicy.objects.filter(
        access_type__in=[order.access_type, ""])}
    return rows.get(order.access_type) or rows.get("") or DEFAULT_RANGES


def measures_for(order: WorkOrder, ranges: TestRangePolicy | None = None) -> list[str]:
    """R48: what this order's service and access type are tested with: the optical power
    where the policy has an optical range, the speed test for broadband, a test call for
    a fixed line, a channel check for IPTV."""
    ranges = ranges or ranges_for(order)
    found: list[str] = []
    if ranges.rx_min_dbm is not None:
        found.append(Measure.RX_POWER)
    if order.service == Service.BROADBAND:
        found += [Measure.SPEED_DOWN, Measure.SPEED_UP]
    if order.service == Service.FIXED_LINE:
        found.append(Measure.TEST_CALL)
    if order.service == Service.IPTV:
        found.append(Measure.IPTV)
    return found


def expected_text(measure: str, ranges: TestRangePolicy) -> str:
    if measure == Measure.RX_POWER and ranges.rx_min_dbm is not None:
        return f"{ranges.rx_max_dbm} … {ranges.rx_min_dbm} dBm"
    if measure == Measure.SPEED_DOWN:
        return f"≥ {speed_floor(ranges.plan_down_mbps, ranges)} Mbit/s"
    if measure == Measure.SPEED_UP:
        return f"≥ {speed_floor(ranges.plan_up_mbps, ranges)} Mbit/s"
    return "ok"


def speed_floor(plan: int, ranges: TestRangePolicy) -> Decimal:
    return (Decimal(plan) * ranges.min_speed_percent / 100).quantize(Decimal("0.1"))


def in_range(measure: str, value: Decimal | None, passed: bool | None,
             ranges: TestRangePolicy) -> bool:
    if measure == Measure.RX_POWER:
        if ranges.rx_min_dbm is None or value is None:
            return value is not None
        return ranges.rx_min_dbm <= value <= (ranges.rx_max_dbm or value)
    if measure == Measure.SPEED_DOWN:
        return value is not None and value >= speed_floor(ranges.plan_down_mbps, ranges)
    if measure == Measure.SPEED_UP:
        return value is not None and value >= speed_floor(ranges.plan_up_mbps, ranges)
    return bool(passed)


@dataclass
class StepState:
    key: str
    label: Promise
    rule: str
    requirement: str
    #: "done", "declined" or "todo"
    status: str
    record: StepRecord | None = None
    detail: dict[str, Any] = field(default_factory=dict)

    @property
    def required(self) -> bool:
        return self.requirement == Requirement.REQUIRED

    @property
    def settled(self) -> bool:
        return self.status in ("done", "declined")


@dataclass
class Checklist:
    order: WorkOrder
    policy: ChecklistPolicy
    ranges: TestRangePolicy
    at_height: bool
    steps: list[StepState]
    results: list[TestResult]
    measures: list[str]
    report: CompletionReport | None

    def step(self, key: str) -> StepState | None:
        return next((s for s in self.steps if s.key == key), None)

    @property
    def missing_measures(self) -> list[str]:
        have = {r.measure for r in self.results}
        return [m for m in self.measures if m not in have]

    @property
    def safety_ok(self) -> bool:
        """R49: no work at height, or the second person is named and the sign is up."""
        if not self.at_height:
            return True
        state = self.step(StepKey.SAFETY)
        return state is not None and state.status == "done"


def _records(order: WorkOrder) -> dict[str, StepRecord]:
    cached = getattr(order, "_prefetched_objects_cache", {}).get("visit_steps")
    rows = cached if cached is not None else StepRecord.objects.filter(order=order)
    return {r.step: r for r in rows}


def _results(order: WorkOrder) -> list[TestResult]:
    cached = getattr(order, "_prefetched_objects_cache", {}).get("test_results")
    return list(cached if cached is not None else TestResult.objects.filter(order=order))


def safety_done(record: StepRecord | None) -> bool:
    if record is None or record.status != StepRecord.Status.DONE:
        return False
    data = record.data or {}
    if not data.get("at_height"):
        return True
    named = data.get("second_technician") or str(data.get("second_person", "")).strip()
    return bool(named and data.get("warning_sign"))


def _flagged_at_height(record: StepRecord | None) -> bool:
    return bool(record is not None and (record.data or {}).get("at_height"))


def at_height(order: WorkOrder) -> bool:
    """R49: the visit is work at height or on a pole: the policy for its kind and access
    type says so always, or the technician flagged it on the safety step."""
    return (policy_for(order).work_at_height
            or _flagged_at_height(_records(order).get(StepKey.SAFETY)))


def safety_ok(order: WorkOrder) -> bool:
    """R49: the work may start: not at height, or the second person is named and the
    warning sign is up (the same answer as ``checklist(order).safety_ok``, cheaper)."""
    record = _records(order).get(StepKey.SAFETY)
    if not (policy_for(order).work_at_height or _flagged_at_height(record)):
        return True
    return safety_done(record)


def checklist(order: WorkOrder, *, policy: ChecklistPolicy | None = None,
              ranges: TestRangePolicy | None = None) -> Checklist:
    """Every step the policy shows for this order, with its state."""
    policy = policy or policy_for(order)
    ranges = ranges or ranges_for(order)
    records = _records(order)
    results = _results(order)
    measures = measures_for(order, ranges)
    report = CompletionReport.objects.filter(order=order).first()
    foreign = visit_steps_done(order)
    safety_record = records.get(StepKey.SAFETY)
    at_height = policy.work_at_height or _flagged_at_height(safety_record)
    steps: list[StepState] = []
    for key in StepKey.values:
        requirement = policy.requirement(key)
        if requirement == Requirement.HIDDEN:
            continue
        if key in FOREIGN_STEPS and key not in foreign:
            continue  # its app is not installed: nothing to do or show
        if key == StepKey.SAFETY and not at_height:
            requirement = Requirement.OPTIONAL  # offered, to flag work at height
        record = records.get(key)
        status = "todo"
        if record is not None and record.status == StepRecord.Status.DECLINED:
            status = "declined"
        elif key == StepKey.SAFETY:
            status = "done" if safety_done(record) else "todo"
        elif key == StepKey.CONSENT:
            status = "done" if order.consents.exists() else "todo"
        elif key == StepKey.WORK:
            status = "done" if report is not None and report.work_done.strip() else "todo"
        elif key == StepKey.TESTS:
            have = {r.measure for r in results}
            status = "done" if measures and all(m in have for m in measures) else "todo"
            if not measures:
                continue  # nothing to measure for this service and access
        elif key in FOREIGN_STEPS:
            status = "done" if foreign.get(key) else "todo"
        elif record is not None:
            status = "done"
        steps.append(StepState(key=key, label=StepKey(key).label, rule=STEP_RULES[key],
                               requirement=requirement, status=status, record=record))
    return Checklist(order=order, policy=policy, ranges=ranges, at_height=at_height,
                     steps=steps, results=results, measures=measures, report=report)


#: States in which an order has been visited (or may have been: cancelled); before
#: these, the checklist and the results are empty and cost no query.
VISITED_STATES = frozenset({"on_site", "awaiting_revisit", "signed_off", "completed",
                            "survey_pending", "rework", "closed", "cancelled"})


def visit_record(order: WorkOrder) -> tuple[list[dict[str, Any]], list[TestResult]]:
    """The checklist (each step the policy shows: its requirement and state, with the
    recorded details) and the measured results, for the API and reports."""
    if order.state not in VISITED_STATES:
        return [], []
    state = checklist(order)
    steps = [{"step": s.key, "label": s.label, "requirement": s.requirement,
              "status": s.status, "reason": s.record.reason if s.record else "",
              "details": (s.record.data or {}) if s.record else {},
              "recorded_at": s.record.recorded_at if s.record else None}
             for s in state.steps]
    return steps, state.results
