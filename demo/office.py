"""Demo and benchmark data, made by ``manage.py demo_data`` (the command stays thin).

Two modes:

``build_demo()``, the default: a small, realistic office for a first run and for
people trying the product. Five Beijing areas (片区/网格, four urban, one rural),
three teams, eight technicians, a dispatcher, a call-centre agent, a supervisor
and an admin, then ~60 customers and ~66 orders of every kind, service, access
type, channel and customer class, at least two in every ``State``. Every order is
created with ``services.work_order_create`` and walked to its state step by step
through ``demo.scenarios`` (the same steps the tests' ``make_order`` takes),
so every rule is checked and every change logged (R42) exactly as in production.
Time is simulated: ``fieldops.clock`` (the product's one seam for "now") is set to
each step's moment, so an order closed "three weeks ago" was created, dispatched,
visited and surveyed three weeks ago, and open orders are recent, with their
visits around now. The whole run is one transaction. Nothing leaves the building:
demo customers' made-up numbers may belong to real people, so the SMS, e-mail and
webhook rows the services write to the outbox are marked never sent, and what they
queue for after commit (deliveries, the survey task) is dropped; the snapshot's
"completed" orders would otherwise also move on as soon as a worker starts.
"""

from __future__ import annotations

import datetime as dt
import math
import random
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from django.db import transaction
from django.utils import timezone

from appointments.models import AppointmentStatus
from dashboards.services import order_facts_refresh_stale
from fieldops import clock
from planning.models import OrderLocation, PositionSource
from planning.services import technician_position_record
from surveys.services import callbacks_open_due
from technicians.models import Area, Technician
from workorders import selectors, services
from workorders.models import (
    Channel,
    Customer,
    CustomerClass,
    Kind,
    Service,
    WorkOrder,
)

from . import scenarios
from .reference import (
    _ALL_ACCESS,
    _ALL_KINDS,
    _ALL_SERVICES,
    COMPANIES,
    DEFAULT_SEED,
    DEMO_AREAS,
    MINUTE,
    NOTES,
    SYMPTOMS,
    Reference,
    S,
    _access_for,
    _address,
    _district_of,
    _mobile,
    _person_name,
    ensure_reference,
)
from .sandbox import SimulatedClock, simulated_time, without_side_effects
from .stock import ensure_stock

DEMO_STATE_COUNTS: dict[str, int] = {
    S.ACCEPTED: 4, S.DISPATCHED: 3, S.TAKEN: 2, S.NO_RESOURCES: 2, S.CONTACTED: 3,
    S.SCHEDULED: 4, S.PARKED: 2, S.PREPARED: 2, S.EN_ROUTE: 2, S.ON_SITE: 2,
    S.NOBODY_HOME: 2, S.ABNORMAL: 2, S.AWAITING_REVISIT: 2, S.SIGNED_OFF: 2,
    S.COMPLETED: 2, S.SURVEY_PENDING: 3, S.REWORK: 2, S.RESOLVED_REMOTELY: 3,
    S.CLOSED: 20, S.CANCELLED: 2,
}
DEMO_CUSTOMERS = 60

