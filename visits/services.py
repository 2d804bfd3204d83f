"""Every write of the visit's checklist and test results. Each service validates first
(a ``RuleViolation`` naming the field and the rule, nothing written), then locks the
order, checks it is on site and that the caller is its technician (R41), writes and logs
the fact (``RECORD_VISIT_STEP`` / ``RECORD_TEST_RESULT``, R42) in one transaction."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from fieldops import clock
from fieldops.text import refuse_hidden_characters, strip_hidden_characters
from technicians.models import Technician
from workorders.errors import RuleViolation
from workorders.events import OrderAction
from workorders.images import files_discarded_on_error, prepare_image, save_photo
from workorders.lifecycle import User, own_step, record_event, require
from workorders.models import Photo, State, WorkOrder

from . import linetest
from .checks import work_may_start
from .models import (
    RX_ABSURD_HIGH,
    RX_ABSURD_LOW,
    SPEED_ABSURD_FACTOR,
    STEP_RULES,
    Measure,
    Source,
    StepKey,
    StepRecord,
    TestResult,
)
from .selectors import checklist, expected_text, in_range, ranges_for

TRIED = ("call", "internet", "tv")
EXPLAINED = ("use", "upkeep", "cause")
#: Steps that cannot be declined: the work itself, the try-out (the customer may decline
#: it, R43: that is recorded as the try-out), safety at height (R49).
NOT_DECLINABLE = (StepKey.WORK, StepKey.TRYOUT, StepKey.SAFETY)
SECOND_PERSON_MAX = 100


def _save_step(locked: WorkOrder, by: User, step: str, status: str, *,
               data: dict[str, Any] | None = None, reason: str = "",
               photo: Photo | None = None) -> StepRecord:
    now = clock.now()
    reason = strip_hidden_characters(reason)
    before = StepRecord.objects.filter(order=locked, step=step).first()
    record, _created = StepRecord.objects.update_or_create(
        order=locked, step=step,
        defaults={"status": status, "data": data or {}, "reason": reason.strip(),
                  "photo": photo, "recorded_at": now, "recorded_by": by})
    record_event(order=locked, by=by, action=OrderAction.RECORD_VISIT_STEP,
                 from_state=locked.state, to_state=locked.state, reason=reason.strip(),
                 at=now, payload={"step": step, "status": status, "data": data or {},
                                  "before": before.status if before else None,
                                  "rule": STEP_RULES[step]})
    return record


def _lock(order: WorkOrder, by: User, action: OrderAction = OrderAction.RECORD_VISIT_STEP
          ) -> WorkOrder:
    return own_step(order, by, action, [State.ON_SITE])


def work_order_record_tryout(*, order: WorkOrder, by: User, tried: list[str] | tuple[str, ...],
                             worked: bool | None, customer_declined: bool = False,
                             explained: list[str] | tuple[str, ...] = (),
                             note: str = "") -> StepRecord:
    """R43: what the customer tried themselves (a call, going online, TV) and whether it
    worked, or that they declined to try; what was explained (use, upkeep and, for a
    repair, the cause of the fault)."""
    tried = [t for t in TRIED if t in set(tried)]
    explained = [e for e in EXPLAINED if e in set(explained)]
    if not customer_declined:
        if not tried:
            raise RuleViolation(_("Say what the customer tried, or that they declined."),
                                field="tried", rule="R43")
        if worked is None:
            raise RuleViolation(_("Say whether it worked for the customer."),
                                field="worked", rule="R43")
    data = {"tried": [] if customer_declined else tried,
            "worked": None if customer_declined else bool(worked),
            "customer_declined": bool(customer_declined), "explained": explained,
            "note": strip_hidden_characters(note).strip()[:500]}
    with transaction.atomic():
        locked = _lock(order, by)
        return _save_step(locked, by, StepKey.TRYOUT, StepRecord.Status.DONE, data=data)


def work_order_record_cleanup(*, order: WorkOrder, by: User, done: bool,
                              photo: Any = None) -> StepRecord:
    """R44: the site is left as it was found (the customer's things back, waste and left-
    over material taken away); a photo is optional and joins the visit's photos."""
    if not done:
        raise RuleViolation(_("Tick that the site is cleaned up."), field="done", rule="R44")
    prepared = prepare_image(photo, field="photo", rule="R44") if photo else None
    with files_discarded_on_error(), transaction.atomic():
        locked = _lock(order, by)
        now = clock.now()
        saved = (save_photo(locked, prepared, kind=Photo.Kind.OTHER, by=by, now=now,
                            caption=_("Clean-up")) if prepared else None)
        if saved is None:  # keep a photo taken earlier
            earlier = StepRecord.objects.filter(order=locked, step=StepKey.CLEANUP).first()
            saved = earlier.photo if earlier else None
        return _save_step(locked, by, StepKey.CLEANUP, StepRecord.Status.DONE,
                          data={"cleaned": True}, photo=saved)


