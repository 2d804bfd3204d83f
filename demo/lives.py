"""Scale mode's order lives: each order's timeline simulated from its creation and cut at
now, turned into rows (orders, bookings, timers, events, facts)."""

from __future__ import annotations

import datetime as dt
import json
import math
import random
from collections.abc import Sequence
from dataclasses import dataclass
from types import SimpleNamespace
from typing import Any

from django.db import connection, models
from django.utils import timezone
from django.utils.translation import gettext as _

from appointments.models import AppointmentStatus, Precision
from dashboards import facts
from sla import calendars
from sla.engine import policy_for
from sla.models import ROUND_THE_CLOCK
from sla.selectors import schedule_for
from sla.timers import Anchor
from technicians.models import Area, AreaType
from workorders.models import (
    Channel,
    CustomerClass,
    Kind,
    State,
)

from .reference import (
    _ALL_SERVICES,
    CANCEL_REASONS,
    CANT_FINISH_REASONS,
    COMPANIES,
    DAY,
    FAULT_CAUSES,
    HOUR,
    MINUTE,
    NO_RESOURCE_REASONS,
    NOBODY_HOME_NOTES,
    NOTES,
    PARK_REASONS,
    REMOTE_RESOLUTIONS,
    REWORK_COMMENTS,
    REWORK_FIXES,
    SYMPTOMS,
    _access_for,
    _address,
    _district_of,
    _mobile,
    _person_name,
)

# --- Scale mode: bulk rows, no services ----------------------------------------------

#: Plain-string copies of the choices for the hot loop (enum attribute access is slow).
_S = SimpleNamespace(**{m.name: m.value for m in State})
_AS = SimpleNamespace(**{m.name: m.value for m in AppointmentStatus})
_PR = SimpleNamespace(**{m.name: m.value for m in Precision})
_K = SimpleNamespace(**{m.name: m.value for m in Kind})
_CC = SimpleNamespace(**{m.name: m.value for m in CustomerClass})
_CHANNELS = tuple(Channel.values)

CUSTOMER_COLS = ("id", "name", "phone", "alt_phone", "customer_class", "created_at")
ACCOUNT_COLS = ("id", "number", "customer_id", "address", "area_id", "service", "access_type")
ORDER_COLS = (
    "id", "kind", "service", "access_type", "channel", "customer_class", "customer_id",
    "account_id", "contact_phone", "address", "area_id", "symptoms", "fault_started_at",
    "preferred_day", "external_ref", "notes", "state", "version", "technician_id",
    "dispatched_at", "resources_confirmed_at", "parked_until", "parked_from",
    "customer_missed_bookings", "our_missed_appointments", "supervisor_flag", "rework_round",
    "completed_at", "closed_at", "cancel_reason", "created_at", "updated_at", "created_by_id",
)
APPOINTMENT_COLS = ("order_id", "start", "end", "precision", "status", "chosen_by_customer",
                    "booked_at", "booked_by_id", "reason", "arrived_at",
                    "arrival_offset_minutes", "late")
TIMER_COLS = ("order_id", "rule_id", "kind", "cycle", "status", "policy_version",
              "target_seconds", "started_at", "consumed_seconds", "running_since", "due_at",
              "next_check_at", "escalation_level", "warned_at", "breached_at", "stopped_at",
              "failures")
ASSIGNMENT_COLS = ("order_id", "technician_id", "assigned_at", "ended_at", "assigned_by_id",
                   "automatic", "reason")
EVENT_COLS = ("order_id", "at", "actor_id", "actor_label", "action", "from_state", "to_state",
              "reason", "payload")
CONTACT_COLS = ("order_id", "technician_id", "at", "channel", "outcome", "note", "sms_sent")
FACT_COLS = (
    "order_id", "day", "created_at", "dispatched_at", "contacted_at", "on_site_at",
    "completed_at", "dispatch_to_contact_s", "dispatch_to_site_s", "site_to_complete_s",
    "paused_customer_s", "paused_resources_s", "contact_outcome", "visit_outcome", "breaches",
    "visits", "arrivals", "late_arrivals", "survey_answers", "satisfied_answers",
    "rework_rounds", "remote", "abnormal", "area_id", "technician_id", "team_id", "kind",
    "customer_class", "account_id", "state", "closed_at", "missed_by_us", "next_visit_at",
    "first_fix", "updated_at",
)
#: R14: arriving more than this off the booked time is late (APPOINTMENT_LATE_AFTER_MINUTES).
_LATE_AFTER = dt.timedelta(minutes=10)