#: Minutes between a step and the one before it (scenario step names).
_GAP_MINUTES: dict[str, tuple[int, int]] = {
    "dispatch": (2, 25), "accept": (1, 8), "no_resources": (5, 30), "contact": (3, 18),
    "schedule": (1, 8), "park": (2, 20), "cant_finish": (30, 90), "sign_off": (30, 120),
    "complete": (3, 15), "survey": (1, 3), "unsatisfied": (60, 1440),
    "satisfied": (60, 1800), "remote": (10, 180), "cancel": (10, 600),
}
#: Minutes from the booked visit: kit checked at the depot, on the way, check-in within
#: the R14 window, or nobody home (filed on arrival, R18).
_AT_VISIT_MINUTES: dict[str, tuple[int, int]] = {
    "kit": (-90, -60), "depart": (-50, -30), "check_in": (-10, 8), "nobody_home": (3, 9),
}
#: About one order in ten breaks a promise, so the SLA pages have something to show:
#: the call comes after the R7/R7a window, or the technician arrives late (R14).
_LATE_MINUTES: dict[str, tuple[int, int]] = {"contact": (35, 90), "check_in": (11, 30)}
_LATE_SHARE = 0.08
#: Minutes an order has been in its final state at the moment of the run.
_DWELL_MINUTES: dict[str, tuple[int, int]] = {
    S.ACCEPTED: (1, 30), S.DISPATCHED: (1, 20), S.TAKEN: (1, 20),
    S.NO_RESOURCES: (600, 4000), S.CONTACTED: (1, 60), S.SCHEDULED: (1, 2),
    S.PARKED: (1440, 5 * 1440), S.PREPARED: (1, 2), S.EN_ROUTE: (1, 2), S.ON_SITE: (1, 10),
    S.NOBODY_HOME: (60, 1200), S.ABNORMAL: (60, 2000), S.AWAITING_REVISIT: (60, 1200),
    S.SIGNED_OFF: (1, 5), S.COMPLETED: (1, 5), S.SURVEY_PENDING: (60, 2000),
    S.REWORK: (60, 1200), S.RESOLVED_REMOTELY: (1440, 20 * 1440),
    S.CLOSED: (1440, 30 * 1440), S.CANCELLED: (1440, 20 * 1440),
}
#: ``scenarios`` reaches "abnormal" with one composite step; the demo takes its parts
#: one at a time so the second booking and the second miss happen on their own day.
_SECOND_MISS = ("schedule", "kit", "depart", "nobody_home")


@dataclass
class _DemoOrder:
    target: str
    customer: dict[str, Any]
    kind: str
    channel: str
    steps: list[str]
    gaps: list[float]  # seconds: after the previous step, or from the visit
    created: dt.datetime = field(default_factory=timezone.now)
    planned: list[dt.datetime] = field(default_factory=list)
    dispatch_by_hand: bool = False
    notes: str = ""
    seed: int = 0  # the order's own draws, so they do not depend on the walking order
    #: Minutes in its final state at the run, when not the state's usual ``_DWELL_MINUTES``.
    dwell: tuple[int, int] | None = None


def _spread(rng: random.Random, values: Sequence[str], weights: Sequence[float],
            n: int) -> list[str]:
    """n values drawn by weight, with every value at least once (when n allows)."""
    out = list(values)[:n]
    out += rng.choices(values, weights=weights, k=n - len(out))
    rng.shuffle(out)
    return out


def _demo_customers(rng: random.Random, areas: list[Area]) -> list[dict[str, Any]]:
    by_code = {a.code: a for a in areas}
    codes = [c for c, *_ in DEMO_AREAS]
    area_codes = _spread(rng, codes, [w for *_, w in DEMO_AREAS], DEMO_CUSTOMERS)
    services_ = _spread(rng, _ALL_SERVICES, (65, 15, 20), DEMO_CUSTOMERS)
    classes = _spread(rng, CustomerClass.values, (90, 10), DEMO_CUSTOMERS)
    accesses = [_access_for(rng, by_code[c].area_type) for c in area_codes]
    for i, access in enumerate(_ALL_ACCESS):  # every access type at least once
        if access not in accesses:
            accesses[i] = access
    phones: set[str] = set()
    customers = []
    for i in range(DEMO_CUSTOMERS):
        area = by_code[area_codes[i]]
        phone = _mobile(rng)
        while phone in phones:
            phone = _mobile(rng)
        phones.add(phone)
        company = classes[i] == CustomerClass.VIP and rng.random() < 0.6
        service = services_[i]
        if service == Service.FIXED_LINE:
            number = f"010-6{rng.randrange(10_000_000):07d}"
        else:
            prefix = "KD010" if service == Service.BROADBAND else "ITV010"
            number = f"{prefix}{rng.randrange(100_000_000):08d}"
        customers.append({
            "customer_name": rng.choice(COMPANIES) if company else _person_name(rng),
            "contact_phone": phone,
            "alt_phone": _mobile(rng) if rng.random() < 0.2 else "",
            "customer_class": classes[i],
            "account_number": number,
            "address": _address(rng, _district_of(area), area.name),
            "area": area,
            "service": service,
            "access_type": accesses[i],
        })
    return customers


