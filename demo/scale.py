"""``build_scale(orders=N)``: N orders for benchmarks, fast. This mode **bypasses the
services on purpose**: it computes each order's life (the same lifecycle and the
same field changes the transitions make) and writes rows in bulk, with
PostgreSQL's ``COPY`` when the database is PostgreSQL and ``bulk_create``
elsewhere, one transaction per batch. Orders are spread over the last ``days``
days; each one's timeline is simulated from its creation and cut at now, so old
orders are closed (or cancelled, or resolved remotely) and recent ones are open in
whatever state their life has reached: the mix of states, and the fields of each
state, are the ones the product itself would have produced. Written per order:
the ``WorkOrder`` with the fields of its state, its ``Appointment`` rows (the
intake day booking and every visit booked, with their statuses), its
``Assignment`` rows, a ``ContactAttempt`` for the call that reached the customer,
and its ``WorkOrderEvent`` rows: by default only the creation event and the
event of the last transition (``events="ends"``), because the full path is ~12
rows per closed order, which makes the event log the biggest table by far and
the load ~3x slower, while every question a benchmark asks of an open order
("since when is it in this state, who moved it") is answered by the last event.
``events="full"`` writes every step's event when the log itself is what you
measure.
"""

from __future__ import annotations

import itertools
import math
import queue
import random
import re
import threading
import time
from collections.abc import Callable
from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.hashers import make_password
from django.contrib.auth.models import Group
from django.db import connection, transaction
from django.utils import timezone

from appointments.models import Appointment
from dashboards.models import OrderFact
from dashboards.services import link_repeat_visits
from fieldops import roles
from sla.timers import Timer
from technicians.models import Area, AreaType, Skill, Team, Technician
from workorders.models import (
    Assignment,
    ContactAttempt,
    Customer,
    ServiceAccount,
    State,
    WorkOrder,
    WorkOrderEvent,
)

from .lives import (
    ACCOUNT_COLS,
    APPOINTMENT_COLS,
    ASSIGNMENT_COLS,
    CONTACT_COLS,
    CUSTOMER_COLS,
    EVENT_COLS,
    FACT_COLS,
    ORDER_COLS,
    TIMER_COLS,
    ScaleResult,
    _Ids,
    _Rows,
    _ScaleGenerator,
    _ScaleReference,
)
from .reference import (
    _ALL_ACCESS,
    _ALL_KINDS,
    _ALL_SERVICES,
    DAY,
    DEFAULT_SEED,
    DEMO_PASSWORD,
    DISTRICTS,
    HOUR,
    Reference,
    _mobile,
    _person_name,
    ensure_reference,
)


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


def _scale_reference(ref: Reference) -> _ScaleReference:
    areas = list(Area.objects.order_by("pk"))
    techs = list(Technician.objects.filter(is_active=True).select_related("user")
                 .prefetch_related("areas", "skills", "access_types"))
    by_area: dict[int, list[int]] = {a.pk: [] for a in areas}
    candidates: dict[tuple[int, str, str, str], list[int]] = {}
    tech_users = {}
    team_of: dict[int, int | None] = {}
    for tech in techs:
        tech_users[tech.pk] = (tech.user_id, tech.display_name)
        team_of[tech.pk] = tech.team_id
        codes = {s.code for s in tech.skills.all()}
        access = {s.code for s in tech.access_types.all()}
        for area in tech.areas.all():
            by_area[area.pk].append(tech.pk)
            for kind in _ALL_KINDS:
                for service in _ALL_SERVICES:
                    if kind in codes and service in codes:
                        for a in access:
                            candidates.setdefault((area.pk, kind, service, a), []).append(tech.pk)
    areas = [a for a in areas if by_area[a.pk]]  # orders only where someone works
    if not areas:
        raise RuntimeError("No technician serves any area; cannot place orders.")
    weights = [len(by_area[a.pk]) for a in areas]
    cum = list(itertools.accumulate(weights))
    label = ref.agent.get_full_name() or ref.agent.get_username()
    dlabel = ref.dispatcher.get_full_name() or ref.dispatcher.get_username()
    return _ScaleReference(areas=areas, area_cum=cum, by_area=by_area, candidates=candidates,
                           tech_users=tech_users, agent=ref.agent.pk,
                           agent_actor=(ref.agent.pk, label),
                           dispatcher=(ref.dispatcher.pk, dlabel), team_of=team_of)


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