@dataclass(frozen=True)
class _Rule:
    """An SLA timer rule, flattened for the simulation of the scale mode."""

    pk: int
    kind: str
    target: int
    anchored: bool
    start_on: frozenset[str]
    stop_on: frozenset[str]
    pause_on: frozenset[str]
    resume_on: frozenset[str]
    cancel_on: frozenset[str]
    ladder: tuple[tuple[float, str], ...]
    version: int
    schedule: Any


class _Rows:
    """Writes rows of one table: ``COPY`` on PostgreSQL, ``bulk_create`` elsewhere.

    Columns not listed (a field added to the model later) get the field's default, so
    a new nullable or defaulted field does not break the load; a new required field
    without a default stops it with a clear message.
    """

    def __init__(self, model: type[models.Model], cols: Sequence[str], *, use_copy: bool,
                 batch_size: int) -> None:
        self.model = model
        self.cols = tuple(cols)
        self.use_copy = use_copy
        self.batch_size = batch_size
        by_attname = {f.attname: f for f in model._meta.concrete_fields}
        unknown = set(self.cols) - set(by_attname)
        if unknown:
            raise RuntimeError(f"{model.__name__} has no column(s) {sorted(unknown)}")
        extra_fields = [f for name, f in by_attname.items()
                        if name not in self.cols and not f.primary_key]
        for f in extra_fields:
            if not f.has_default() and not f.null:
                raise RuntimeError(f"{model.__name__}.{f.name} is required and has no default:"
                                   f" teach workorders/demo.py its value")
        self.extra_cols = tuple(f.attname for f in extra_fields)
        self.extra_fields = extra_fields
        self.json_at = [i for i, name in enumerate(self.cols + self.extra_cols)
                        if isinstance(by_attname[name], models.JSONField)]
        qn = connection.ops.quote_name
        self.copy_sql = (f"COPY {qn(model._meta.db_table)} "
                         f"({', '.join(qn(c) for c in self.cols + self.extra_cols)}) FROM STDIN")

    def write(self, rows: list[tuple[Any, ...]]) -> None:
        if not rows:
            return
        if not self.use_copy:
            self.model._default_manager.bulk_create(
                [self.model(**dict(zip(self.cols, row, strict=True))) for row in rows],
                batch_size=self.batch_size)
            return
        extra = tuple(f.get_default() for f in self.extra_fields)
        with connection.cursor() as cursor, cursor.cursor.copy(self.copy_sql) as copy:
            for row in rows:
                if self.json_at:
                    values = list(row + extra)
                    for i in self.json_at:
                        values[i] = json.dumps(values[i], ensure_ascii=False)
                    copy.write_row(values)
                else:
                    copy.write_row(row + extra if extra else row)


class _Ids:
    """Primary keys handed out before insert, so rows can point at each other in one pass.
    PostgreSQL: drawn from the table's sequence. Elsewhere: counted up from max(id)
    (SQLite takes its write lock at BEGIN, so nobody else inserts meanwhile)."""

    def __init__(self, model: type[models.Model], *, postgres: bool) -> None:
        self.model = model
        self.postgres = postgres
        self.pool: list[int] = []
        self.next_id: int | None = None

    def take(self) -> int:
        if self.postgres:
            if not self.pool:
                table = self.model._meta.db_table
                with connection.cursor() as cursor:
                    cursor.execute("SELECT nextval(pg_get_serial_sequence(%s, 'id')) "
                                   "FROM generate_series(1, 5000)", [table])
                    self.pool = [r[0] for r in cursor.fetchall()][::-1]
            return self.pool.pop()
        if self.next_id is None:
            top = self.model._default_manager.aggregate(m=models.Max("pk"))["m"] or 0
            self.next_id = top + 1
        self.next_id += 1
        return self.next_id - 1


@dataclass
class _ScaleReference:
    areas: list[Area]
    area_cum: list[int]
    by_area: dict[int, list[int]]
    candidates: dict[tuple[int, str, str, str], list[int]]
    tech_users: dict[int, tuple[int, str]]
    team_of: dict[int, int | None]
    agent: int
    agent_actor: tuple[int, str]
    dispatcher: tuple[int, str]


@dataclass
class ScaleResult:
    orders: int
    customers: int
    technicians: int
    seconds: float
    method: str
    states: dict[str, int]


# Actors of a step, resolved per order to (user id, label).
_TECH, _DISPATCHER, _AGENT, _SYSTEM, _CUSTOMER = range(5)