def _demo_steps(target: str) -> list[str]:
    steps: list[str] = []
    for step in scenarios.path_to(target):
        steps.extend(_SECOND_MISS if step == "second_miss" else [step])
    return steps


def _minutes(rng: random.Random, span: tuple[int, int]) -> float:
    return rng.uniform(*span) * MINUTE


def _plan(order: _DemoOrder, rng: random.Random, now: dt.datetime) -> None:
    """Give every step a moment so the order reaches its state a realistic while ago.

    Times run forward from a trial start; a booked visit is ``scenarios``' "two hours
    ahead, on the hour" (mirrored here), and field steps sit around the visit. The whole
    timeline is then moved by whole hours (which keeps the visits on the hour) so the
    last step lands ``dwell`` before now; an order that ended days ago is moved a few
    hours more if that puts its intake and visits in the daytime.
    """
    gaps = []
    previous = ""
    for step in order.steps:
        if step in _LATE_MINUTES and rng.random() < _LATE_SHARE:
            gaps.append(_minutes(rng, _LATE_MINUTES[step]))
        elif step in _AT_VISIT_MINUTES:
            gaps.append(_minutes(rng, _AT_VISIT_MINUTES[step]))
        elif step == "schedule" and previous == "nobody_home":
            gaps.append(_minutes(rng, (1200, 1500)))  # booked again for the next day
        else:
            gaps.append(_minutes(rng, _GAP_MINUTES[step]))
        previous = step
    order.gaps = gaps
    trial = (now - dt.timedelta(days=40)).replace(microsecond=0) - dt.timedelta(
        seconds=rng.randrange(3600))
    times, visits = _times(trial, order.steps, gaps)
    last = times[-1] if times else trial
    lo, hi = order.dwell or _DWELL_MINUTES[order.target]
    dwell = rng.uniform(lo, hi)
    hours = math.floor((now - dt.timedelta(minutes=dwell) - last) / dt.timedelta(hours=1))
    daytime = [  # whole-hour moves that keep the dwell in range
        extra for extra in range(-23, 24) if lo <= dwell + 60 * extra <= hi
        and 8 <= timezone.localtime(trial + dt.timedelta(hours=hours - extra)).hour < 21
        and all(9 <= timezone.localtime(v + dt.timedelta(hours=hours - extra)).hour < 18
                for v in visits)
    ]
    if daytime:
        hours -= rng.choice(daytime)
    shift = dt.timedelta(hours=hours)
    order.created = trial + shift
    order.planned = [t + shift for t in times]


def _visit_for(booked_at: dt.datetime) -> dt.datetime:
    """Mirror of ``scenarios._visit_window``: two hours ahead, on the hour."""
    return (booked_at + dt.timedelta(hours=2)).replace(minute=0, second=0, microsecond=0)


def _times(start: dt.datetime, steps: list[str],
           gaps: list[float]) -> tuple[list[dt.datetime], list[dt.datetime]]:
    """Each step's moment, and the visits booked on the way."""
    out: list[dt.datetime] = []
    visits: list[dt.datetime] = []
    t = start
    for step, gap in zip(steps, gaps, strict=True):
        if step in _AT_VISIT_MINUTES and visits:
            t = max(t + dt.timedelta(minutes=1), visits[-1] + dt.timedelta(seconds=gap))
        else:
            t = t + dt.timedelta(seconds=gap)
        if step == "schedule":
            visits.append(_visit_for(t))
        out.append(t)
    return out, visits


