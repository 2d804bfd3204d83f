"""Walk an order to any state through the real services.

Used by the demo-data command and by the tests' factories, so both build orders
exactly the way the product does (every step logged, every rule checked).
"""

from __future__ import annotations

import datetime as dt
import io
import random
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from PIL import Image, ImageDraw

from appointments import services as booking_services
from appointments.models import Precision
from fieldops import clock
from planning.models import OrderLocation
from surveys import services as survey_services
from technicians.models import Technician
from visits import selectors as visit_selectors
from visits import services as visit_services
from visits.models import Measure, StepKey
from workorders import services
from workorders.errors import RuleViolation
from workorders.kit import order_kit
from workorders.models import CompletionReport, ContactAttempt, Kind, State, WorkOrder

#: The path from "accepted" to each state: (state it needs first, step to get there).
_PATH: dict[str, tuple[str, str]] = {
    State.DISPATCHED: (State.ACCEPTED, "dispatch"),
    State.TAKEN: (State.DISPATCHED, "accept"),
    State.NO_RESOURCES: (State.TAKEN, "no_resources"),
    State.CONTACTED: (State.TAKEN, "contact"),
    State.SCHEDULED: (State.CONTACTED, "schedule"),
    State.PARKED: (State.CONTACTED, "park"),
    State.PREPARED: (State.SCHEDULED, "kit"),
    State.EN_ROUTE: (State.PREPARED, "depart"),
    State.ON_SITE: (State.EN_ROUTE, "check_in"),
    State.NOBODY_HOME: (State.EN_ROUTE, "nobody_home"),
    State.ABNORMAL: (State.NOBODY_HOME, "second_miss"),
    State.AWAITING_REVISIT: (State.ON_SITE, "cant_finish"),
    State.SIGNED_OFF: (State.ON_SITE, "sign_off"),
    State.COMPLETED: (State.SIGNED_OFF, "complete"),
    State.SURVEY_PENDING: (State.COMPLETED, "survey"),
    State.REWORK: (State.SURVEY_PENDING, "unsatisfied"),
    State.CLOSED: (State.SURVEY_PENDING, "satisfied"),
    State.RESOLVED_REMOTELY: (State.ACCEPTED, "remote"),
    State.CANCELLED: (State.ACCEPTED, "cancel"),
}


def demo_signature(seed: int = 0) -> dict[str, Any]:
    """A drawn-looking signature for orders walked by code (demo data and tests): the PNG
    and its strokes, as the signature pad sends them, different for every ``seed`` (R26
    refuses a drawing already bound to another order). Real sign-offs come from the
    customer's finger on the technician's screen."""


    rng = random.Random(seed)
    points = [(20 + 46 * i + rng.randint(0, 30), rng.randint(15, 105)) for i in range(6)]
    img = Image.new("RGBA", (320, 120), (255, 255, 255, 0))
    draw = ImageDraw.Draw(img)
    draw.line(points, fill=(0, 0, 0, 255), width=6)
    out = io.BytesIO()
    img.save(out, format="PNG")
    # Drawn at a hand's pace (R52 flags a signature drawn implausibly fast).
    strokes = [[[x, y, 300 * i + rng.randint(0, 20)] for i, (x, y) in enumerate(points)]]
    return {"signature": out.getvalue(), "strokes": strokes}


def path_to(state: str) -> list[str]:
    """The steps, in order, that take a new order to ``state``."""
    steps: list[str] = []
    while state != State.ACCEPTED:
        state, step = _PATH[state]
        steps.insert(0, step)
    return steps


def _visit_window(hours_ahead: int = 2) -> tuple[dt.datetime, dt.datetime]:
    start = (clock.now() + dt.timedelta(hours=hours_ahead)).replace(minute=0, second=0,
                                                                    microsecond=0)
    return start, start + dt.timedelta(hours=1)


def walk_to(order: WorkOrder, state: str, *, technician: Technician | None = None,
            dispatcher: Any = None, agent: Any = None) -> WorkOrder:
    """Take a freshly created order to ``state``. ``dispatcher`` dispatches (None: the
    system, auto-dispatch picks the technician unless one is given), ``agent`` acts for
    the call-centre, and the assigned technician does the field steps as themselves."""
    for step in path_to(state):
        order = _step(order, step, technician=technician, dispatcher=dispatcher, agent=agent)
    return order