class _ScaleGenerator:
    """Simulates orders' lives (seconds since the epoch) and turns them into rows."""

    def __init__(self, rng: random.Random, ref: _ScaleReference, *, now: float, days: int,
                 full_events: bool, use_copy: bool) -> None:
        self.rng = rng
        self.ref = ref
        self.now = now
        self.start = now - days * DAY
        self.full_events = full_events
        self.use_copy = use_copy
        tz = timezone.get_current_timezone()
        # One UTC offset for the run (Asia/Shanghai has no DST; elsewhere a visit may
        # be an hour off around a change, which a benchmark does not mind).
        self.offset = dt.datetime.fromtimestamp(now, tz).utcoffset().total_seconds()  # type: ignore[union-attr]
        self.tz = tz
        self.customers: list[tuple[Any, ...]] = []  # recent customers, for repeat calls
        self.states: dict[str, int] = {}
        self.new_customers = 0
        self.intake_reason = _("First booking at intake (R3)")
        self.rules: dict[tuple[str, str, str, str], list[_Rule]] = {}

    # -- time helpers --
    def _dt(self, ts: float) -> dt.datetime:
        return dt.datetime.fromtimestamp(ts, dt.UTC)

    def _local_day_start(self, ts: float) -> float:
        return ts - ((ts + self.offset) % DAY)

    def _local_hour(self, ts: float) -> int:
        return int(((ts + self.offset) % DAY) // HOUR)

    def _visit(self, earliest: float, day_start: float | None = None) -> float:
        """The first whole hour from ``earliest`` in working hours (9:00-18:00)."""
        r = self.rng.random
        t = earliest
        if day_start is not None:
            t = max(t, day_start + (9 + int(r() * 8)) * HOUR)
        t = math.ceil(t / HOUR) * HOUR  # local offsets are whole hours here
        hour = self._local_hour(t)
        if hour < 9:
            t = self._local_day_start(t) + (9 + int(r() * 3)) * HOUR
        elif hour >= 18:
            t = self._local_day_start(t) + DAY + (9 + int(r() * 3)) * HOUR
        return t

    # -- an order's life --
    def _life(self, t0: float, kind: str, vip: bool, area_type: str, preferred: float,
              force: str | None) -> list[tuple[str, str, str, float, int, Any]]:
        """Every step from intake to the end: (action, from, to, at, actor, data).

        ``force`` takes the branches that lead to that state (used to make sure a small
        run still has every state); otherwise branches are drawn by realistic rates."""
        r = self.rng.random
        want = {
            _S.CANCELLED: {"cancel"}, _S.RESOLVED_REMOTELY: {"remote"},
            _S.NO_RESOURCES: {"no_resources"}, _S.PARKED: {"park"}, _S.NOBODY_HOME: {"miss1"},
            _S.ABNORMAL: {"miss1", "miss2"}, _S.AWAITING_REVISIT: {"cant_finish"},
            _S.REWORK: {"rework"},
        }.get(force or "", set())

        def coin(p: float, branch: str) -> bool:
            return branch in want if force else r() < p

        steps: list[tuple[str, str, str, float, int, Any]] = []
        state = _S.ACCEPTED
        t = t0

        def go(action: str, to: str, at: float, actor: int, data: Any = None) -> None:
            nonlocal state, t
            t = max(at, t + 30)
            steps.append((action, state, to, t, actor, data))
            state = to

        def minutes(lo: float, hi: float) -> float:
            return (lo + r() * (hi - lo)) * MINUTE

        if kind == _K.REPAIR and coin(0.12, "remote"):  # R2, within 4 h (R36)
            go("resolve_remotely", _S.RESOLVED_REMOTELY, t + minutes(10, 240), _AGENT,
               self.rng.choice(REMOTE_RESOLUTIONS))
            return steps
        cancel_at = None
        if coin(0.05, "cancel"):
            cancel_at = self.rng.choice((_S.ACCEPTED, _S.DISPATCHED, _S.TAKEN, _S.CONTACTED,
                                         _S.SCHEDULED))

        def cancelled() -> bool:
            if state != cancel_at:
                return False
            go("cancel", _S.CANCELLED, t + minutes(10, 900), _AGENT,
               self.rng.choice(CANCEL_REASONS))
            return True

        if cancelled():
            return steps
        go("dispatch", _S.DISPATCHED, t + minutes(1, 10 if vip else 30),
           _SYSTEM if r() < 0.75 else _DISPATCHER, None)
        if cancelled():
            return steps
        go("accept", _S.TAKEN, t + minutes(1, 8), _TECH)
        if coin(0.04, "no_resources"):  # R6
            go("report_no_resources", _S.NO_RESOURCES, t + minutes(5, 40), _TECH,
               self.rng.choice(NO_RESOURCE_REASONS))
            go("dispatch", _S.DISPATCHED, t + minutes(1440, 5 * 1440), _DISPATCHER, "again")
            go("accept", _S.TAKEN, t + minutes(1, 8), _TECH)
        go("confirm_resources", _S.TAKEN, t + minutes(2, 15), _TECH)  # R5
        if cancelled():
            return steps
        late = r() < 0.06  # R7/R7a: most calls within 30 min, some late
        go("contact", _S.CONTACTED, t + (minutes(35, 150) if late else minutes(3, 18)), _TECH)
        if cancelled():
            return steps
        if coin(0.05, "park"):  # R12
            until = self._local_day_start(t) + (3 + int(r() * 12)) * DAY
            go("park", _S.PARKED, t + minutes(2, 20), _TECH if r() < 0.6 else _AGENT,
               (self.rng.choice(PARK_REASONS), until))
            go("resume", _S.CONTACTED, until + minutes(8 * 60, 11 * 60),
               _TECH if r() < 0.6 else _AGENT)
        misses = 0
        revisit = False
        first_visit = True
        while True:
            booked = t + (minutes(1, 10) if first_visit else minutes(60, 20 * 60))
            if first_visit and kind != _K.REPAIR:  # on the day agreed at intake (R3)
                visit = self._visit(booked + HOUR, day_start=preferred)
            else:  # a repair within the day (R34)
                visit = self._visit(booked + 2 * HOUR)
            half_day = area_type == AreaType.RURAL and r() < 0.5  # R11
            go("schedule", _S.SCHEDULED, booked, _TECH, (visit, half_day))
            if first_visit and cancelled():
                return steps
            first_visit = False
            go("confirm_kit", _S.PREPARED, visit - minutes(60, 90), _TECH)
            go("depart", _S.EN_ROUTE, visit - minutes(30, 50), _TECH)
            if coin(0.06 if misses == 0 else 0.3, "miss1" if misses == 0 else "miss2"):
                go("nobody_home", _S.NOBODY_HOME, visit + minutes(3, 9), _TECH,  # R18
                   self.rng.choice(NOBODY_HOME_NOTES))
                misses += 1
                if misses >= 2:  # R19
                    go("make_abnormal", _S.ABNORMAL, t, _SYSTEM)
                    if coin(0.6, "abnormal_retry"):
                        go("return_from_abnormal", _S.CONTACTED, t + minutes(120, 2880), _AGENT)
                        misses = 0
                        continue
                    go("close_abnormal", _S.CLOSED, t + minutes(120, 2880), _AGENT)
                    return steps
                continue
            arrive = minutes(-10, 8) if r() < 0.93 else minutes(11, 45)  # R14
            go("check_in", _S.ON_SITE, visit + arrive, _TECH)
            if not revisit and coin(0.05, "cant_finish"):  # R24
                revisit = True
                go("cant_finish", _S.AWAITING_REVISIT, t + minutes(30, 90), _TECH,
                   self.rng.choice(CANT_FINISH_REASONS))
                continue
            break
        go("sign_off", _S.SIGNED_OFF, t + minutes(30, 150), _TECH)
        go("complete", _S.COMPLETED, t + minutes(3, 15), _TECH)
        go("start_survey", _S.SURVEY_PENDING, t + minutes(1, 3), _SYSTEM)
        rounds = 0
        while rounds < (1 if force else 2) and coin(0.08 if rounds == 0 else 0.25, "rework"):
            go("start_rework", _S.REWORK, t + minutes(60, 1800), _CUSTOMER,
               self.rng.choice(REWORK_COMMENTS))
            if r() < 0.9:  # R31: the customer is called back within the day, mostly
                go("log_contact", _S.REWORK, t + minutes(20, 1200), _TECH)
            go("resolve_rework", _S.SURVEY_PENDING, t + minutes(120, 1320), _TECH,  # R31
               self.rng.choice(REWORK_FIXES))
            rounds += 1
        go("close_satisfied", _S.CLOSED, t + minutes(60, 2880), _CUSTOMER)
        return steps

    # -- customers --
    def _customer(self, ids: dict[str, _Ids]) -> tuple[tuple[Any, ...], tuple[Any, ...] | None]:
        """A returning customer (2 orders in 3), or a new one with its account; a new one's
        rows are written by the caller once the order's creation time is final."""
        rng = self.rng
        r = rng.random
        if self.customers and r() >= 1 / 3:
            return self.customers[int(r() * len(self.customers))], None
        area_i = rng.choices(range(len(self.ref.areas)), cum_weights=self.ref.area_cum)[0]
        area = self.ref.areas[area_i]
        vip = r() < 0.08
        name = rng.choice(COMPANIES) if vip and r() < 0.5 else _person_name(rng)
        phone = _mobile(rng)
        service = rng.choices(_ALL_SERVICES, cum_weights=(65, 80, 100))[0]
        access = _access_for(rng, area.area_type)
        address = _address(rng, _district_of(area), area.name)
        cid = ids["customer"].take()
        aid = ids["account"].take()
        number = {"broadband": "KD", "fixed_line": "GH", "iptv": "ITV"}[service] + f"{aid:09d}"
        klass = _CC.VIP if vip else _CC.STANDARD
        alt = _mobile(rng) if r() < 0.15 else ""
        customer = (cid, aid, name, phone, klass, area_i, address, service, access)
        if len(self.customers) < 50_000:
            self.customers.append(customer)
        else:  # recent customers call again; keep memory bounded
            self.customers[int(r() * len(self.customers))] = customer
        self.new_customers += 1
        return customer, (alt, number)

    # -- one order --
    def order(self, rows: dict[str, list[tuple[Any, ...]]], t0: float, ids: dict[str, _Ids],
              force: str | None = None) -> tuple[float, tuple[Any, ...], list[Any]]:
        """Returns (created, order row without id, child rows without order id)."""
        rng = self.rng
        r = rng.random
        ref = self.ref
        customer, new = self._customer(ids)
        cid, aid, name, phone, klass, area_i, address, service, access = customer
        area = ref.areas[area_i]
        if force == _S.RESOLVED_REMOTELY:
            kind = _K.REPAIR
        elif new is not None:
            kind = _K.INSTALL if r() < 0.85 else _K.REPAIR
        else:
            kind = _K.REPAIR if r() < 0.8 else _K.MOVE
        vip = klass == _CC.VIP
        day0 = self._local_day_start(t0)
        preferred = day0 + (0 if kind == _K.REPAIR else int(r() * 3)) * DAY
        life = self._life(t0, kind, vip, area.area_type, preferred, force)
        if force is not None:
            # Move the whole life so that now falls inside the forced state.
            if force == _S.ACCEPTED:
                k, enter = -1, t0
            else:
                k = next(i for i, step in enumerate(life) if step[2] == force)
                enter = life[k][3]
            leave = life[k + 1][3] if k + 1 < len(life) else enter + 3 * DAY
            shift = self.now - (enter + (0.2 + 0.6 * r()) * (leave - enter))
            t0 += shift
            day0 = self._local_day_start(t0)
            preferred += shift
            life = [(a, f, to, at + shift, who, data) for a, f, to, at, who, data in life]
        life = [s for s in life if s[3] <= self.now]
        channel = rng.choices(_CHANNELS, cum_weights=(40, 50, 75, 87, 95, 100))[0]
        created = self._dt(t0)
        if new is not None:
            alt, number = new
            rows["customer"].append((cid, name, phone, alt, klass, created))
            rows["account"].append((aid, number, cid, address, area.pk, service, access))
        created_by = None if channel in ("app", "website") else ref.agent
        move_to = ""
        if kind == _K.MOVE:
            move_to = _address(rng, _district_of(area), area.name)
        # candidates for the technician: serving the area with the skills for the job
        techs = ref.candidates.get((area.pk, kind, service, access)) or ref.by_area[area.pk]
        tech = techs[int(r() * len(techs))]
        tech_user, tech_label = ref.tech_users[tech]

        def actor(who: int) -> tuple[int | None, str]:
            if who == _TECH:
                return tech_user, tech_label
            if who == _DISPATCHER:
                return ref.dispatcher
            if who == _AGENT:
                return ref.agent_actor
            if who == _CUSTOMER and r() < 0.3:  # R30: manual callback by the call-centre
                return ref.agent_actor
            return None, "system"

        technician = None
        dispatched = None
        resources = None
        parked_until = None
        parked_from = ""
        missed = 0
        rework = 0
        completed = None
        closed = None
        cancel_reason = ""
        preferred_day = dt.datetime.fromtimestamp(preferred + 12 * HOUR, self.tz).date()
        booked_by = created_by
        appts: list[list[Any]] = [[
            self._dt(preferred), self._dt(preferred + DAY), _PR.DAY,
            _AS.BOOKED, True, created, booked_by, self.intake_reason, None, None, None]]
        history: list[tuple[str, float, float | None]] = [("create", t0, None)]
        assigns: list[list[Any]] = []
        contacts: list[tuple[Any, ...]] = []
        events: list[tuple[Any, ...]] = []
        create_actor = (created_by, ref.agent_actor[1]) if created_by else (None, "system")
        create_event = (created, create_actor[0], create_actor[1], "create", "", _S.ACCEPTED,
                        "", {"channel": channel, "kind": kind,
                             "preferred_day": preferred_day.isoformat()})
        events.append(create_event)
        last = len(life) - 1
        full = self.full_events
        fromts = dt.datetime.fromtimestamp
        utc = dt.UTC
        for i, (action, from_state, to_state, at_ts, who, data) in enumerate(life):
            at = fromts(at_ts, utc)
            log = full or i == last  # "ends" keeps only the last step's event
            reason = ""
            payload: dict[str, Any] = {}
            if action != "schedule":  # a booking carries its window start (below)
                history.append((action, at_ts, None))
            if action == "dispatch":
                if data == "again" and len(ref.by_area[area.pk]) > 1 and r() < 0.5:
                    tech = techs[int(r() * len(techs))]
                    tech_user, tech_label = ref.tech_users[tech]
                technician, dispatched = tech, at
                automatic = who == _SYSTEM
                for a in assigns:
                    if a[2] is None:
                        a[2] = at
                assigns.append([tech, at, None, None if automatic else ref.dispatcher[0],
                                automatic, ""])
                payload = {"technician": tech, "automatic": automatic}
            elif action == "confirm_resources":
                resources = at
            elif action == "report_no_resources":
                resources = None
                reason = data
            elif action in ("contact", "log_contact"):  # R7; R31 in a rework round
                contacts.append((tech, at, "phone", "reached", "", False))
                payload = {"channel": "phone", "outcome": "reached"}
            elif action == "schedule":
                visit, half_day = data
                if half_day:
                    morning = self._local_hour(visit) < 12
                    day = self._local_day_start(visit)
                    start = day + (9 if morning else 13) * HOUR
                    end = day + (12 if morning else 17) * HOUR
                else:
                    start, end = visit, visit + HOUR
                for ap in appts:
                    if ap[3] == _AS.BOOKED:
                        ap[3] = _AS.CANCELLED
                precision = _PR.HALF_DAY if half_day else _PR.EXACT
                appts.append([self._dt(start), self._dt(end), precision,
                              _AS.BOOKED, True, at, tech_user, "", None, None, None])
                history.append((action, at_ts, start))
                if log:
                    payload = {"start": appts[-1][0].isoformat(),
                               "end": appts[-1][1].isoformat(),
                               "precision": precision, "chosen_by_customer": True}
            elif action == "park":
                reason, until = data
                parked_from = from_state
                parked_until = dt.datetime.fromtimestamp(until + 12 * HOUR, self.tz).date()
                payload = {"until": parked_until.isoformat()} if log else payload
            elif action == "resume":
                parked_from, parked_until = "", None
            elif action == "check_in":
                for ap in appts:
                    if ap[3] == _AS.BOOKED:
                        ap[3] = _AS.KEPT
                        offset = at - ap[0]
                        ap[8], ap[9] = at, int(offset.total_seconds() // 60)
                        if ap[2] == _PR.EXACT:  # R14, as appointments.rules.arrival
                            ap[10] = abs(offset) > _LATE_AFTER
                        else:
                            ap[10] = not (ap[0] - _LATE_AFTER <= at <= ap[1] + _LATE_AFTER)
            elif action == "nobody_home":
                missed += 1
                reason = data
                for ap in appts:
                    if ap[3] in (_AS.BOOKED, _AS.KEPT):
                        ap[3] = _AS.MISSED_BY_CUSTOMER
            elif action == "make_abnormal":
                reason = f"{missed} bookings not kept by the customer (R19)"
            elif action == "return_from_abnormal":
                missed = 0
                reason = "回访：客户同意重新预约"
            elif action == "close_abnormal":
                closed = at
                reason = "回访：客户不再需要"
            elif action == "cant_finish":
                reason = data
                if log:
                    payload = {"promised_at": self._dt(at_ts + DAY).isoformat()}
            elif action == "sign_off":
                payload = {"method": "drawn"}
            elif action == "complete":
                completed = at
                if log:
                    report: dict[str, Any] = {
                        "work_done": "安装光猫并测速" if kind != _K.REPAIR else "故障已修复并测速",
                        "speed_mbps": rng.choice((100, 300, 500, 1000))}
                    if kind == _K.REPAIR:
                        report["fault_cause"] = rng.choice(FAULT_CAUSES)  # R25
                    payload = {"report": report}
            elif action == "start_rework":
                rework += 1
                reason = data
                payload = {"satisfied": False}
            elif action == "resolve_rework":
                reason = data
            elif action == "close_satisfied":
                closed = at
                payload = {"satisfied": True}
            elif action in ("resolve_remotely", "cancel"):
                closed = at
                reason = data
                if action == "cancel":
                    cancel_reason = data
                    for a in assigns:
                        if a[2] is None:
                            a[2] = at
                    for ap in appts:
                        if ap[3] == _AS.BOOKED:
                            ap[3] = _AS.CANCELLED
            if log:
                by_id, by_label = actor(who)
                events.append((at, by_id, by_label, action, from_state, to_state, reason,
                               payload))
        state = life[-1][2] if life else _S.ACCEPTED
        updated = self._dt(life[-1][3]) if life else created
        self.states[state] = self.states.get(state, 0) + 1
        symptoms = rng.choice(SYMPTOMS[service]) if kind == _K.REPAIR else ""
        fault_started = self._dt(t0 - (1 + r() * 47) * HOUR) if kind == _K.REPAIR else None
        external_ref = f"10010-{created:%Y%m%d}-{int(r() * 10000):04d}" \
            if channel == "hotline" else ""
        notes = rng.choice(NOTES)
        if move_to:
            notes = f"移机，原地址：{address}"
            address = move_to
        row = (
            kind, service, access, channel, klass, cid, aid,
            phone, address, area.pk, symptoms, fault_started, preferred_day, external_ref,
            notes, state, 1 + len(life), technician, dispatched, resources, parked_until,
            parked_from, missed, 0, False, rework, completed, closed, cancel_reason, created,
            updated, created_by,
        )
        timers = self._timers(kind, service, klass, area.area_type, history)
        arrivals = [(ap[8], ap[10]) for ap in appts if ap[8] is not None]
        fact = self._fact(created, history, timers, arrivals, row, area.pk, technician)
        return t0, row, [appts, assigns, contacts, events, timers, fact]

    # -- SLA timers, as the engine would have kept them (sla.engine.on_order_event) --
    def _rules(self, kind: str, service: str, klass: str, area_type: str) -> list[_Rule]:
        key = (kind, service, klass, area_type)
        found = self.rules.get(key)
        if found is None:

            policy = policy_for(SimpleNamespace(kind=kind, service=service,
                                                customer_class=klass,
                                                area=SimpleNamespace(area_type=area_type)))
            found = []
            for rule in policy.rules.select_related("calendar").all() if policy else []:
                schedule = None
                if (rule.calendar_id is not None and rule.anchor != Anchor.APPOINTMENT_START
                        and rule.calendar.name != ROUND_THE_CLOCK):  # type: ignore[union-attr]
                    schedule = schedule_for(rule.calendar)  # type: ignore[arg-type]
                found.append(_Rule(
                    pk=rule.pk, kind=rule.kind, target=rule.target_minutes * 60,
                    anchored=rule.anchor == Anchor.APPOINTMENT_START,
                    start_on=frozenset(rule.start_on), stop_on=frozenset(rule.stop_on),
                    pause_on=frozenset(rule.pause_on), resume_on=frozenset(rule.resume_on),
                    cancel_on=frozenset(rule.cancel_on),
                    ladder=tuple((step["percent"], step.get("event", "escalated"))
                                 for step in rule.ladder),
                    version=policy.version if policy else 1, schedule=schedule))
            self.rules[key] = found
        return found

    def _timers(self, kind: str, service: str, klass: str, area_type: str,
                history: list[tuple[str, float, float | None]]) -> list[list[Any]]:
        """Timer rows (TIMER_COLS without the order id), simulated over the order's
        events with the engine's rules: start, stop, pause, resume, cancel, and every
        ladder step fired at its true time; open timers are left as the sweep leaves
        them at the moment of the run."""
        rules = self._rules(kind, service, klass, area_type)
        if not rules:
            return []

        def used(t: list[Any], rule: _Rule, at: float) -> float:
            if t[4] != "armed":
                return t[8]
            if rule.schedule is None:
                return t[8] + (at - t[9])
            return t[8] + calendars.business_time_between(
                rule.schedule, self._dt(t[9]), self._dt(at)).total_seconds()

        def moment(t: list[Any], rule: _Rule, seconds: float) -> float:
            remaining = max(seconds - t[8], 0)
            if rule.schedule is None or remaining == 0:
                return t[9] + remaining
            return calendars.add_business_time(
                rule.schedule, self._dt(t[9]), dt.timedelta(seconds=remaining)).timestamp()

        def fire(t: list[Any], rule: _Rule, now: float) -> None:
            while t[4] == "armed" and t[12] < len(rule.ladder):
                percent, event = rule.ladder[t[12]]
                reached = moment(t, rule, t[6] * percent / 100)
                if reached > now:
                    break
                if event == "warned" and t[13] is None:
                    t[13] = reached
                if event == "breached" and t[14] is None:
                    t[14] = reached
                t[12] += 1

        def plan(t: list[Any], rule: _Rule) -> None:
            t[10] = moment(t, rule, t[6])
            t[11] = (moment(t, rule, t[6] * rule.ladder[t[12]][0] / 100)
                     if t[12] < len(rule.ladder) else None)

        def close(t: list[Any], rule: _Rule, status: str, at: float) -> None:
            fire(t, rule, at)
            t[8] = used(t, rule, at)
            t[4], t[9], t[11], t[15] = status, None, None, at

        timers: list[list[Any]] = []
        open_: dict[str, tuple[list[Any], _Rule]] = {}
        cycles: dict[str, int] = {}
        for action, at, booked in history:
            for rule in rules:
                current = open_.get(rule.kind)
                if current is not None:
                    t = current[0]
                    if action in rule.cancel_on or action in rule.stop_on:
                        close(t, rule, "cancelled" if action in rule.cancel_on else "stopped",
                              at)
                        del open_[rule.kind]
                        continue
                    if action in rule.pause_on and t[4] == "armed":
                        fire(t, rule, at)
                        t[8] = used(t, rule, at)
                        t[4], t[9], t[11] = "paused", None, None
                        continue
                    if action in rule.resume_on and t[4] == "paused":
                        t[4], t[9] = "armed", at
                        plan(t, rule)
                        continue
                    if action not in rule.start_on:
                        continue
                    close(t, rule, "cancelled", at)
                    del open_[rule.kind]
                elif action not in rule.start_on:
                    continue
                target = rule.target
                if rule.anchored:
                    if booked is None:
                        continue
                    target = max(int(booked + target - at), 0)
                cycles[rule.kind] = cycles.get(rule.kind, 0) + 1
                # rule, kind, cycle, status, version, target, started, used, running since,
                # due, next check, level, warned, breached, stopped, failures
                t = [rule.pk, rule.kind, cycles[rule.kind], "armed", rule.version, target,
                     at, 0.0, at, None, None, 0, None, None, None, 0]
                t.insert(0, None)  # keeps the indexes above one-based like TIMER_COLS
                plan(t, rule)
                timers.append(t)
                open_[rule.kind] = (t, rule)
        for t, rule in open_.values():  # what the sweep has fired by now
            fire(t, rule, self.now)
            if t[4] == "armed":
                plan(t, rule)
        dt_ = self._dt
        return [[t[1], t[2], t[3], t[4], t[5], t[6], dt_(t[7]), round(t[8]),
                 dt_(t[9]) if t[9] is not None else None,
                 dt_(t[10]) if t[10] is not None else None,
                 dt_(t[11]) if t[11] is not None else None, t[12],
                 dt_(t[13]) if t[13] is not None else None,
                 dt_(t[14]) if t[14] is not None else None,
                 dt_(t[15]) if t[15] is not None else None, 0] for t in timers]

    def _fact(self, created: dt.datetime, history: list[tuple[str, float, float | None]],
              timers: list[list[Any]], arrivals: list[tuple[Any, Any]],
              row: tuple[Any, ...], area_id: int, technician: int | None) -> tuple[Any, ...]:
        """The order's dashboard facts (FACT_COLS without the order id), computed by the
        same function the event hook uses."""

        values = facts.compute(facts.History(
            created_at=created,
            events=[(action, self._dt(at)) for action, at, _b in history],
            timers=[(t[1], t[3], t[13]) for t in timers], arrivals=arrivals))
        values.update({
            "area_id": area_id, "technician_id": technician,
            "team_id": self.ref.team_of.get(technician) if technician else None,
            "kind": row[0], "customer_class": row[4], "account_id": row[6],
            "state": row[15], "closed_at": row[27], "missed_by_us": row[23],
            "next_visit_at": None, "updated_at": row[30],
            # repeat visits across orders are linked after the load (link_repeat_visits)
            "first_fix": values["completed_at"] is not None and values["visits"] <= 1
            and values["rework_rounds"] == 0,
        })
        return tuple(values[name] for name in FACT_COLS[1:])


