"""``build_scale(orders=N)``: N orders for benchmarks, fast, made by the real services.

The scale mode does not simulate the lifecycle or the SLA timers itself. Every order is
one of a few distinct lives (``demo.scenarios.LIFE_PATHS``: closed happily, with a late
call or a late arrival, no resources, parked, nobody home, abnormal, can't finish,
rework, resolved remotely, cancelled early or after dispatch). For each life and each
policy group the orders need (kind, and the SLA policy that applies to the order), ONE
template order is created and walked through the services under the simulated clock,
with the SLA sweep run between steps as beat would run it, and every row it wrote after
each step is kept (``demo.templates.snapshot``); the walk itself is rolled back. The
orders are then copies of those rows (``demo.templates.copy_rows``): new ids, their own
customer, account, area and technician, times moved by whole hours so that each order
is created when the plan says, and cut at now: an order whose life is not over yet is
the copy of the template as it stood after its last step before now. A rule changed in
the services reaches the benchmark data the next time it is built.

Orders are spread over the last ``days`` days, busier by day than at night (moved into
the day shift so that visits fall in working hours); a small run still has every state.
Events: by default only the creation event and the last one (``events="ends"``), the
full log with ``events="full"``. Rows are written with PostgreSQL's ``COPY`` (elsewhere
``bulk_create``), one transaction per batch.
"""

from __future__ import annotations

import datetime as dt
import itertools
import math
import random
import re
import time
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from types import SimpleNamespace
from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.hashers import make_password
from django.contrib.auth.models import Group
from django.db import connection, models, transaction
from django.utils import timezone

from dashboards.services import link_repeat_visits, order_facts_refresh
from fieldops import bulk, roles
from planning import geocoding
from sla import calendars, engine
from sla.timers import Timer, TimerEvent, TimerRule
from technicians.models import Area, AreaType, Skill, Team, Technician
from workorders import services, visit_parts
from workorders.events import OrderAction
from workorders.models import (
    TERMINAL_STATES,
    Channel,
    CompletionReport,
    Customer,
    CustomerClass,
    Kind,
    Photo,
    ServiceAccount,
    Signature,
    State,
    WorkOrder,
    WorkOrderEvent,
    report_hash,
)

from . import scenarios, templates
from .reference import (
    _ALL_ACCESS,
    _ALL_KINDS,
    _ALL_SERVICES,
    COMPANIES,
    DAY,
    DEFAULT_SEED,
    DEMO_PASSWORD,
    DISTRICTS,
    HOUR,
    NOTES,
    SYMPTOMS,
    Reference,
    _access_for,
    _address,
    _district_of,
    _mobile,
    _person_name,
    ensure_reference,
)
from .sandbox import simulated_time, without_side_effects

#: How often each life happens, per hundred orders (remote resolution: repairs only).
PATH_WEIGHTS: dict[str, float] = {
    "happy": 66, "late_contact": 5, "late_arrival": 5, "no_resources": 3, "parked": 3,
    "nobody_home": 4, "abnormal": 1.5, "cant_finish": 3, "rework": 6, "remote": 12,
    "cancel_early": 2.5, "cancel_dispatched": 2.5,
}
#: Finished orders of each life kept in ``ScaleResult.samples``.
SAMPLES_PER_LIFE = 2


@dataclass
class Sample:
    order_id: int
    planned: _Order
    start: dt.datetime
    #: which of its group's templates the order copies: 0 the first, walked before the
    #: data; more when the copy's days are not working days like the first's
    template: int = 0


@dataclass
class ScaleResult:
    orders: int
    customers: int
    technicians: int
    seconds: float
    method: str
    states: dict[str, int]
    templates: int = 0
    #: A few finished orders of each life, with the moment their copy starts: what a check
    #: walks again through the services to compare (tests/demo/test_scale.py).
    samples: list[Sample] = field(default_factory=list)