def work_order_record_safety(*, order: WorkOrder, by: User, at_height: bool,
                             second_technician: Technician | None = None,
                             second_person: str = "", warning_sign: bool = False
                             ) -> StepRecord:
    """R49: work at height or on a pole needs two people, the second one named on the
    order (another technician, or a helper by name), and a warning sign where the public
    passes. Without work at height, the step records just that."""
    second_person = " ".join(second_person.split())
    try:
        refuse_hidden_characters(second_person)
    except ValidationError as error:
        raise RuleViolation(error.messages[0], field="second_person", rule="R49") from None
    if len(second_person) > SECOND_PERSON_MAX:
        raise RuleViolation(_("Shorten this text to %(limit)d characters; it has "
                              "%(length)d.") % {"limit": SECOND_PERSON_MAX,
                                                "length": len(second_person)},
                            field="second_person", rule="R49")
    data: dict[str, Any] = {"at_height": bool(at_height)}
    if at_height:
        if second_technician is None and not second_person:
            raise RuleViolation(_("Name the second person: another technician or a "
                                  "helper."), field="second_person", rule="R49")
        if not warning_sign:
            raise RuleViolation(_("Put up the warning sign where people pass."),
                                field="warning_sign", rule="R49")
        data.update({"second_technician": second_technician.pk if second_technician else None,
                     "second_person": (second_person or str(second_technician)),
                     "warning_sign": True})
    with transaction.atomic():
        locked = _lock(order, by)
        if second_technician is not None and second_technician.pk == locked.technician_id:
            raise RuleViolation(_("The second person is someone else than you."),
                                field="second_technician", rule="R49")
        if not at_height and checklist(locked).policy.work_at_height:
            raise RuleViolation(_("This kind of visit is always work at height."),
                                field="at_height", rule="R49")
        return _save_step(locked, by, StepKey.SAFETY, StepRecord.Status.DONE, data=data)


def work_order_decline_step(*, order: WorkOrder, by: User, step: str,
                            reason: str) -> StepRecord:
    """A step the policy shows is declined, with the reason (e.g. no risky step, the
    customer keeps their own router). Declining is recorded like any step."""
    if step not in StepKey.values:
        raise RuleViolation(_("Unknown step."), field="step")
    rule = STEP_RULES[step]
    if step in NOT_DECLINABLE:
        raise RuleViolation(_("This step cannot be declined."), field="step", rule=rule)
    require(reason, _("Say why the step is declined."), field="reason", rule=rule)
    with transaction.atomic():
        locked = _lock(order, by)
        return _save_step(locked, by, step, StepRecord.Status.DECLINED, reason=reason)


def work_order_undo_decline(*, order: WorkOrder, by: User, step: str) -> None:
    """Take back a declined step (it is to do again); logged like the decline."""
    with transaction.atomic():
        locked = _lock(order, by)
        deleted, _rows = StepRecord.objects.filter(
            order=locked, step=step, status=StepRecord.Status.DECLINED).delete()
        if deleted:
            record_event(order=locked, by=by, action=OrderAction.RECORD_VISIT_STEP,
                         from_state=locked.state, to_state=locked.state,
                         payload={"step": step, "status": "todo", "before": "declined",
                                  "rule": STEP_RULES.get(step, "")})


def _number(value: Any, field: str) -> Decimal:
    try:
        number = Decimal(str(value).strip().replace(",", ".").replace("−", "-"))
    except (InvalidOperation, ValueError):
        raise RuleViolation(_("Type a number."), field=field, rule="R48") from None
    if not number.is_finite():
        raise RuleViolation(_("Type a number."), field=field, rule="R48")
    return number.quantize(Decimal("0.1"))


def _checked_value(order: WorkOrder, measure: str, value: Any, passed: bool | None
                   ) -> tuple[Decimal | None, bool | None]:
    """R48: refuse what no instrument shows (+40 dBm, 10 Gbit/s on a 100 Mbit/s plan)."""
    if measure in (Measure.TEST_CALL, Measure.IPTV):
        if passed is None:
            raise RuleViolation(_("Say whether it worked."), field=measure, rule="R48")
        return None, bool(passed)
    if value in (None, ""):
        raise RuleViolation(_("Type the reading."), field=measure, rule="R48")
    number = _number(value, measure)
    if measure == Measure.RX_POWER:
        if not RX_ABSURD_LOW <= number <= RX_ABSURD_HIGH:
            raise RuleViolation(
                _("%(value)s dBm is not a possible optical reading (between -50 and "
                  "+10 dBm); check the meter and type it again.") % {"value": number},
                field=measure, rule="R48")
        return number, None
    ranges = ranges_for(order)
    plan = ranges.plan_down_mbps if measure == Measure.SPEED_DOWN else ranges.plan_up_mbps
    if number < 0 or number > plan * SPEED_ABSURD_FACTOR:
        raise RuleViolation(
            _("%(value)s Mbit/s is not possible on a %(plan)s Mbit/s line; check the "
              "speed test and type it again.") % {"value": number, "plan": plan},
            field=measure, rule="R48")
    return number, None