def _demo_plan(rng: random.Random, ref: Reference) -> list[_DemoOrder]:
    customers = _demo_customers(rng, ref.areas)
    targets = [state for state, n in DEMO_STATE_COUNTS.items() for _ in range(n)]
    rng.shuffle(targets)
    # Remote resolution is for repairs (R2); give them repairs before spreading kinds.
    targets.sort(key=lambda s: s != S.RESOLVED_REMOTELY)
    kinds: list[str] = [Kind.REPAIR] * targets.count(S.RESOLVED_REMOTELY)
    kinds += _spread(rng, _ALL_KINDS, (40, 15, 45), len(targets) - len(kinds))
    channels = _spread(rng, Channel.values, (40, 10, 25, 12, 8, 5), len(targets))
    now = timezone.now()
    orders = []
    for i, target in enumerate(targets):
        orders.append(_DemoOrder(target=target, customer={}, kind=kinds[i], channel=channels[i],
                                 steps=_demo_steps(target), gaps=[],
                                 dispatch_by_hand=rng.random() < 0.25,
                                 notes=rng.choice(NOTES), seed=rng.getrandbits(64)))
    # R30: one survey has waited long enough for its callback (24 hours after an SMS the
    # quiet hours may have held back up to 11), so the call-centre's queue is not empty.
    next(o for o in orders if o.target == S.SURVEY_PENDING).dwell = (36 * 60, 48 * 60)
    rng.shuffle(orders)
    # The first 60 orders each bring a new customer; the rest are the second call of a
    # customer whose first order is long closed (a repair or a move, after the install).
    for order, customer in zip(orders, customers, strict=False):
        order.customer = customer
    firsts = [o for o in orders[:len(customers)] if o.target == S.CLOSED]
    repeats = orders[len(customers):]
    for order, first in zip(repeats, rng.sample(firsts, len(repeats)), strict=True):
        order.customer = first.customer
        first.kind = Kind.INSTALL
        if order.kind == Kind.INSTALL:
            order.kind = rng.choice((Kind.REPAIR, Kind.MOVE))
    involved = {id(o) for o in repeats} | {id(o.customer) for o in repeats}
    free = [o for o in orders if o.target != S.RESOLVED_REMOTELY
            and id(o) not in involved and id(o.customer) not in involved]
    for kind in _ALL_KINDS:  # the changes above must not lose a kind
        if all(o.kind != kind for o in orders):
            free.pop().kind = kind
    for order in orders:
        _plan(order, random.Random(order.seed), now)
    # A customer's first order ends days before their next call: move it back by whole
    # days (keeps its times of day and its visits on the hour).
    for order in repeats:
        first = next(o for o in orders if o.customer is order.customer)
        days = 0
        while first.planned[-1] - dt.timedelta(days=days) > order.created - dt.timedelta(days=2):
            days += 1
        first.created -= dt.timedelta(days=days)
        first.planned = [t - dt.timedelta(days=days) for t in first.planned]
    orders.sort(key=lambda o: o.created)
    return orders