def _step(order: WorkOrder, step: str, *, technician: Technician | None, dispatcher: Any,
          agent: Any) -> WorkOrder:
    tech_user = order.technician.user if order.technician else None
    if step == "dispatch":
        return services.work_order_dispatch(order=order, by=dispatcher, technician=technician)
    if step == "accept":
        return services.work_order_accept(order=order, by=tech_user)
    if step == "no_resources":
        return services.work_order_report_no_resources(
            order=order, by=tech_user, reason="分光器端口已满 splitter ports full")
    if step == "contact":
        order, _attempt = booking_services.work_order_log_contact(
            order=order, by=tech_user, channel=ContactAttempt.Channel.PHONE,
            outcome=ContactAttempt.Outcome.REACHED, note="确认地址和业务 address confirmed")
        return order
    if step == "schedule":
        start, end = _visit_window()
        return booking_services.work_order_schedule(order=order, by=tech_user, start=start, end=end,
                                            precision=Precision.EXACT)
    if step == "park":
        return booking_services.work_order_park(order=order, by=tech_user,
                                        until=clock.today_local() + dt.timedelta(days=7),
                                        reason="装修中 renovating")
    if step == "kit":
        return services.work_order_confirm_kit(order=order, by=tech_user,
                                               items=order_kit(order))
    if step == "depart":
        return services.work_order_depart(order=order, by=tech_user)
    if step == "check_in":
        # at the address, as the geocoder placed it (the demo city's centre otherwise)
        here = OrderLocation.objects.filter(order_id=order.pk).first()
        return services.work_order_check_in(
            order=order, by=tech_user, latitude=here.latitude if here else 39.9087,
            longitude=here.longitude if here else 116.3975)
    if step == "nobody_home":
        return services.work_order_nobody_home(order=order, by=tech_user,
                                               note="10:05 到达, 10:20 离开, 已留联系卡")
    if step == "second_miss":
        for sub in ("schedule", "kit", "depart", "nobody_home"):
            order = _step(order, sub, technician=technician, dispatcher=dispatcher,
                          agent=agent)
        return order
    if step == "cant_finish":
        return services.work_order_cant_finish(
            order=order, by=tech_user, reason="需更换入户光缆 drop cable must be replaced",
            promised_at=clock.now() + dt.timedelta(days=1))
    if step == "sign_off":
        make_safe(order, tech_user)  # R49: at height, before the report
        services.work_order_save_report(
            order=order, by=tech_user, work_done="安装光猫并测速 ONU installed, speed tested",
            fault_cause="line" if order.kind == Kind.REPAIR else "", download_mbps=500,
            onu_activated=True)
        finish_checklist(order, tech_user)
        services.work_order_customer_sign_off(order=order, by=tech_user,
                                              **demo_signature(order.pk),
                                              signer_name=order.customer.name, rating=5)
        return WorkOrder.objects.get(pk=order.pk)
    if step == "complete":
        report = CompletionReport.objects.get(order=order).as_dict()
        return services.work_order_complete(order=order, by=tech_user, report=report)
    if step == "survey":
        return survey_services.work_order_start_survey(order=order)
    if step == "unsatisfied":
        return survey_services.work_order_record_survey(order=order, by=agent, satisfied=False,
                                                 comment="网速慢 still slow")
    if step == "satisfied":
        return survey_services.work_order_record_survey(order=order, by=agent, satisfied=True)
    if step == "remote":
        return services.work_order_resolve_remotely(order=order, by=agent,
                                                    resolution="重启光猫后恢复 restarted ONU")
    if step == "cancel":
        return services.work_order_cancel(order=order, by=agent,
                                          reason="客户取消 customer cancelled")
    raise ValueError(step)


def first_readings(order: WorkOrder, by: Any) -> None:
    """An on-site order's first measured results (R48): the optical power from the line
    test where the access has one, and the download speed for broadband."""
    state = visit_selectors.checklist(order)
    if not state.safety_ok:
        return
    if Measure.RX_POWER in state.missing_measures:
        try:
            visit_services.work_order_read_line(order=order, by=by)
        except RuleViolation as error:
            if error.field != Measure.RX_POWER:
                raise
    if Measure.SPEED_DOWN in state.missing_measures:
        visit_services.work_order_record_reading(
            order=order, by=by, measure=Measure.SPEED_DOWN,
            value=f"{state.ranges.plan_down_mbps * 0.93:.1f}")