class _BatchWriter:
    """Writes each batch of rows in its own transaction.

    On PostgreSQL, when the caller holds no transaction, a background thread with its
    own connection writes batch k while the main thread computes batch k+1: the server
    ingests (and updates indexes) on one core while Python generates on the other.
    Inside a caller's transaction (tests) everything stays on the caller's connection.
    """

    TABLES = ("customer", "account", "order", "appointment", "assignment", "contact",
              "event", "timer", "fact")

    def __init__(self, writers: dict[str, _Rows], *, postgres: bool, threaded: bool) -> None:
        self.writers = writers
        self.postgres = postgres
        self.threaded = threaded
        self.written = 0  # orders committed
        self.error: BaseException | None = None
        if threaded:
            self.queue: queue.Queue[dict[str, list[tuple[Any, ...]]] | None] = \
                queue.Queue(maxsize=2)
            self.thread = threading.Thread(target=self._run, name="demo-data-writer",
                                           daemon=True)
            self.thread.start()

    def _write(self, rows: dict[str, list[tuple[Any, ...]]]) -> None:
        with transaction.atomic():
            if self.postgres:  # demo data: losing the last batch in a crash is fine
                with connection.cursor() as cursor:
                    cursor.execute("SET LOCAL synchronous_commit = off")
            for name in self.TABLES:
                self.writers[name].write(rows[name])
        self.written += len(rows["order"])

    def _run(self) -> None:
        try:
            while (rows := self.queue.get()) is not None:
                if self.error is None:  # after a failure, drain so put() never blocks
                    try:
                        self._write(rows)
                    except BaseException as exc:
                        self.error = exc
        finally:
            connection.close()

    def put(self, rows: dict[str, list[tuple[Any, ...]]]) -> None:
        if not self.threaded:
            self._write(rows)
            return
        self.raise_error()
        self.queue.put(rows)

    def close(self) -> None:
        if self.threaded:
            self.queue.put(None)
            self.thread.join()

    def raise_error(self) -> None:
        if self.error is not None:
            raise self.error


def build_scale(*, orders: int, days: int = 90, seed: int = DEFAULT_SEED,
                events: str = "ends", technicians: int | None = None,
                batch_size: int = 10_000, method: str = "auto",
                progress: Callable[[int, int, float], None] | None = None) -> ScaleResult:
    """The scale mode: ``orders`` orders written in bulk, bypassing the services (see
    the module docstring). ``method``: "copy" (PostgreSQL only), "bulk" or "auto"."""
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
    sref = _scale_reference(ref)
    gen = _ScaleGenerator(rng, sref, now=timezone.now().timestamp(), days=days,
                          full_events=events == "full", use_copy=use_copy)
    writers = {
        "customer": _Rows(Customer, CUSTOMER_COLS, use_copy=use_copy, batch_size=2000),
        "account": _Rows(ServiceAccount, ACCOUNT_COLS, use_copy=use_copy, batch_size=2000),
        "order": _Rows(WorkOrder, ORDER_COLS, use_copy=use_copy, batch_size=1000),
        "appointment": _Rows(Appointment, APPOINTMENT_COLS, use_copy=use_copy,
                             batch_size=2000),
        "assignment": _Rows(Assignment, ASSIGNMENT_COLS, use_copy=use_copy, batch_size=2000),
        "contact": _Rows(ContactAttempt, CONTACT_COLS, use_copy=use_copy, batch_size=2000),
        "event": _Rows(WorkOrderEvent, EVENT_COLS, use_copy=use_copy, batch_size=2000),
        "timer": _Rows(Timer, TIMER_COLS, use_copy=use_copy, batch_size=2000),
        "fact": _Rows(OrderFact, FACT_COLS, use_copy=use_copy, batch_size=2000),
    }
    ids = {"customer": _Ids(Customer, postgres=postgres),
           "account": _Ids(ServiceAccount, postgres=postgres),
           "order": _Ids(WorkOrder, postgres=postgres)}
    # A small run still shows every state: the newest orders are placed in each state.
    per_state = min(2, orders // (len(State) * 5))
    forced = [s for s in State.values for _ in range(per_state)]
    natural = orders - len(forced)
    batches = max(1, math.ceil(natural / batch_size))
    done = 0
    writer = _BatchWriter(writers, postgres=postgres,
                          threaded=postgres and not connection.in_atomic_block)
    try:
        for b in range(batches):
            n = natural * (b + 1) // batches - natural * b // batches
            span = (gen.now - gen.start) / batches
            lo = gen.start + b * span
            times = _created_times(rng, n, lo, lo + span, gen.offset)
            rows: dict[str, list[tuple[Any, ...]]] = {k: [] for k in writers}
            drafts = [gen.order(rows, t, ids) for t in times]
            if b == batches - 1:
                drafts += [gen.order(rows, gen.now - 3 * DAY, ids, force=s) for s in forced]
                drafts.sort(key=lambda d: d[0])
            for _t, row, children in drafts:
                oid = ids["order"].take()
                rows["order"].append((oid, *row))
                appts, assigns, contacts, evts, timers, fact = children
                rows["appointment"].extend((oid, *a) for a in appts)
                rows["assignment"].extend((oid, *a) for a in assigns)
                rows["contact"].extend((oid, *c) for c in contacts)
                rows["event"].extend((oid, *e) for e in evts)
                rows["timer"].extend((oid, *t) for t in timers)
                rows["fact"].append((oid, *fact))
            done += len(drafts)
            writer.put(rows)
            if progress is not None:
                progress(writer.written, orders, time.monotonic() - started)
    finally:
        writer.close()
    writer.raise_error()
    if progress is not None and writer.threaded:
        progress(writer.written, orders, time.monotonic() - started)
    link_repeat_visits()  # first-time fix across orders of the same account; the rollup
    if postgres:
        with connection.cursor() as cursor:
            for model in (Customer, ServiceAccount, WorkOrder, Appointment, Assignment,
                          ContactAttempt, WorkOrderEvent, Timer, OrderFact):
                cursor.execute(f"ANALYZE {connection.ops.quote_name(model._meta.db_table)}")
    return ScaleResult(orders=done, customers=gen.new_customers, technicians=added,
                       seconds=time.monotonic() - started,
                       method="COPY" if use_copy else "bulk_create", states=gen.states)