def _walk(order: _DemoOrder, ref: Reference, sim: SimulatedClock) -> WorkOrder:
    rng = random.Random(order.seed + 1)
    c = order.customer
    sim.at = order.created
    self_service = order.channel in (Channel.APP, Channel.WEBSITE)
    intake: dict[str, Any] = {
        "channel": order.channel, "kind": order.kind, "service": c["service"],
        "access_type": c["access_type"], "customer_name": c["customer_name"],
        "contact_phone": c["contact_phone"], "alt_phone": c["alt_phone"],
        "address": c["address"], "area": c["area"], "customer_class": c["customer_class"],
        "account_number": c["account_number"], "notes": order.notes,
    }
    if order.kind == Kind.REPAIR:
        intake["symptoms"] = rng.choice(SYMPTOMS[c["service"]])
        intake["fault_started_at"] = order.created - dt.timedelta(hours=rng.uniform(1, 48))
    else:
        intake["preferred_day"] = timezone.localdate(order.created)
    if order.channel == Channel.HOTLINE:
        intake["external_ref"] = f"10010-{timezone.localdate(order.created):%Y%m%d}-" \
                                 f"{rng.randrange(10_000):04d}"
    if order.kind == Kind.MOVE:
        intake["address"] = _address(rng, _district_of(c["area"]), c["area"].name)
        intake["notes"] = f"移机，原地址：{c['address']}"
    wo = services.work_order_create(by=None if self_service else ref.agent, **intake)

    visit: dt.datetime | None = None
    t = order.created
    for step, planned, gap in zip(order.steps, order.planned, order.gaps, strict=True):
        if step in _AT_VISIT_MINUTES and visit is not None:
            t = max(t + dt.timedelta(minutes=1), visit + dt.timedelta(seconds=gap))
        else:
            t = max(t + dt.timedelta(minutes=1), planned)
        sim.at = t
        technician = None
        if step == "dispatch" and order.dispatch_by_hand:
            candidates = list(selectors.dispatch_candidates(wo))
            technician = rng.choice(candidates) if candidates else None
        # One step at a time (walk_to's own loop, with the clock set between steps).
        wo = scenarios._step(wo, step, technician=technician,
                             dispatcher=ref.dispatcher, agent=ref.agent)
        if step == "schedule":
            visit = (wo.appointments.filter(status=AppointmentStatus.BOOKED)
                     .values_list("start", flat=True).get())
    if wo.state == S.ON_SITE and wo.technician is not None:
        # mid-visit: the readings taken so far (R48); try-out and clean-up still to do
        scenarios.first_readings(wo, wo.technician.user)
    if wo.state != order.target:
        raise RuntimeError(f"demo order {wo.number} reached {wo.state}, not {order.target}")
    return wo


@dataclass
class DemoResult:
    orders: int
    customers: int
    created_users: list[str]
    seconds: float


def _place_technicians() -> None:
    """Each on-duty technician's phone has just pinged (R4's ranking measures from there):
    at their last check-in's place, or, for one who has not checked in, at the place of an
    order they hold, else of an order in their first area; no order: no position."""
    now = clock.now()
    for tech in Technician.objects.filter(is_active=True).prefetch_related("areas"):
        last = tech.positions.order_by("-at", "-pk").first()
        if last is not None:
            place = (last.latitude, last.longitude)
        else:
            areas = list(tech.areas.all())
            found = (OrderLocation.objects.filter(order__technician=tech).order_by("-pk")
                     .values_list("latitude", "longitude").first()
                     or (OrderLocation.objects.filter(order__area__in=areas[:1])
                         .order_by("pk").values_list("latitude", "longitude").first()
                         if areas else None))
            if found is None:
                continue
            place = found
        technician_position_record(technician_id=tech.pk, latitude=place[0],
                                   longitude=place[1], at=now,
                                   source=PositionSource.EN_ROUTE)


def build_demo(*, seed: int = DEFAULT_SEED) -> DemoResult:
    """The default mode: reference data and ~66 orders walked through the services, in
    one transaction."""
    started = time.monotonic()
    rng = random.Random(seed)
    customers_before = Customer.objects.count()
    with transaction.atomic():
        ref = ensure_reference()
        ensure_stock(ref)  # R45, R46: devices in the vans, the catalogue, van stock
        plan = _demo_plan(rng, ref)
        with without_side_effects(), simulated_time() as sim:
            for order in plan:
                _walk(order, ref, sim)
        with without_side_effects():
            # R30: the surveys unanswered for a day are in the callback queue at once,
            # rather than at beat's first sweep.
            callbacks_open_due()
        # The dashboards count the demo at once rather than at beat's first refresh.
        order_facts_refresh_stale()
        _place_technicians()
    return DemoResult(orders=len(plan), customers=Customer.objects.count() - customers_before,
                      created_users=ref.created_users, seconds=time.monotonic() - started)