def _save_result(locked: WorkOrder, by: User, measure: str, *, value: Decimal | None,
                 passed: bool | None, source: str, reason: str = "",
                 onu_state: str = "") -> TestResult:
    ranges = ranges_for(locked)
    now = clock.now()
    reason = strip_hidden_characters(reason)
    ok = in_range(measure, value, passed, ranges)
    result, _created = TestResult.objects.update_or_create(
        order=locked, measure=measure,
        defaults={"value": value, "passed": passed, "in_range": ok,
                  "expected": expected_text(measure, ranges), "source": source,
                  "onu_state": onu_state, "reason": reason.strip(), "recorded_at": now,
                  "recorded_by": by})
    record_event(order=locked, by=by, action=OrderAction.RECORD_TEST_RESULT,
                 from_state=locked.state, to_state=locked.state, reason=reason.strip(),
                 at=now, payload={"measure": measure,
                                  "value": None if value is None else str(value),
                                  "passed": passed, "in_range": ok, "source": source,
                                  "onu_state": onu_state})
    return result


def work_order_record_reading(*, order: WorkOrder, by: User, measure: str, value: Any = None,
                              passed: bool | None = None, reason: str = "") -> TestResult:
    """R48: a measured result typed by the technician, held against the policy's range
    for the order's access type. Out of range it is kept (sign-off then needs the reason
    and an outstanding issue, R27); an impossible value is refused and nothing written.
    A reading the network gave (``work_order_read_line``) cannot be typed over."""
    if measure not in Measure.values:
        raise RuleViolation(_("Choose what was measured."), field="measure", rule="R48")
    number, passed = _checked_value(order, measure, value, passed)
    with transaction.atomic():
        locked = _lock(order, by, OrderAction.RECORD_TEST_RESULT)
        work_may_start(locked)  # R49
        existing = TestResult.objects.filter(order=locked, measure=measure).first()
        if existing is not None and existing.source == Source.NETWORK:
            raise RuleViolation(_("This reading came from the network and cannot be typed "
                                  "over."), field=measure, rule="R48")
        return _save_result(locked, by, measure, value=number, passed=passed,
                            source=Source.TYPED, reason=reason)


def work_order_justify_reading(*, order: WorkOrder, by: User, measure: str,
                               reason: str) -> TestResult:
    """R48: why an out-of-range result stands (the value itself is not touched)."""
    require(reason, _("Say why the result is out of range."), field="reason", rule="R48")
    with transaction.atomic():
        locked = _lock(order, by, OrderAction.RECORD_TEST_RESULT)
        result = TestResult.objects.filter(order=locked, measure=measure).first()
        if result is None:
            raise RuleViolation(_("Record the reading first."), field=measure, rule="R48")
        return _save_result(locked, by, measure, value=result.value, passed=result.passed,
                            source=result.source, reason=reason, onu_state=result.onu_state)


def work_order_read_line(*, order: WorkOrder, by: User) -> TestResult:
    """R48: ask the operator's network (``LINE_TEST_BACKEND``) for the ONU's optical
    receive power and registration state; the result is marked network-verified."""
    try:
        reading = linetest.backend().read(order)
    except linetest.LineTestUnavailable:
        raise RuleViolation(_("The network gave no reading; type the meter's reading."),
                            field=Measure.RX_POWER, rule="R48") from None
    if reading.rx_power_dbm is None:
        raise RuleViolation(_("The network has no optical reading for this line."),
                            field=Measure.RX_POWER, rule="R48")
    value = Decimal(reading.rx_power_dbm).quantize(Decimal("0.1"))
    with transaction.atomic():
        locked = _lock(order, by, OrderAction.RECORD_TEST_RESULT)
        work_may_start(locked)  # R49
        earlier = TestResult.objects.filter(order=locked, measure=Measure.RX_POWER).first()
        return _save_result(locked, by, Measure.RX_POWER, value=value, passed=None,
                            source=Source.NETWORK, onu_state=reading.onu_state[:40],
                            reason=earlier.reason if earlier else "")