def make_safe(order: WorkOrder, by: Any) -> None:
    """R49: where the visit is work at height, name the second person (a helper) and put
    up the warning sign before any work (the report, readings, equipment, materials)."""
    if not visit_selectors.safety_ok(order):
        visit_services.work_order_record_safety(order=order, by=by, at_height=True,
                                                second_person="李强 helper",
                                                warning_sign=True)


def finish_checklist(order: WorkOrder, by: Any) -> None:
    """Complete what the checklist policy still requires of an on-site order through the
    visit's services (R43, R44, R48, R49), as a careful technician would: safety at
    height, the readings (typed), the customer's try-out and the explanation, the
    clean-up; a required step kept by another app and not done is declined with a
    reason."""
    make_safe(order, by)
    state = visit_selectors.checklist(order)
    plan: dict[str, int] = {Measure.SPEED_DOWN: state.ranges.plan_down_mbps,
                            Measure.SPEED_UP: state.ranges.plan_up_mbps}
    # Typed, not read from the line test: the demo network's reading follows the address,
    # and a scale copy (its own customer and address) must seal what its template did.
    for measure in state.missing_measures:
        if measure == Measure.RX_POWER:
            visit_services.work_order_record_reading(order=order, by=by, measure=measure,
                                                     value="-18.5")
        elif measure in plan:
            visit_services.work_order_record_reading(order=order, by=by, measure=measure,
                                                     value=f"{plan[measure] * 0.95:.1f}")
        else:
            visit_services.work_order_record_reading(order=order, by=by, measure=measure,
                                                     passed=True)
    state = visit_selectors.checklist(order)
    tryout = state.step(StepKey.TRYOUT)
    if tryout is not None and tryout.status == "todo":
        tried = {"broadband": ["internet"], "fixed_line": ["call"], "iptv": ["tv"]}
        visit_services.work_order_record_tryout(
            order=order, by=by, tried=tried.get(order.service, ["internet"]), worked=True,
            explained=["use", "upkeep", *(["cause"] if order.kind == Kind.REPAIR else [])])
    cleanup = state.step(StepKey.CLEANUP)
    if cleanup is not None and cleanup.status == "todo":
        visit_services.work_order_record_cleanup(order=order, by=by, done=True)
    for step in visit_selectors.checklist(order).steps:
        if step.required and not step.settled:
            visit_services.work_order_decline_step(order=order, by=by, step=step.key,
                                                   reason="未在本次记录 not recorded here")


# --- Whole lives: the distinct paths an order takes to an end ------------------------

def _more(order: WorkOrder, step: str, agent: Any) -> WorkOrder | None:
    """Steps the state-by-state walk above never needs (they go back or sideways)."""
    tech_user = order.technician.user if order.technician else None
    if step == "resume":
        return booking_services.work_order_resume(order=order, by=tech_user,
                                                  reason="客户装修完毕 renovation done")
    if step == "return_from_abnormal":
        return services.work_order_return_from_abnormal(
            order=order, by=agent, callback_note="回访：客户同意重新预约 agreed to rebook")
    if step == "close_abnormal":
        return services.work_order_close_abnormal(
            order=order, by=agent, callback_note="回访：客户不再需要 no longer needed")
    if step == "resolve_rework":
        return survey_services.work_order_resolve_rework(
            order=order, by=tech_user, note="更换光猫后网速正常 ONU replaced, speed fine")
    return None


@dataclass(frozen=True)
class LifePath:
    """One way an order goes from intake to an end, step by step (``step`` names), with
    the minutes before each step: after the step before it, or, for the field steps of
    a visit (``VISIT_STEPS``), from the booked visit's start. A booked visit is two
    hours after the booking, on the hour (``_visit_window``)."""

    name: str
    steps: tuple[str, ...]
    gaps: tuple[float, ...]
    kinds: tuple[str, ...] = ()  # empty: every kind

    def __post_init__(self) -> None:
        if len(self.steps) != len(self.gaps):
            raise ValueError(f"{self.name}: one gap per step")


#: Field steps timed from the booked visit rather than from the step before.
VISIT_STEPS = frozenset({"kit", "depart", "check_in", "nobody_home"})