def _ensure_scale_reference(technicians: int, ref: Reference) -> int:
    """Benchmarks need as many technicians as a real operator would have for that
    volume, or every technician holds hundreds of open orders and auto-dispatch finds
    nobody below capacity. Adds technicians ``t00001``... (one team per area) and
    grid areas (~25 technicians each) until there are ``technicians`` in all. They
    share the demo password; it is hashed once."""
    user_model = get_user_model()
    existing = Technician.objects.count()
    missing = technicians - existing
    if missing <= 0:
        return 0
    rng = random.Random(technicians)
    skills = {s.code: s for s in Skill.objects.all()}
    districts = list(DISTRICTS)
    want_areas = max(0, technicians // 25 - len(ref.areas))
    areas = list(Area.objects.all())
    made = [a for a in areas if re.fullmatch(r"BJ-[A-Z]+-G\d+", a.code)]
    for k in range(len(made), want_areas):
        district = districts[k % len(districts)]
        name, rural, _templates = DISTRICTS[district]
        area, _ = Area.objects.get_or_create(
            code=f"BJ-{district}-G{k // len(districts) + 1:02d}",
            defaults={"name": f"{name}第{k // len(districts) + 1}网格",
                      "area_type": AreaType.RURAL if rural else AreaType.URBAN})
        areas.append(area)
    areas = list(Area.objects.order_by("pk"))
    teams = {}
    for area in areas:
        teams[area.pk], _ = Team.objects.get_or_create(
            name=f"{area.name}装维班", defaults={"area": area, "supervisor": ref.supervisor})
    encoded = make_password(DEMO_PASSWORD)
    taken = set(user_model.objects.filter(username__startswith="t0")
                .values_list("username", flat=True))
    users: list[Any] = []
    n = 0
    while len(users) < missing:
        n += 1
        username = f"t{n:05d}"
        if username not in taken:
            users.append(user_model(username=username, first_name=_person_name(rng),
                                    password=encoded))
    user_model.objects.bulk_create(users, batch_size=1000)
    users = list(user_model.objects.filter(username__in=[u.username for u in users]))
    group = Group.objects.get(name=roles.TECHNICIAN)
    user_model.groups.through.objects.bulk_create(
        [user_model.groups.through(user_id=u.pk, group_id=group.pk) for u in users])
    per_area = {a.pk: Technician.objects.filter(areas=a).count() for a in areas}
    techs = []
    for i, user in enumerate(users):
        area = areas[i % len(areas)]
        techs.append(Technician(user=user, employee_no=f"ZS{user.username[1:]}",
                                phone=_mobile(rng), team=teams[area.pk], daily_capacity=8))
    Technician.objects.bulk_create(techs, batch_size=1000)
    techs = list(Technician.objects.filter(user__in=users).order_by("pk"))
    through_areas = Technician.areas.through
    through_skills = Technician.skills.through
    through_access = Technician.access_types.through
    area_rows, skill_rows, access_rows = [], [], []
    for i, tech in enumerate(techs):
        area = areas[i % len(areas)]
        area_rows.append(through_areas(technician_id=tech.pk, area_id=area.pk))
        for code in (*_ALL_KINDS, *_ALL_SERVICES):
            skill_rows.append(through_skills(technician_id=tech.pk, skill_id=skills[code].pk))
        if per_area[area.pk] == 0 or rng.random() < 0.25:
            access = _ALL_ACCESS  # the area's first technician can do every line
        elif area.area_type == AreaType.RURAL:
            access = ("ftth", "xdsl")
        else:
            access = ("ftth", "fttb", "lan")
        per_area[area.pk] += 1
        for code in access:
            access_rows.append(through_access(technician_id=tech.pk, skill_id=skills[code].pk))
    through_areas.objects.bulk_create(area_rows, batch_size=5000)
    through_skills.objects.bulk_create(skill_rows, batch_size=5000)
    through_access.objects.bulk_create(access_rows, batch_size=5000)
    return len(techs)


def _created_times(rng: random.Random, n: int, start: float, end: float,
                   offset: float) -> list[float]:
    """n creation times in [start, end), busier by day than at night, sorted."""
    hour_weight = (0.1, 0.05, 0.05, 0.05, 0.05, 0.1, 0.2, 0.5, 0.9, 1.0, 1.0, 1.0,
                   0.8, 0.8, 1.0, 1.0, 1.0, 0.9, 0.8, 0.7, 0.6, 0.4, 0.3, 0.2)
    out: list[float] = []
    span = end - start
    r = rng.random
    while len(out) < n:
        t = start + r() * span
        if r() < hour_weight[int(((t + offset) % DAY) // HOUR)]:
            out.append(t)
    out.sort()
    return out


@dataclass
class _Place:
    """Where orders go and who serves them."""

    areas: list[Area]
    area_cum: list[int]
    candidates: dict[tuple[int, str, str, str], list[Technician]]
    by_area: dict[int, list[Technician]]


def _places() -> _Place:
    areas = list(Area.objects.order_by("pk"))
    techs = list(Technician.objects.filter(is_active=True).select_related("user")
                 .prefetch_related("areas", "skills", "access_types"))
    by_area: dict[int, list[Technician]] = {a.pk: [] for a in areas}
    candidates: dict[tuple[int, str, str, str], list[Technician]] = {}
    for tech in techs:
        codes = {s.code for s in tech.skills.all()}
        access = {s.code for s in tech.access_types.all()}
        for area in tech.areas.all():
            by_area[area.pk].append(tech)
            for kind in _ALL_KINDS:
                for service in _ALL_SERVICES:
                    if kind in codes and service in codes:
                        for a in access:
                            candidates.setdefault((area.pk, kind, service, a), []).append(tech)
    areas = [a for a in areas if by_area[a.pk]]  # orders only where someone works
    if not areas:
        raise RuntimeError("No technician serves any area; cannot place orders.")
    cum = list(itertools.accumulate(len(by_area[a.pk]) for a in areas))
    return _Place(areas=areas, area_cum=cum, candidates=candidates, by_area=by_area)


@dataclass
class _Customer:
    pk: int
    account: int
    name: str
    phone: str
    klass: str
    area: Area
    address: str
    service: str
    access: str


@dataclass
class _Order:
    """One planned order: when, whose, which life, and the template group it copies."""

    created: float  # seconds since the epoch, as drawn
    customer: _Customer
    kind: str
    path: str
    technician: Technician
    channel: str
    notes: str
    force: str | None = None  # the state the order must be in now
    #: where in that state's time now falls (0: just entered, 1: about to leave)
    into: float = 0.5
    group: tuple[Any, ...] = ()


@dataclass
class _Template:
    """A walked template: the moment of each step and the rows after each step
    (``snaps[0]``: just created; ``snaps[k]``: after step k), with whose they are."""

    order: _Order
    start: dt.datetime
    times: list[dt.datetime]
    states: list[str]
    snaps: list[templates.Snapshot]
    ends: list[templates.Snapshot] = field(default_factory=list)
    customer: int = 0
    account: int = 0
    area: int = 0
    technician: int = 0
    tech_user: int = 0
    tech_label: str = ""
    team: int | None = None
    #: the business calendars its SLA timers ran on, with the days (after the start's)
    #: their stored times span; ``pattern``: those days' working hours
    window: tuple[tuple[calendars.Schedule, int, int], ...] = ()
    pattern: tuple[Any, ...] = ()
    number: int = 0
    #: after each step (as ``snaps``): what the customer's signature covers
    #: (``visit_parts.sealed_parts``) once the order is signed, else None; the same for
    #: every copy, since the parts name no ids or times
    parts: list[dict[str, Any] | None] = field(default_factory=list)


def _policy_group(kind: str, service: str, klass: str, area_type: str) -> Any:
    policy = engine.policy_for(SimpleNamespace(kind=kind, service=service,
                                               customer_class=klass,
                                               area=SimpleNamespace(area_type=area_type)))
    return policy.pk if policy else None


def _ends_only(snap: templates.Snapshot) -> templates.Snapshot:
    """The snapshot with only the creation event and the last one."""
    events = snap.of(WorkOrderEvent)
    if len(events) <= 2:
        return snap
    rows = dict(snap.rows)
    rows[WorkOrderEvent] = [events[0], events[-1]]
    return templates.Snapshot(created_at=snap.created_at, rows=rows)


def _calendar_window(snaps: list[templates.Snapshot], start: dt.datetime
                     ) -> tuple[tuple[calendars.Schedule, int, int], ...]:
    """The business calendars the template's SLA timers ran on and, for each, the days
    (counted from the start's local day) that the timers' stored times span: a copy's
    timers are the template's moved only if those days work the same hours (R37)."""
    spans: dict[int, tuple[calendars.Schedule, int, int]] = {}
    rules: dict[int, calendars.Schedule] = {}
    timer_times = [f.attname for f in Timer._meta.concrete_fields
                   if isinstance(f, models.DateTimeField)]
    event_times = [f.attname for f in TimerEvent._meta.concrete_fields
                   if isinstance(f, models.DateTimeField)]
    for snap in snaps:
        by_timer: dict[int, list[dt.datetime]] = defaultdict(list)
        for row in snap.of(Timer):
            by_timer[row["id"]] += [row[n] for n in timer_times if row[n] is not None]
        for row in snap.of(TimerEvent):
            by_timer[row["timer_id"]] += [row[n] for n in event_times if row[n] is not None]
        for row in snap.of(Timer):
            rule_id = row["rule_id"]
            if rule_id not in rules:
                rules[rule_id] = engine.schedule_of(
                    TimerRule.objects.select_related("calendar").get(pk=rule_id))
            schedule = rules[rule_id]
            if schedule is calendars.CALENDAR_TIME or not by_timer[row["id"]]:
                continue
            day0 = timezone.localdate(start, schedule.tz)
            days = [(timezone.localdate(t, schedule.tz) - day0).days
                    for t in by_timer[row["id"]]]
            _s, lo, hi = spans.get(id(schedule), (schedule, min(days), max(days)))
            spans[id(schedule)] = (schedule, min(lo, *days), max(hi, *days))
    return tuple(spans.values())


def _pattern(window: tuple[tuple[calendars.Schedule, int, int], ...],
             start: dt.datetime) -> tuple[Any, ...]:
    """The working hours, by the calendars of ``window``, of the days it spans from the
    local day of ``start``."""
    out: list[Any] = []
    for schedule, lo, hi in window:
        day0 = timezone.localdate(start, schedule.tz)
        out += [schedule.periods_on(day0 + dt.timedelta(days=i)) for i in range(lo, hi + 1)]
    return tuple(out)


def _walk_template(order: _Order, start: dt.datetime, ref: Reference,
                   models_: list[Any]) -> _Template:
    """Walk one order of ``order``'s life through the services from ``start``, keeping
    its rows after every step. Runs in a savepoint that is rolled back."""
    path = scenarios.LIFE_PATHS[order.path]
    c = order.customer
    times = scenarios.step_times(path, start)
    intake: dict[str, Any] = {
        "channel": order.channel, "kind": order.kind, "service": c.service,
        "access_type": c.access, "customer_name": c.name, "contact_phone": c.phone,
        "address": c.address, "area": c.area, "customer_class": c.klass, "notes": order.notes,
    }
    if order.kind == Kind.REPAIR:
        intake["symptoms"] = SYMPTOMS[c.service][0]
        intake["fault_started_at"] = start - dt.timedelta(hours=2)
    else:
        intake["preferred_day"] = timezone.localdate(start)
    snaps: list[templates.Snapshot] = []
    states: list[str] = []
    parts: list[dict[str, Any] | None] = []

    def keep(wo: WorkOrder, _step: str, at: dt.datetime) -> None:
        order_facts_refresh([wo.pk])
        snaps.append(templates.snapshot(wo, models_=models_,
                                        since=snaps[-1] if snaps else None))
        states.append(wo.state)
        parts.append(visit_parts.sealed_parts(wo) if snaps[-1].of(Signature) else None)
        k = len(snaps) - 1  # fire what beat's sweep fires before the next step
        if k < len(times):
            engine.sweep_all(now=times[k] - dt.timedelta(seconds=1))

    with transaction.atomic():
        with without_side_effects(), simulated_time(start) as sim:
            wo = services.work_order_create(by=ref.agent, **intake)
            keep(wo, "", start)
            wo = scenarios.walk(wo, path, sim=sim, after_step=keep,
                                technician=order.technician, dispatcher=ref.dispatcher,
                                agent=ref.agent)
            tech = wo.technician or order.technician
            template = _Template(
                order=order, start=start, times=times, states=states, snaps=snaps,
                customer=wo.customer_id, account=wo.account_id, area=wo.area_id,
                technician=tech.pk, tech_user=tech.user_id, tech_label=tech.display_name,
                team=tech.team_id, parts=parts)
        transaction.set_rollback(True)
    template.ends = [_ends_only(s) for s in snaps]
    template.window = _calendar_window(snaps, start)
    template.pattern = _pattern(template.window, start)
    return template


def _template_for(o: _Order, walked: dict[tuple[Any, ...], list[_Template]],
                  first_start: dt.datetime, now: dt.datetime, ref: Reference,
                  models_: list[Any]) -> tuple[_Template, dt.timedelta, int]:
    """The template the order copies, its shift and its steps taken by now.

    A group's first template is walked before the data. A copy moved to a day whose
    business hours differ from its template's over the days its SLA timers span (a
    weekend, a public holiday, a swapped working Saturday) would carry timers computed
    for the wrong days, so the order gets a template walked on its own day, which later
    copies on days like it share. A forced order is placed by the hour: it copies the
    first template (its timers' times are the template's, moved)."""
    known = walked.setdefault(o.group, [])
    if not known:
        known.append(_walk_template(o, first_start, ref, models_))
    if o.force is not None:
        shift, k = _placed(known[0], o, now)
        return known[0], shift, k
    for tpl in known:
        shift, k = _placed(tpl, o, now)
        if _pattern(tpl.window, tpl.start + shift) == tpl.pattern:
            return tpl, shift, k
    shift, _k = _placed(known[0], o, now)
    tpl = _walk_template(o, known[0].start + shift, ref, models_)
    tpl.number = len(known)
    known.append(tpl)
    shift, k = _placed(tpl, o, now)
    return tpl, shift, k


class _Planner:
    """Draws each order's customer, kind, life, channel and technician."""

    def __init__(self, rng: random.Random, place: _Place, ids: templates.IdPool) -> None:
        self.rng = rng
        self.place = place
        self.ids = ids
        self.customers: list[_Customer] = []
        self.new_customers: list[tuple[_Customer, float, str]] = []
        self.made = 0

    def customer(self, t: float) -> tuple[_Customer, bool]:
        rng = self.rng
        r = rng.random
        if self.customers and r() >= 1 / 3:  # two orders in three: a returning customer
            return self.customers[int(r() * len(self.customers))], False
        place = self.place
        area = place.areas[rng.choices(range(len(place.areas)), cum_weights=place.area_cum)[0]]
        vip = r() < 0.08
        name = rng.choice(COMPANIES) if vip and r() < 0.5 else _person_name(rng)
        service = rng.choices(_ALL_SERVICES, cum_weights=(65, 80, 100))[0]
        [cid] = self.ids.take(Customer, 1)
        [aid] = self.ids.take(ServiceAccount, 1)
        c = _Customer(pk=cid, account=aid, name=name, phone=_mobile(rng),
                      klass=CustomerClass.VIP if vip else CustomerClass.STANDARD, area=area,
                      address=_address(rng, _district_of(area), area.name), service=service,
                      access=_access_for(rng, area.area_type))
        if len(self.customers) < 50_000:
            self.customers.append(c)
        else:  # recent customers call again; keep memory bounded
            self.customers[int(r() * len(self.customers))] = c
        self.new_customers.append((c, t, _mobile(rng) if r() < 0.15 else ""))
        self.made += 1
        return c, True

    def order(self, t: float, force: str | None = None, path: str | None = None,
              into: float = 0.5) -> _Order:
        rng = self.rng
        r = rng.random
        c, new = self.customer(t)
        if path == "remote":
            kind = Kind.REPAIR
        elif new:
            kind = Kind.INSTALL if r() < 0.85 else Kind.REPAIR
        else:
            kind = Kind.REPAIR if r() < 0.8 else Kind.MOVE
        if path is None:
            names = [n for n, p in scenarios.LIFE_PATHS.items()
                     if not p.kinds or kind in p.kinds]
            path = rng.choices(names, weights=[PATH_WEIGHTS[n] for n in names])[0]
        techs = (self.place.candidates.get((c.area.pk, kind, c.service, c.access))
                 or self.place.by_area[c.area.pk])
        channel = rng.choices(Channel.values, cum_weights=(40, 50, 75, 87, 95, 100))[0]
        o = _Order(created=t, customer=c, kind=kind, path=path,
                   technician=techs[int(r() * len(techs))], channel=channel,
                   notes=rng.choice(NOTES), force=force, into=into)
        # The access type picks the kit (R20); the policy, the timers.
        # the service too: the visit's measured tests follow it (R48)
        o.group = (path, kind, c.access, c.service,
                   _policy_group(kind, c.service, c.klass, c.area.area_type))
        return o


def _copy_of(tpl: _Template, o: _Order, shift: dt.timedelta) -> templates.Copy:
    c = o.customer
    tech = o.technician
    order: dict[str, Any] = {
        "channel": o.channel, "service": c.service, "access_type": c.access,
        "contact_phone": c.phone, "address": c.address, "notes": o.notes,
    }
    if o.kind == Kind.REPAIR:  # as _walk_template describes the fault for the service
        order["symptoms"] = SYMPTOMS[c.service][0]
    return templates.Copy(
        shift=shift,
        same={Customer: {tpl.customer: c.pk}, ServiceAccount: {tpl.account: c.account},
              Area: {tpl.area: c.area.pk}, Technician: {tpl.technician: tech.pk},
              get_user_model(): {tpl.tech_user: tech.user_id},
              Team: {tpl.team: tech.team_id}},
        texts={**({tpl.tech_label: tech.display_name} if tpl.tech_label else {}),
               tpl.order.customer.name: c.name, tpl.order.channel: o.channel},
        numbers=_coordinates(tpl.order.customer, c),
        order=order)


def _coordinates(template: Any, copy: Any) -> dict[float, float]:
    """The template customer's coordinates -> the copy's: its address placed by the
    geocoder, as the order-created handler places an order walked through the services."""
    coder = geocoding.geocoder()
    if not coder.immediate:
        return {}
    was = coder.locate(template.address, template.area)
    now = coder.locate(copy.address, copy.area)
    if was is None or now is None:
        return {}
    return {was.latitude: now.latitude, was.longitude: now.longitude}


def _placed(tpl: _Template, o: _Order, now: dt.datetime) -> tuple[dt.timedelta, int]:
    """How far the copy moves from the template, and how many steps it has taken by
    now. Whole days, so bookings stay on the local day and visits in working hours; a
    forced order is placed so that now falls inside the state it must be in."""
    if o.force is not None:
        k = (0 if o.force == State.ACCEPTED
             else next(i for i, s in enumerate(tpl.states) if s == o.force))
        enter = tpl.start if k == 0 else tpl.times[k - 1]
        leave = tpl.times[k] if k < len(tpl.times) else enter + dt.timedelta(days=3)
        shift = now - (enter + (leave - enter) * o.into)
        return shift, k
    created = dt.datetime.fromtimestamp(o.created, dt.UTC)
    days = (timezone.localdate(created) - timezone.localdate(tpl.start)).days
    # Whole days only: a booking for a whole or half day is aligned to the local day,
    # and an hour's shift would move it off (tests/demo/test_scale.py compares).
    shift = dt.timedelta(days=days)
    while tpl.start + shift > now:
        shift -= dt.timedelta(days=1)
    k = sum(1 for t in tpl.times if t + shift <= now)
    return shift, k


def _customer_rows(planner: _Planner) -> templates.Rows:
    rows: templates.Rows = {Customer: [], ServiceAccount: []}
    customer_cols = [f.attname for f in Customer._meta.concrete_fields]
    account_cols = [f.attname for f in ServiceAccount._meta.concrete_fields]
    for c, t, alt in planner.new_customers:
        created = dt.datetime.fromtimestamp(t, dt.UTC)
        number = {"broadband": "KD", "fixed_line": "GH", "iptv": "ITV"}[c.service] + \
            f"{c.account:09d}"
        values = {"id": c.pk, "name": c.name, "phone": c.phone, "alt_phone": alt,
                  "customer_class": c.klass, "created_at": created}
        rows[Customer].append(tuple(values[n] if n in values else _default(Customer, n)
                                    for n in customer_cols))
        values = {"id": c.account, "number": number, "customer_id": c.pk,
                  "address": c.address, "area_id": c.area.pk, "service": c.service,
                  "access_type": c.access}
        rows[ServiceAccount].append(tuple(
            values[n] if n in values else _default(ServiceAccount, n) for n in account_cols))
    planner.new_customers.clear()
    return rows


def _default(model: Any, attname: str) -> Any:
    f = next(f for f in model._meta.concrete_fields if f.attname == attname)
    if f.has_default():
        return f.get_default()
    if f.null:
        return None
    raise RuntimeError(f"{model.__name__}.{f.name} is required and has no default: "
                       f"teach demo/scale.py its value")


def _write(rows: templates.Rows, customers: templates.Rows,
           signed: dict[int, dict[str, Any]] | None = None) -> None:
    with transaction.atomic():
        if connection.vendor == "postgresql":  # demo data: losing a batch in a crash is fine
            with connection.cursor() as cursor:
                cursor.execute("SET LOCAL synchronous_commit = off")
        for model in (Customer, ServiceAccount):
            if customers.get(model):
                bulk.insert_rows(model, [f.attname for f in model._meta.concrete_fields],
                                 customers[model])
        # R26: a copy's signed hash covers the parts the visit's phases register
        # (visit_parts: checklist, readings...): its template's (``signed``), or else read
        # from the copy's own rows, written first; then the signatures and events sealed
        # for them.
        sealed = {Signature, WorkOrderEvent}
        templates.write_rows({m: r for m, r in rows.items() if m not in sealed})
        _sealed_for_their_copies(rows, signed or {})
        templates.write_rows({m: r for m, r in rows.items() if m in sealed})


def _sealed_for_their_copies(rows: templates.Rows, signed: dict[int, dict[str, Any]]) -> None:
    """R26 binds a signature to its order: the signed report's hash names the order's
    number and the seal its id, so a copy's are computed again for the copy before its
    rows are written, as the sign-off computes them, and its sign-off event's evidence
    names the same hash (a copied signed-off order then completes with its signed
    report, like any other)."""
    if not rows.get(Signature):
        return

    def as_dicts(model: Any) -> tuple[list[str], list[dict[str, Any]]]:
        names = [f.attname for f in model._meta.concrete_fields]
        return names, [dict(zip(names, row, strict=True)) for row in rows.get(model, [])]

    reports = {r["order_id"]: r for r in as_dicts(CompletionReport)[1]}
    photos: dict[int, list[str]] = defaultdict(list)
    for photo in as_dicts(Photo)[1]:
        photos[photo["order_id"]].append(photo["sha256"])
    names, signatures = as_dicts(Signature)
    digests: dict[int, str] = {}
    for row in signatures:
        order_id = row["order_id"]
        report = CompletionReport(**reports[order_id]).as_dict()
        row["report_hash"] = report_hash(WorkOrder(pk=order_id), report, photos[order_id],
                                         parts=signed.get(order_id))
        row["seal"] = Signature(**row).expected_seal()
        digests[order_id] = row["report_hash"]
    rows[Signature] = [tuple(row[n] for n in names) for row in signatures]
    names = [f.attname for f in WorkOrderEvent._meta.concrete_fields]
    order_at, action_at, payload_at = (names.index(n) for n in ("order_id", "action",
                                                                 "payload"))
    events = rows.get(WorkOrderEvent, [])
    for i, row in enumerate(events):  # only the sign-off events are rewritten
        if row[action_at] == OrderAction.SIGN_OFF and row[order_at] in digests:
            changed = list(row)
            changed[payload_at] = {**row[payload_at], "report_hash": digests[row[order_at]]}
            events[i] = tuple(changed)


def build_scale(*, orders: int, days: int = 90, seed: int = DEFAULT_SEED,
                events: str = "ends", technicians: int | None = None,
                batch_size: int = 10_000, method: str = "auto", open_now: int = 0,
                progress: Callable[[int, int, float], None] | None = None) -> ScaleResult:
    """The scale mode: ``orders`` copies of template orders walked through the services
    (see the module docstring). ``method``: "copy" (PostgreSQL only), "bulk" or "auto";
    the rows go through ``fieldops.bulk``, which uses ``COPY`` on PostgreSQL whatever the
    choice and ``bulk_create`` elsewhere.

    ``open_now``: of the ``orders``, how many are open now, spread over the open states and
    placed at random points of them (their running promises fall due from now on), as a
    working day leaves an operator's queue. Every copy's life starts at its template's time
    of day, so without them the orders open at a given moment depend on the hour the data is
    built (before the day shift nearly every order of the last days has ended)."""
    if orders < 1 or days < 1:
        raise ValueError("orders and days must be at least 1")
    if events not in ("ends", "full"):
        raise ValueError("events is 'ends' or 'full'")
    started = time.monotonic()
    postgres = connection.vendor == "postgresql"
    use_copy = postgres if method == "auto" else method == "copy"
    if use_copy and not postgres:
        raise ValueError("COPY needs PostgreSQL")
    rng = random.Random(seed)
    with transaction.atomic():
        ref = ensure_reference()
        wanted = technicians if technicians is not None else round(orders / days / 6)
        added = _ensure_scale_reference(wanted, ref)
    place = _places()
    pool = templates.IdPool()
    planner = _Planner(rng, place, pool)
    now_dt = timezone.now().replace(microsecond=0)
    now = now_dt.timestamp()
    start = now - days * DAY
    offset = timezone.localtime(now_dt).utcoffset().total_seconds()  # type: ignore[union-attr]
    # A small run still shows every state: the newest orders are placed in each state.
    per_state = min(2, orders // (len(State) * 5))
    forced_paths = {s: next(n for n in ("happy", "no_resources", "parked", "nobody_home",
                                        "abnormal", "cant_finish", "rework", "remote",
                                        "cancel_early")
                            if s in _states_of(n)) for s in State.values}
    natural = orders - per_state * len(State) - open_now
    if open_now < 0 or natural < 0:
        raise ValueError(f"open orders must be between 0 and {orders - per_state * len(State)}")
    open_states = [s for s in State.values if s not in TERMINAL_STATES]
    batches = max(1, math.ceil((natural + open_now) / batch_size))
    # The templates: walked once per (life, kind, policy), from a day before the data.
    base_day = timezone.localdate(dt.datetime.fromtimestamp(start, dt.UTC)) \
        - dt.timedelta(days=45)
    tpl_start = timezone.make_aware(dt.datetime.combine(base_day, dt.time(8, 20)))
    models_ = [m for m in templates.template_models()]
    walked: dict[tuple[Any, ...], list[_Template]] = {}
    states: dict[str, int] = defaultdict(int)
    samples: list[Sample] = []
    sampled: dict[tuple[str, bool], int] = defaultdict(int)
    written = 0
    # each batch commits on its own (_write)
    for b in range(batches):
        n = natural * (b + 1) // batches - natural * b // batches
        span = (now - start) / batches
        lo = start + b * span
        plan = [planner.order(t) for t in _created_times(rng, n, lo, lo + span, offset)]
        for i in range(open_now * b // batches, open_now * (b + 1) // batches):
            state = open_states[i % len(open_states)]
            plan.append(planner.order(now - 3 * DAY, force=state, path=forced_paths[state],
                                      into=rng.uniform(0.02, 0.98)))
        if b == batches - 1:
            plan += [planner.order(now - 3 * DAY, force=s, path=forced_paths[s])
                     for s in State.values for _ in range(per_state)]
        rows: templates.Rows = {}
        signed: dict[int, dict[str, Any]] = {}  # copy's id -> its template's sealed parts
        groups: dict[tuple[Any, ...], list[tuple[_Order, dt.timedelta]]] = defaultdict(list)
        for o in plan:
            tpl, shift, k = _template_for(o, walked, tpl_start, now_dt, ref, models_)
            groups[(o.group, tpl.number, k)].append((o, shift))
            states[tpl.states[k]] += 1
        for (group, number, k), members in groups.items():
            tpl = walked[group][number]
            snap = tpl.snaps[k] if events == "full" else tpl.ends[k]
            ids = templates.copy_rows(snap, [_copy_of(tpl, o, shift)
                                             for o, shift in members], pool=pool, into=rows)
            if tpl.parts[k] is not None:
                signed.update(dict.fromkeys(ids, tpl.parts[k]))
            if k == len(tpl.times):  # finished lives: a few of each are kept as samples,
                # from first templates and from templates walked on days like the copy's
                for (o, shift), pk in zip(members, ids, strict=True):
                    key = (o.path, number > 0)
                    if o.force is None and sampled[key] < SAMPLES_PER_LIFE:
                        sampled[key] += 1
                        samples.append(Sample(pk, o, tpl.start + shift, number))
        _write(rows, _customer_rows(planner), signed)
        written += len(plan)
        if progress is not None:
            progress(written, orders, time.monotonic() - started)
    link_repeat_visits()  # first-time fix across orders of the same account
    if postgres:
        with connection.cursor() as cursor:
            for model in (Customer, ServiceAccount, *models_):
                cursor.execute(f"ANALYZE {connection.ops.quote_name(model._meta.db_table)}")
    return ScaleResult(orders=written, customers=planner.made, technicians=added,
                       seconds=time.monotonic() - started,
                       method="COPY" if postgres else "bulk_create", states=dict(states),
                       templates=sum(map(len, walked.values())), samples=samples)


def _states_of(path: str) -> set[str]:
    """The states an order of this life passes through (as the steps' names say)."""
    steps = scenarios.LIFE_PATHS[path].steps
    out = {State.ACCEPTED}
    to = {"dispatch": State.DISPATCHED, "accept": State.TAKEN,
          "no_resources": State.NO_RESOURCES, "contact": State.CONTACTED,
          "schedule": State.SCHEDULED, "park": State.PARKED, "kit": State.PREPARED,
          "depart": State.EN_ROUTE, "check_in": State.ON_SITE,
          "nobody_home": State.NOBODY_HOME, "cant_finish": State.AWAITING_REVISIT,
          "sign_off": State.SIGNED_OFF, "complete": State.COMPLETED,
          "survey": State.SURVEY_PENDING, "unsatisfied": State.REWORK,
          "satisfied": State.CLOSED, "close_abnormal": State.CLOSED,
          "remote": State.RESOLVED_REMOTELY, "cancel": State.CANCELLED}
    for i, step in enumerate(steps):
        out.add(to.get(step, State.CONTACTED))
        if step == "nobody_home" and "nobody_home" in steps[:i]:
            out.add(State.ABNORMAL)
    return out