_VISIT = ("schedule", "kit", "depart")
_VISIT_GAPS = (4, -75, -40)
_FINISH = ("sign_off", "complete", "survey")
_FINISH_GAPS = (60, 8, 2)
_HAPPY = ("dispatch", "accept", "contact", *_VISIT, "check_in", *_FINISH, "satisfied")
_HAPPY_GAPS = (10, 4, 12, *_VISIT_GAPS, -2, *_FINISH_GAPS, 600)

#: The distinct lives the scale data is made of; the breach paths take the same steps
#: as another path, late where a promise is timed (R7/R7a contact, R14 arrival, R36).
LIFE_PATHS: dict[str, LifePath] = {p.name: p for p in (
    LifePath("happy", _HAPPY, _HAPPY_GAPS),
    LifePath("late_contact", _HAPPY, (10, 4, 95, *_HAPPY_GAPS[3:])),
    LifePath("late_arrival", _HAPPY, (*_HAPPY_GAPS[:6], 25, *_HAPPY_GAPS[7:])),
    LifePath("no_resources", ("dispatch", "accept", "no_resources", "dispatch", *_HAPPY[1:]),
             (10, 4, 20, 2 * 1440, *_HAPPY_GAPS[1:])),
    LifePath("parked", ("dispatch", "accept", "contact", "park", "resume", *_HAPPY[3:]),
             (10, 4, 12, 5, 7 * 1440 + 600, *_HAPPY_GAPS[3:])),
    LifePath("nobody_home", ("dispatch", "accept", "contact", *_VISIT, "nobody_home",
                             *_VISIT, "check_in", *_FINISH, "satisfied"),
             (10, 4, 12, *_VISIT_GAPS, 5, 1300, -75, -40, -2, *_FINISH_GAPS, 600)),
    LifePath("abnormal", ("dispatch", "accept", "contact", *_VISIT, "nobody_home",
                          *_VISIT, "nobody_home", "close_abnormal"),
             (10, 4, 12, *_VISIT_GAPS, 5, 1300, -75, -40, 5, 600)),
    LifePath("cant_finish", ("dispatch", "accept", "contact", *_VISIT, "check_in",
                             "cant_finish", *_VISIT, "check_in", *_FINISH, "satisfied"),
             (10, 4, 12, *_VISIT_GAPS, -2, 60, 1200, -75, -40, -2, *_FINISH_GAPS, 600)),
    LifePath("rework", (*_HAPPY[:-1], "unsatisfied", "resolve_rework", "satisfied"),
             (*_HAPPY_GAPS[:-1], 300, 240, 600)),
    LifePath("remote", ("remote",), (45,), kinds=(Kind.REPAIR,)),
    LifePath("cancel_early", ("cancel",), (120,)),
    LifePath("cancel_dispatched", ("dispatch", "accept", "cancel"), (10, 4, 180)),
)}


def step_times(path: LifePath, start: dt.datetime) -> list[dt.datetime]:
    """The moment of each step of ``path`` for an order created at ``start``."""
    out: list[dt.datetime] = []
    visit: dt.datetime | None = None
    t = start
    for step, gap in zip(path.steps, path.gaps, strict=True):
        if step in VISIT_STEPS and visit is not None:
            t = max(t + dt.timedelta(minutes=1), visit + dt.timedelta(minutes=gap))
        else:
            t = t + dt.timedelta(minutes=gap)
        if step == "schedule":  # mirrors _visit_window
            visit = (t + dt.timedelta(hours=2)).replace(minute=0, second=0, microsecond=0)
        out.append(t)
    return out


def walk(order: WorkOrder, path: LifePath, *, sim: Any,
         after_step: Callable[[WorkOrder, str, dt.datetime], None] | None = None,
         technician: Technician | None = None, dispatcher: Any = None,
         agent: Any = None) -> WorkOrder:
    """Walk a freshly created order along ``path`` through the real services, setting
    the simulated clock ``sim`` (``demo.sandbox.simulated_time``) to each step's moment;
    ``after_step(order, step, at)`` is called after every step."""
    for step, at in zip(path.steps, step_times(path, order.created_at), strict=True):
        sim.set(at)
        order = _more(order, step, agent) or _step(
            order, step, technician=technician, dispatcher=dispatcher, agent=agent)
        if after_step is not None:
            after_step(order, step, at)
    return order
