"""The SLA engine: timers follow order events, and a sweep records warnings and breaches.

* ``on_order_event`` runs inside the transaction of every order change (``handlers``
  subscribes it to the lifecycle's ``OrderEvent`` on the bus), so a timer is armed,
  stopped, paused or resumed atomically with the change that causes it.
* ``sweep`` claims armed timers whose next ladder step is due with
  ``SELECT … FOR UPDATE SKIP LOCKED`` (several workers or a second beat never take the
  same row), records each step once with the true time it was reached, and writes the
  notifications to the outbox in the same transaction. A row whose evaluation raises is
  pushed forward so it cannot crash-loop the sweep; a missed tick is caught up by the next
  one because the query is "due at or before now".
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import re
import threading
from typing import Any

from django.db import DEFAULT_DB_ALIAS, IntegrityError, connection, connections, router, transaction
from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from psycopg import adapters
from psycopg.pq import Format

from appointments.rules import arrival_deadline
from fieldops import bus, clock, refdata
from fieldops.bulk import (
    insert_ignoring_conflicts,
    insert_rows,
    row_insert_sql,
    update_fields,
    update_rows,
)
from notifications.models import Notification
from notifications.services import (
    alerts_written,
    notification_table,
    notify_rows,
    notify_rows_flush,
)
from workorders.events import OrderAction
from workorders.models import WorkOrder

from . import calendars, selectors
from .events import BreachesWithdrawn, TimerStep, TimerStepped, WithdrawnStep
from .timers import (
    Anchor,
    SlaPolicy,
    Timer,
    TimerEvent,
    TimerEventKind,
    TimerKind,
    TimerRule,
    TimerStatus,
)

logger = logging.getLogger(__name__)

#: A timer whose evaluation fails is looked at again after this (doubling, capped).
RETRY_AFTER = dt.timedelta(seconds=30)
RETRY_CAP = dt.timedelta(hours=1)
RETRY_COUNT_MAX = 32767  # the column's range; the wait stays at the cap long before
#: Timers per claim and transaction: per-batch costs (the claim, commit, a few queries)
#: spread over more rows; a batch holds its rows for a few tenths of a second.
SWEEP_BATCH = 2000


# --- Policies and calendars -----------------------------------------------------

def policy_for(order: Any) -> SlaPolicy | None:
    """The most specific active policy matching the order (blank fields match anything;
    ties: the lowest id), with its rules. Runs on every order event, so the active
    policies are cached per process (``active_policies``)."""
    facts = (order.kind, order.service, order.customer_class, order.area.area_type)
    best: SlaPolicy | None = None
    for policy in active_policies():
        matches = all(not wanted or wanted == fact for wanted, fact in zip(
            (policy.kind, policy.service, policy.customer_class, policy.area_type), facts,
            strict=True))
        if matches and (best is None or (policy.specificity(), -policy.pk)
                        > (best.specificity(), -best.pk)):
            best = policy
    return best


def active_policies() -> list[SlaPolicy]:
    """Every active policy with its rules and their calendars, as in the database now.

    Cached per process, keyed on one small query read on every call: the id and version of
    each active policy and, on PostgreSQL, the row version (``xmin``, ``ctid``) of it and
    of each of its rules. Any change to a policy or a rule, committed by any process or
    made earlier in the caller's own transaction (even with ``QuerySet.update``, without a
    version bump), gives a new key, and a rolled-back change gives the old key back; so
    the next order event always sees the policies as they are. Elsewhere (SQLite) a save
    or delete in this process drops the cache, and an edit must bump the version (the
    admin does, R38)."""
    if refdata.current() is not None:  # an API request: as of its reference stamp
        return _POLICIES_BY_STAMP.get("active", _load_policies)
    with connection.cursor() as cursor:
        cursor.execute(_POLICY_KEY_SQL if connection.vendor == "postgresql"
                       else _POLICY_KEY_SQL_PORTABLE)
        key = tuple(tuple(row) for row in cursor.fetchall())
    with _POLICY_LOCK:
        cached = _POLICY_CACHE.get(key)
    if cached is not None:
        return cached
    # Read after the key: the content is never older than the key it is stored under.
    policies = _load_policies()
    with _POLICY_LOCK:
        _POLICY_CACHE.clear()
        _POLICY_CACHE[key] = policies
    return policies


_POLICY_KEY_SQL = """
    SELECT p.id, p.version, p.xmin::text, p.ctid::text,
           (SELECT string_agg(r.xmin::text || '@' || r.ctid::text, ',' ORDER BY r.id)
            FROM sla_timerrule r WHERE r.policy_id = p.id)
    FROM sla_slapolicy p WHERE p.is_active ORDER BY p.id"""
_POLICY_KEY_SQL_PORTABLE = """
    SELECT id, version, updated_at FROM sla_slapolicy WHERE is_active ORDER BY id"""
_POLICY_LOCK = threading.Lock()
_POLICY_CACHE: dict[tuple[tuple[Any, ...], ...], list[SlaPolicy]] = {}
#: The same, keyed on the reference stamp (``fieldops.refdata``: the policies, rules and
#: calendars' tables renew it on every write), for requests that read it with their token.
_POLICIES_BY_STAMP = refdata.Cache()
refdata.watch(SlaPolicy, TimerRule)


def _load_policies() -> list[SlaPolicy]:
    return list(SlaPolicy.objects.filter(is_active=True).order_by("pk")
                .prefetch_related("rules__calendar"))


@receiver([post_save, post_delete], sender=SlaPolicy)
@receiver([post_save, post_delete], sender=TimerRule)
def _policies_changed(sender: Any, **kwargs: Any) -> None:
    with _POLICY_LOCK:
        _POLICY_CACHE.clear()
    _POLICIES_BY_STAMP.clear()


def schedule_of(rule: TimerRule) -> calendars.Schedule:
    if rule.calendar_id is None or rule.anchor == Anchor.APPOINTMENT_START:
        return calendars.CALENDAR_TIME
    return selectors.schedule_for(rule.calendar)  # type: ignore[arg-type]


# --- Timer arithmetic (pure: no queries) ----------------------------------------------

def _consumed(timer: Timer, schedule: calendars.Schedule, at: dt.datetime) -> int:
    """Business seconds used by ``at`` (paused time excluded)."""
    used = timer.consumed_seconds
    if timer.status == TimerStatus.ARMED and timer.running_since is not None:
        used += int(calendars.business_time_between(schedule, timer.running_since,
                                                    at).total_seconds())
    return used


def _moment_at(timer: Any, schedule: calendars.Schedule, seconds: int) -> dt.datetime:
    """When the timer will have used ``seconds`` (it must be armed)."""
    assert timer.running_since is not None
    remaining = max(seconds - timer.consumed_seconds, 0)
    if remaining == 0:
        return timer.running_since
    if schedule is calendars.CALENDAR_TIME:  # every moment counts: plain addition (R37)
        return timer.running_since + dt.timedelta(seconds=remaining)
    return calendars.add_business_time(schedule, timer.running_since,
                                       dt.timedelta(seconds=remaining))


def _step_seconds(timer: Any, step: dict[str, Any]) -> int:
    return int(timer.target_seconds * step["percent"] / 100)


def _plan(timer: Any, rule: TimerRule, schedule: calendars.Schedule) -> None:
    """Set ``due_at`` and ``next_check_at`` from the timer's clock and the ladder."""
    if timer.status != TimerStatus.ARMED:
        timer.next_check_at = None
        return
    timer.due_at = _moment_at(timer, schedule, timer.target_seconds)
    ladder = rule.ladder
    if timer.escalation_level < len(ladder):
        step = ladder[timer.escalation_level]
        timer.next_check_at = _moment_at(timer, schedule, _step_seconds(timer, step))
    else:
        timer.next_check_at = None


def _event(timer: Timer, kind: str, at: dt.datetime, reason: str = "", *,
           level: int | None = None, data: dict[str, Any] | None = None,
           withdraws: int | None = None) -> TimerEvent:
    return TimerEvent(timer=timer, kind=kind, at=at, level=level, reason=reason,
                      data=data or {}, recorded_at=clock.now(), round=timer.withdrawals,
                      withdraws=withdraws)


# --- Following order events -------------------------------------------------------------

def on_order_event(*, order: Any, action: str, at: dt.datetime) -> None:
    """Start, stop, pause, resume or cancel the order's timers for this event. Runs inside
    the caller's transaction."""
    policy = policy_for(order)
    # Intake is the order's first event: it has no timers yet, so none are looked up.
    fresh = action == OrderAction.CREATE
    if fresh:
        order.sla_timer_rows = []
    # The order's open timers, locked in id order (the order the policy re-arm locks
    # them in, so the two wait for each other instead of deadlocking); NO KEY UPDATE
    # leaves the inserts of their events (FOR KEY SHARE) alone. Read after the lock, so a
    # re-arm committed a moment ago is seen, not overwritten with what it replaced.
    open_timers = {} if fresh else {t.kind: t for t in (
        Timer.objects.select_for_update(no_key=True, of=("self",))
        .filter(order=order, status__in=[TimerStatus.ARMED, TimerStatus.PAUSED])
        .select_related("rule__calendar").order_by("pk"))}
    events: list[TimerEvent] = []
    notes: list[tuple[Any, ...]] = []
    withdrawn: list[WithdrawnStep] = []
    if policy is not None:
        rules = {rule.kind: rule for rule in policy.rules.all()}
        for held in open_timers.values():
            # R38: a timer computed with an older version of its policy (the re-arm task
            # has not reached it yet) follows the current rules before this event
            # applies, so a paused one resumes with the new target.
            if held.rule.policy_id == policy.pk and held.policy_version != policy.version:
                rearmed, told = _rearm(held, rules.get(held.kind, held.rule), policy, at)
                held.save(update_fields=REARMED_FIELDS)
                events.extend(rearmed)
                notes.extend(told)
        for rule in policy.rules.all():
            timer = open_timers.get(rule.kind)
            events.extend(_apply_rule(order, policy, rule, timer, action, at, notes,
                                      withdrawn))
    else:
        for timer in open_timers.values():
            if action in timer.rule.cancel_on:
                events.extend(_close(timer, TimerStatus.CANCELLED, at, action, notes,
                                     withdrawn))
    if fresh and order.sla_timer_rows:
        # The intake's new timers and their events, one statement for all (the timers'
        # ids come back with it).
        _insert_new_timers(order.sla_timer_rows, events)
    else:
        TimerEvent.objects.bulk_create(events, ignore_conflicts=True)
    if notes:

        notify_rows(notes)
    _publish_steps([(e.timer_id, e.kind, e.at) for e in events])
    if withdrawn:
        _publish_withdrawn(withdrawn, at=at, action=action)


def _insert_new_timers(timers: list[Timer], events: list[TimerEvent]) -> None:
    """``bulk_create(timers)``, then ``bulk_create(events, ignore_conflicts=True)`` for
    events of those timers (and others already written), in one statement on PostgreSQL:
    each timer a data-modifying ``WITH`` whose id its events read."""
    using = router.db_for_write(Timer) or DEFAULT_DB_ALIAS
    if connections[using].vendor != "postgresql" or any(t.pk is not None for t in timers):
        Timer.objects.bulk_create(timers)
        TimerEvent.objects.bulk_create(events, ignore_conflicts=True)
        return
    heads: list[str] = []
    params: list[Any] = []
    names = {id(timer): f"timer_{n}" for n, timer in enumerate(timers)}
    for timer in timers:
        table, columns, values, values_params = row_insert_sql(timer, using)
        heads.append(f"{names[id(timer)]} AS (INSERT INTO {table} ({columns}) "
                     f"VALUES ({values}) RETURNING id)")
        params.extend(values_params)
    for n, event in enumerate(events):
        name = names.get(id(event.timer))
        table, columns, values, values_params = row_insert_sql(
            event, using, expressions={"timer_id": f"(SELECT id FROM {name})"} if name else {})
        heads.append(f"event_{n} AS (INSERT INTO {table} ({columns}) VALUES ({values}) "
                     f"ON CONFLICT DO NOTHING)")
        params.extend(values_params)
    ids = ", ".join(f"(SELECT id FROM {names[id(timer)]})" for timer in timers)
    with connections[using].cursor() as cursor:
        cursor.execute(f"WITH {', '.join(heads)} SELECT {ids}", params)
        row = cursor.fetchone()
    for timer, pk in zip(timers, row, strict=True):
        timer.pk = pk
        timer._state.adding, timer._state.db = False, using
    for event in events:
        event.timer_id = event.timer.pk  # what bulk_create does before writing


def _apply_rule(order: Any, policy: SlaPolicy, rule: TimerRule, timer: Timer | None,
                action: str, at: dt.datetime, notes: list[tuple[Any, ...]],
                withdrawn: list[WithdrawnStep]) -> list[TimerEvent]:
    schedule = schedule_of(rule)
    if timer is not None:
        if action in rule.cancel_on:
            return _close(timer, TimerStatus.CANCELLED, at, action, notes, withdrawn)
        if action in rule.stop_on:
            return _close(timer, TimerStatus.STOPPED, at, action, notes, withdrawn)
        if action in rule.pause_on and timer.status == TimerStatus.ARMED:
            # A pause that happened before steps the sweep already fired (it reached
            # the server late) takes them back: the clock stopped before they were due.
            events = _withdraw(timer, at, action, notes, withdrawn)
            fired, told = _fire_due(timer, timer.rule, schedule_of(timer.rule), at)
            events.extend(fired)
            notes.extend(told)
            timer.consumed_seconds = _consumed(timer, schedule, at)
            timer.status, timer.running_since = TimerStatus.PAUSED, None
            _plan(timer, rule, schedule)
            timer.save()
            return [*events, _event(timer, TimerEventKind.PAUSED, at, action)]
        if action in rule.resume_on and timer.status == TimerStatus.PAUSED:
            timer.status, timer.running_since = TimerStatus.ARMED, at
            _plan(timer, rule, schedule)
            timer.save()
            return [_event(timer, TimerEventKind.RESUMED, at, action)]
        if action not in rule.start_on:
            return []
        # Started again (a reassignment, a new booking): the old cycle is cancelled.
        events = _close(timer, TimerStatus.CANCELLED, at, action, notes, withdrawn)
    else:
        if action not in rule.start_on:
            return []
        events = []
    return events + _arm(order, policy, rule, schedule, at, action)


def _arm(order: Any, policy: SlaPolicy, rule: TimerRule, schedule: calendars.Schedule,
         at: dt.datetime, action: str) -> list[TimerEvent]:
    """Start a new cycle of the rule's timer. At intake (``create``) the order has no
    timers yet, so this is cycle 1 and the new timer is kept on ``order.sla_timer_rows``
    for an answer that shows the order's timers without reading them back."""
    fresh = action == OrderAction.CREATE
    target = rule.target_minutes * 60
    if rule.anchor == Anchor.APPOINTMENT_START:
        booked = order.appointments.filter(status="booked").order_by("-booked_at").first()
        if booked is None:
            return []
        # R14, R11: the booked start for an exact time, the window's end for a half
        # day; the rule's target is the tolerance after it.
        promised = arrival_deadline(booked, tolerance=dt.timedelta(minutes=rule.target_minutes))
        target = max(int((promised - at).total_seconds()), 0)
    last = None if fresh else (Timer.objects.filter(order=order, kind=rule.kind)
                               .order_by("-cycle").first())
    timer = Timer(order=order, rule=rule, kind=rule.kind, cycle=(last.cycle + 1) if last else 1,
                  policy_version=policy.version, target_seconds=target, started_at=at,
                  running_since=at)
    _plan(timer, rule, schedule)
    if fresh:
        # Inserted with the order's other new timers in one statement (on_order_event),
        # before their events; kept for the intake's answer (started empty there).
        order.sla_timer_rows.append(timer)
    else:
        timer.save()
    return [_event(timer, TimerEventKind.STARTED, at, action,
                   data={"target_seconds": target,
                         "due_at": timer.due_at.astimezone(schedule.tz).isoformat()
                         if timer.due_at else None, "policy": policy.name,
                         "policy_version": policy.version})]


def _close(timer: Timer, status: str, at: dt.datetime, action: str,
           notes: list[tuple[Any, ...]], withdrawn: list[WithdrawnStep]) -> list[TimerEvent]:
    schedule = schedule_of(timer.rule)
    taken_back = _withdraw(timer, at, action, notes, withdrawn)
    fired, told = _fire_due(timer, timer.rule, schedule, at)
    fired = [*taken_back, *fired]
    notes.extend(told)
    timer.consumed_seconds = _consumed(timer, schedule, at)
    timer.status, timer.running_since, timer.next_check_at = status, None, None
    timer.stopped_at = at
    timer.save()
    kind = TimerEventKind.STOPPED if status == TimerStatus.STOPPED else TimerEventKind.CANCELLED
    return [*fired, _event(timer, kind, at, action,
                           data={"consumed_seconds": timer.consumed_seconds})]


# --- Late-arriving events: withdrawn steps ----------------------------------------------

#: The ladder step kinds a late-arriving earlier event can take back.
_STEP_KINDS = (TimerEventKind.WARNED, TimerEventKind.BREACHED, TimerEventKind.ESCALATED)
#: Who was told of a step (``_notifications``' dedupe key suffixes).
_TOLD = ("technician", "dispatcher", "supervisor", "supervisor-email")


def _step_key(timer_id: int, level: int, round_: int) -> str:
    """The dedupe key prefix of a ladder step's notifications (round 0 keeps the key it
    always had, so a step never notifies twice across upgrades)."""
    return f"sla:{timer_id}:{level}" + (f"r{round_}" if round_ else "")


def _local(moment: dt.datetime) -> str:
    return timezone.localtime(moment).strftime("%Y-%m-%d %H:%M")


def _withdraw(timer: Timer, at: dt.datetime, action: str, notes: list[tuple[Any, ...]],
              withdrawn: list[WithdrawnStep]) -> list[TimerEvent]:
    """Take back the ladder steps the timer fired after ``at``, the time an order event
    that stops, cancels or pauses it truly happened (recorded offline on a phone, it
    reached the server after the sweep had fired them): the clock stopped before they
    were due, so they no longer count. Each gets a WITHDRAWN event (at ``at``, recorded
    now, naming the step's level and round); the steps' own events stay (R38);
    ``warned_at``/``breached_at`` are cleared for a withdrawn warning/breach (the
    outcome of a stop in time is then "met"); the ladder goes back to the first withdrawn
    step, in a new round, so a paused timer that resumes can reach it again; everyone told
    of a withdrawn step is sent a correction (outbox). Runs under the timer's row lock
    (``on_order_event``), and only on an armed timer: the event that closes it runs
    once, so a retried event or a later sweep finds nothing to take back (the partial
    unique key ``one_withdrawal_per_step`` backs that up). No query unless a fired
    step's threshold is above the time used by ``at``."""
    if (timer.status != TimerStatus.ARMED or timer.escalation_level == 0
            or timer.running_since is None or at < timer.running_since):
        return []
    schedule = schedule_of(timer.rule)
    used = _consumed(timer, schedule, at)
    ladder = timer.rule.ladder
    last = min(timer.escalation_level, len(ladder)) - 1
    if last >= 0 and used >= _step_seconds(timer, ladder[last]):
        return []  # the last step fired was truly reached by ``at``: nothing to take back
    steps = [e for e in TimerEvent.objects.filter(
        timer=timer, round=timer.withdrawals, level__isnull=False, kind__in=_STEP_KINDS,
        at__gt=at).order_by("level")
        if used < int(timer.target_seconds * float(e.data.get("percent", 100)) / 100)]
    if not steps:
        return []
    # The server's own time (when the late event reached it): a step replayed from a
    # phone runs inside ``clock.happened(at)``, where ``clock.now()`` is the phone's time.
    now = clock.received()
    label = str(OrderAction(action).label) if action in OrderAction.values else action
    reason = _("%(action)s recorded at %(at)s reached the server at %(received)s") % {
        "action": label, "at": _local(at), "received": _local(now)}
    events = []
    for step in steps:
        assert step.level is not None
        event = _event(timer, TimerEventKind.WITHDRAWN, at, reason[:255],
                       withdraws=step.level,
                       data={"step": step.kind, "level": step.level,
                             "step_at": step.at.isoformat(), "action": action,
                             "received_at": now.isoformat()})
        event.recorded_at = now
        events.append(event)
        withdrawn.append(WithdrawnStep(timer_id=timer.pk, order_id=timer.order_id,
                                       kind=step.kind, level=step.level, reached_at=step.at))
        if step.kind == TimerEventKind.BREACHED:
            timer.breached_at = None
        elif step.kind == TimerEventKind.WARNED:
            timer.warned_at = None
    notes.extend(_corrections(timer, steps, action=label, at=at, received=now))
    timer.escalation_level = min(s.level for s in steps if s.level is not None)
    timer.withdrawals += 1
    timer.withdrawn_at = now
    return events


#: The correction's text (translated when written, in the language of the moment, like
#: the step's own notice).
_CORRECTION = gettext_lazy(
    "Withdrawn: order %(number)s, %(timer)s: the “%(step)s” of %(reached)s no longer "
    "counts. %(action)s was done at %(at)s, in time, and reached the server late, at "
    "%(received)s.")


def _corrections(timer: Timer, steps: list[TimerEvent], *, action: str, at: dt.datetime,
                 received: dt.datetime) -> list[tuple[Any, ...]]:
    """A correction for each notification of a withdrawn step, to the same recipient on
    the same channel (``notify_rows``' rows; dedupe key: the original's plus
    ``:withdrawn``, so it is written once). Found by the steps' exact keys (the unique
    index answers). A notice still pending is corrected too, not cancelled: it may be in
    a worker's hands already, and the outbox has no cancelled state."""
    keys = {f"{_step_key(timer.pk, s.level, s.round)}:{who}": s
            for s in steps if s.level is not None for who in _TOLD}
    originals = (Notification.objects.filter(dedupe_key__in=list(keys))
                 .order_by("pk").values_list("channel", "recipient_id", "address",
                                             "dedupe_key"))
    rows: list[tuple[Any, ...]] = []
    number = f"{WorkOrder.NUMBER_PREFIX}{timer.order_id:08d}"
    for channel, recipient, address, key in originals:
        step = keys[str(key)]
        text = str(_CORRECTION) % {
            "number": number, "timer": timer.get_kind_display(),
            "step": TimerEventKind(step.kind).label, "reached": _local(step.at),
            "action": action, "at": _local(at), "received": _local(received)}
        rows.append((channel, recipient, address, "sla.withdrawn", text[:200], text,
                     timer.order_id, f"{key}:withdrawn"))
    return rows


def _publish_withdrawn(steps: list[WithdrawnStep], *, at: dt.datetime, action: str) -> None:
    """Tell the layers above (assessment reverses the missed-promise entries, the
    dashboards refresh the orders' facts) in the same transaction."""
    bus.publish(BreachesWithdrawn(
        timer_ids=tuple(sorted({s.timer_id for s in steps
                                if s.kind == TimerEventKind.BREACHED})),
        order_ids=tuple(sorted({s.order_id for s in steps})), at=at,
        received_at=clock.received(), action=action, steps=tuple(steps)))


# --- The sweep ------------------------------------------------------------------------

#: (level, event kind, true time, step) of a ladder step that fired.
Fired = tuple[int, str, dt.datetime, dict[str, Any]]


def _due_steps(timer: Any, ladder: list[dict[str, Any]], schedule: calendars.Schedule,
               now: dt.datetime) -> list[tuple[int, dict[str, Any], dt.datetime]]:
    """Ladder steps reached by ``now`` and not yet fired: (level, step, true time)."""
    steps = []
    level = timer.escalation_level
    while level < len(ladder):
        step = ladder[level]
        reached = _moment_at(timer, schedule, _step_seconds(timer, step))
        if reached > now:
            break
        steps.append((level, step, reached))
        level += 1
    return steps


def _reach(timer: Any, ladder: list[dict[str, Any]], schedule: calendars.Schedule,
           now: dt.datetime) -> list[Fired]:
    """Mark every ladder step the timer has reached by ``now`` as fired (each once, at its
    true time: ``warned_at``/``breached_at`` are the moment the step was reached, not
    "now", R38) and return them. No queries: the caller writes events and notices."""
    if timer.status != TimerStatus.ARMED:
        return []
    fired: list[Fired] = []
    for level, step, reached in _due_steps(timer, ladder, schedule, now):
        kind = step.get("event", TimerEventKind.ESCALATED)
        if kind == TimerEventKind.WARNED and timer.warned_at is None:
            timer.warned_at = reached
        if kind == TimerEventKind.BREACHED and timer.breached_at is None:
            timer.breached_at = reached  # the true due time, not "now" (R38)
        fired.append((level, str(kind), reached, step))
        timer.escalation_level = level + 1
    return fired


def _fire_due(timer: Timer, rule: TimerRule, schedule: calendars.Schedule,
              now: dt.datetime) -> tuple[list[TimerEvent], list[tuple[Any, ...]]]:
    """Fire every ladder step the timer has reached by ``now`` and say who to tell. Used
    before a timer stops, pauses or is re-armed, so a breach that happened while the
    sweep was down is never lost (the sweep does the same for many rows at once)."""
    fired = _reach(timer, rule.ladder, schedule, now)
    if not fired:
        return [], []
    people = _people({timer.order_id}).get(timer.order_id, {})
    texts = _Texts()
    events: list[TimerEvent] = []
    notes: list[tuple[Any, ...]] = []
    for level, kind, reached, step in fired:
        events.append(_event(timer, kind, reached, level=level,
                             data={"percent": step["percent"]}))
        notes.extend(_notifications(timer.pk, timer.order_id, timer.kind, timer.due_at,
                                    level, step, kind, people, texts, timer.withdrawals))
    return events, notes


class _Swept:
    """A claimed timer row: what the ladder arithmetic reads and writes, no model
    instance (a breach storm claims thousands per batch)."""

    __slots__ = ("breached_at", "consumed_seconds", "due_at", "escalation_level", "failures",
                 "kind", "next_check_at", "order_id", "people", "pk", "rule_id",
                 "running_since", "status", "target_seconds", "warned_at", "withdrawals")
    pk: int
    order_id: int
    rule_id: int
    kind: str
    status: str
    target_seconds: int
    consumed_seconds: int
    running_since: dt.datetime | None
    due_at: dt.datetime | None
    next_check_at: dt.datetime | None
    escalation_level: int
    warned_at: dt.datetime | None
    breached_at: dt.datetime | None
    failures: int
    withdrawals: int  # the round of the steps it fires (``Timer.withdrawals``)
    #: Who to tell about the order (``_people``' values), read by the claim.
    people: dict[str, Any]
    #: Loaded by the claim, in this order (``status`` is armed: the claim filters on it),
    #: then the order's technician's user and the team's supervisor (id, email).
    CLAIMED = ("pk", "order_id", "rule_id", "kind", "target_seconds", "consumed_seconds",
               "running_since", "due_at", "escalation_level", "warned_at", "breached_at",
               "failures", "withdrawals")
    PEOPLE = ("order__technician__user_id", "order__technician__team__supervisor_id",
              "order__technician__team__supervisor__email")
    #: Written back, in this order, after the primary key.
    WRITTEN = ("escalation_level", "warned_at", "breached_at", "next_check_at", "due_at",
               "failures")

    def __init__(self, row: tuple[Any, ...]) -> None:
        (self.pk, self.order_id, self.rule_id, self.kind, self.target_seconds,
         self.consumed_seconds, self.running_since, self.due_at, self.escalation_level,
         self.warned_at, self.breached_at, self.failures, self.withdrawals, technician,
         supervisor, email) = row
        self.people = {"technician": technician, "supervisor": supervisor,
                       "supervisor_email": email or ""}
        self.status = TimerStatus.ARMED
        self.next_check_at = None


def sweep(*, now: dt.datetime | None = None, batch: int = SWEEP_BATCH,
          look: bool = True) -> int:
    """Claim one batch of due timers and fire their ladder steps; returns rows handled.
    ``sweep_all`` repeats until nothing is due.

    Per batch, in one transaction: on PostgreSQL the timers of calendar-time rules are
    claimed and recorded by one statement (``_sweep_set``); the rest (business-hours
    rules, SQLite, a batch the statement could not do) go row by row (``_sweep_rows``:
    the claim with who to tell, the rules, then one UPDATE for the timers and one INSERT
    each for the events and the notifications). With ``look`` (the default) an idle tick
    is one read of the partial index and nothing else."""
    now = now or clock.now()

    if look and not _due(now).exists():
        return 0  # an idle tick: one read of the partial index, no transaction, no lock
    with transaction.atomic():
        handled = _sweep_set(now, batch) if connection.vendor == "postgresql" else 0
        if handled >= batch:
            return handled
        return handled + _sweep_rows(now, batch - handled)


def _sweep_rows(now: dt.datetime, batch: int) -> int:
    """The sweep row by row in Python (claim, arithmetic, set-based writes): for rules
    ``_sweep_set`` does not take (business-hours calendars, an unsorted ladder), for a
    batch it could not do, and on SQLite."""
    rows = _claim(now, batch)
    if not rows:
        return 0
    claimed = [_Swept(row) for row in rows]
    # Read fresh for every batch (a rule edited a moment ago applies at once); a
    # calendar's schedule is built once per rule, not per row.
    rules = {r.pk: r for r in TimerRule.objects.select_related("calendar")
             .filter(pk__in={t.rule_id for t in claimed})}
    schedules: dict[int, calendars.Schedule] = {}
    people = {t.order_id: t.people for t in claimed}
    texts = _Texts()
    events: list[tuple[int, str, dt.datetime, int, Any, int]] = []
    notes: list[tuple[Any, ...]] = []
    for row, timer in zip(rows, claimed, strict=True):
        try:
            rule = rules[timer.rule_id]
            schedule = schedules.get(rule.pk)
            if schedule is None:
                schedule = schedules[rule.pk] = schedule_of(rule)
            fired = _reach(timer, rule.ladder, schedule, now)
            row_notes = []
            for level, kind, _reached, step in fired:
                row_notes.extend(_notifications(
                    timer.pk, timer.order_id, timer.kind, timer.due_at, level, step,
                    kind, people.get(timer.order_id, {}), texts, timer.withdrawals))
            _plan(timer, rule, schedule)
        except Exception:  # one bad row must not stop the sweep
            logger.exception("SLA timer %s could not be evaluated", timer.pk)
            # Nothing of this row is kept but a later look (30 s, doubling, capped);
            # steps it reached fire then, still at their true times.
            timer.__init__(row)  # type: ignore[misc]
            timer.next_check_at = now + min(RETRY_AFTER * 2 ** min(timer.failures, 16),
                                            RETRY_CAP)
            timer.failures = min(timer.failures + 1, RETRY_COUNT_MAX)
            continue
        timer.failures = 0
        events.extend((timer.pk, kind, reached, level, step["percent"], timer.withdrawals)
                      for level, kind, reached, step in fired)
        notes.extend(row_notes)
    recorded = clock.now()  # when this batch is written: what detection latency counts
    update_rows(Timer, _Swept.WRITTEN,
                [(t.pk, *(getattr(t, name) for name in _Swept.WRITTEN))
                 for t in claimed])
    insert_rows(TimerEvent, ["timer_id", "kind", "at", "recorded_at", "level", "reason",
                             "data", "round"],
                [(pk, kind, at, recorded, level, "", {"percent": percent}, round_)
                 for pk, kind, at, level, percent, round_ in events])
    notify_rows(notes)
    _publish_steps([(pk, kind, at) for pk, kind, at, _, _, _ in events])
    return len(claimed)


# --- The sweep in one statement (PostgreSQL) ----------------------------------------

_NOTIFIED_ROLES = frozenset({"technician", "dispatcher", "supervisor"})


def _set_ladder(calendar_id: int | None, anchor: str,
                ladder: Any) -> list[tuple[int, float, Any, str, bool, bool, bool]] | None:
    """A rule's ladder as rows for ``_SWEEP_SQL`` (level, percent, the event's data, event
    kind, tell the technician / the dispatch desk / the supervisor), or None when the
    statement cannot follow it exactly: business time (a calendar), a ladder whose
    percentages go down (steps fire in order, the first one not reached stops the
    ladder), a value of another type or a role ``_notifications`` does not know."""
    if calendar_id is not None and anchor != Anchor.APPOINTMENT_START:
        return None  # business time (``schedule_of``)
    rows = []
    last = None
    if not isinstance(ladder, list):
        return None
    for level, step in enumerate(ladder):
        if not isinstance(step, dict):
            return None
        percent, kind = step.get("percent"), step.get("event", TimerEventKind.ESCALATED)
        notify = step.get("notify", [])
        if (isinstance(percent, bool) or not isinstance(percent, int | float)
                or not isinstance(kind, str) or not isinstance(notify, list)
                or not set(notify) <= _NOTIFIED_ROLES
                or (last is not None and percent < last)):
            return None
        last = percent
        rows.append((level, float(percent), {"percent": percent}, str(kind),
                     "technician" in notify, "dispatcher" in notify, "supervisor" in notify))
    return rows


def _set_template(texts: _Texts, kind: str, timer_kind: str) -> str:
    """``_Texts.text`` for one (step kind, timer kind) as a ``format()`` template of the
    order's number (``%1$s``) and the due time (``%2$s``): the labels are filled in once,
    not once per row (a ``%`` in a label is escaped)."""
    fills = {"event": texts.events.get(kind, kind).replace("%", "%%"), "number": "%1$s",
             "timer": texts.timers.get(timer_kind, timer_kind).replace("%", "%%"),
             "due": "%2$s"}
    # One pass over the template: a filled-in label is never read again; ``%%`` stays
    # ``%%`` (``format()`` reads it as ``%``, as ``%`` formatting does).
    return _PLACEHOLDER.sub(lambda m: fills.get(m[1], m[0]) if m[1] else m[0],
                            texts.template)


_PLACEHOLDER = re.compile(r"%%|%\((\w+)\)s")


def _set_ladders(texts: _Texts) -> tuple[list[str], str]:
    """The rules the statement can follow, as ``rule id:timer kind`` pairs (the claim
    takes only their timers), and every step of their ladders as one JSON document
    (``_SWEEP_SQL``'s ``ladder``: rule, timer kind, level, percent, the event's data, its
    kind, who is told, the notice's template with its labels). The rules are read for
    every batch (an edited rule applies at once, R38); what is built from them is kept
    while they and the texts' language stay the same (a storm's batches build it once)."""
    rules = tuple(TimerRule.objects.order_by("pk").values_list(
        "pk", "kind", "calendar_id", "anchor", "ladder"))
    key = json.dumps([rules, texts.template, texts.events, texts.timers, texts.prefix])
    built = _SET_LADDERS.get(key)
    if built is None:
        pairs: list[str] = []
        steps: list[dict[str, Any]] = []
        for pk, timer_kind, calendar_id, anchor, ladder in rules:
            rows = _set_ladder(calendar_id, anchor, ladder)
            if rows is None or timer_kind not in texts.timers:
                continue  # the row path does it (a timer of an unknown kind there too)
            pairs.append(f"{pk}:{timer_kind}")
            steps.extend({"rule_id": pk, "timer_kind": timer_kind, "level": level,
                          "pct": pct, "data": data, "kind": kind, "tech": tech,
                          "disp": disp, "sup": sup,
                          "text": _set_template(texts, kind, timer_kind)}
                         for level, pct, data, kind, tech, disp, sup in rows)
        built = (pairs, json.dumps(steps, ensure_ascii=False))
        _SET_LADDERS.clear()
        _SET_LADDERS[key] = built
    return built


#: ``_set_ladders``' last answer, by what it was built from (one entry).
_SET_LADDERS: dict[str, tuple[list[str], str]] = {}


def _sweep_set(now: dt.datetime, batch: int) -> int:
    """Claim and record up to ``batch`` due timers of calendar-time rules in one statement
    (one round trip): a data-modifying CTE claims the rows (``FOR UPDATE SKIP LOCKED``),
    finds the ladder steps each has reached and when (R38: the true time), updates the
    timers, inserts the events and the notifications (texts and recipients included) and
    returns the steps to publish. The rows are locked and their level read under the lock,
    so a step is normally new: the inserts are plain (no ``ON CONFLICT`` check per row);
    if one exists after all, its unique key fails the statement and the row path, which
    skips existing rows, does the batch. The same arithmetic as ``_sweep_rows``, on the
    server: no row comes to Python, and what is the same for many rows (a ladder step's
    percent, its event's data, the notice's text with its labels, per rule and step) is
    built once in Python and joined in (``_set_ladders``). Returns how many timers it
    handled; 0 if no rule qualifies or the statement failed (then nothing of it is kept
    and ``_sweep_rows`` does the batch, isolating a bad row)."""
    texts = _Texts()
    pairs, ladder = _set_ladders(texts)
    if not pairs:
        return 0
    recorded = clock.now()
    params = {
        "now": now, "batch": batch, "pairs": pairs, "ladder": ladder, "recorded": recorded,
        "prefix": texts.prefix, "zone": str(texts.zone),
        "in_app": "in_app", "email": "email", "sent": "sent", "pending": "pending",
        "armed": TimerStatus.ARMED.value,
    }
    try:
        with transaction.atomic(), connection.cursor() as cursor:
            _fast_timestamps(cursor.cursor)
            cursor.execute(_sweep_sql(), params)
            handled, emails, ids, kinds, ats = cursor.fetchone()
    except IntegrityError:
        # A step or a notification already recorded (the statement inserts without
        # ON CONFLICT, which would cost every row a speculative insertion): the row path
        # skips what exists.
        logger.info("A step of this SLA sweep batch exists; sweeping row by row")
        return 0
    except Exception:  # a row the statement cannot do: the row-by-row path isolates it
        logger.exception("The set-based SLA sweep failed; sweeping row by row")
        return 0
    if emails:
        notify_rows_flush()
    if handled:
        alerts_written(written_at=recorded)  # the in-app rows it wrote (Web Push)
    _publish_steps(list(zip(ids or [], kinds or [], ats or [], strict=True)))
    return int(handled)


def _sweep_sql() -> str:
    """``_SWEEP_SQL`` with the tables' names (built once)."""
    global _SWEEP_SQL_TEXT
    if _SWEEP_SQL_TEXT is None:
        people_sql, people_params = WorkOrder.objects.values_list(
            "pk", "technician__user_id", "technician__team__supervisor_id",
            "technician__team__supervisor__email").order_by().query.sql_with_params()
        assert not people_params
        _SWEEP_SQL_TEXT = _SWEEP_SQL.format(
            timer=Timer._meta.db_table, event=TimerEvent._meta.db_table,
            note=notification_table(), people=people_sql)
    return _SWEEP_SQL_TEXT


_SWEEP_SQL_TEXT: str | None = None

#: One batch of the sweep. ``claimed``: the due rows, locked; ``steps``: each row's ladder
#: steps from its level on, with the moment each is reached (``_moment_at``: the start of
#: the run plus what is left of the step's share of the target, in whole seconds, as
#: ``_step_seconds`` truncates it); ``fired``: those reached by now (the ladder is sorted,
#: so they are the ones ``_due_steps`` finds, and the first step not reached is the one
#: with the earliest moment: the next check); ``plan``: each timer's new values (``_reach``
#: and ``_plan``). The texts are ``_Texts.text``: the ladder row's template (labels filled
#: in) with the order's number and the due time.
_SWEEP_SQL = """
WITH claimed AS (
    SELECT id, order_id, rule_id, kind, target_seconds, consumed_seconds, running_since,
           due_at, escalation_level, warned_at, breached_at, withdrawals
    FROM {timer}
    WHERE status = %(armed)s AND next_check_at IS NOT NULL AND next_check_at <= %(now)s
          AND rule_id || ':' || kind = ANY(%(pairs)s::text[])
    ORDER BY next_check_at LIMIT %(batch)s
    FOR UPDATE SKIP LOCKED
), ladder AS (
    SELECT * FROM jsonb_to_recordset(%(ladder)s::jsonb)
        AS l(rule_id bigint, timer_kind text, level int, pct float8, data jsonb, kind text,
             tech bool, disp bool, sup bool, text text)
), steps AS (
    SELECT c.id, c.order_id, c.due_at, c.escalation_level, c.warned_at, c.breached_at,
           c.withdrawals,
           c.running_since + make_interval(
               secs => greatest(c.target_seconds - c.consumed_seconds, 0)) AS new_due_at,
           l.level, l.data, l.kind, l.tech, l.disp, l.sup, l.text,
           c.running_since + make_interval(secs => greatest(
               trunc(c.target_seconds::float8 * l.pct / 100) - c.consumed_seconds, 0))
               AS reached
    FROM claimed c
    LEFT JOIN ladder l ON l.rule_id = c.rule_id AND l.timer_kind = c.kind
                          AND l.level >= c.escalation_level
), fired AS (
    SELECT * FROM steps WHERE reached <= %(now)s
), plan AS (
    SELECT id, min(escalation_level) AS escalation_level, min(warned_at) AS warned_at,
           min(breached_at) AS breached_at, min(new_due_at) AS due_at,
           max(level) FILTER (WHERE reached <= %(now)s) + 1 AS level,
           min(reached) FILTER (WHERE reached <= %(now)s AND kind = 'warned') AS warned,
           min(reached) FILTER (WHERE reached <= %(now)s AND kind = 'breached') AS breached,
           min(reached) FILTER (WHERE reached > %(now)s) AS next_check
    FROM steps GROUP BY id
), timers AS (
    UPDATE {timer} t SET
        escalation_level = coalesce(p.level, p.escalation_level),
        warned_at = coalesce(p.warned_at, p.warned),
        breached_at = coalesce(p.breached_at, p.breached),
        next_check_at = p.next_check,
        due_at = p.due_at,
        failures = 0
    FROM plan p
    WHERE t.id = p.id
), events AS (
    INSERT INTO {event} (timer_id, kind, at, recorded_at, level, reason, data, round)
    SELECT id, kind, reached, %(recorded)s, level, '', data, withdrawals
    FROM fired ORDER BY id, level
), texts AS MATERIALIZED (
    SELECT f.id, f.order_id, f.level, f.kind, f.withdrawals, f.tech, f.disp, f.sup,
           p.technician, p.supervisor, coalesce(p.email, '') AS email,
           format(f.text,
                  %(prefix)s || CASE WHEN f.order_id < 100000000
                                     THEN lpad(f.order_id::text, 8, '0')
                                     ELSE f.order_id::text END,
                  coalesce(to_char(f.due_at AT TIME ZONE %(zone)s, 'YYYY-MM-DD HH24:MI'), '-'))
               AS body
    FROM fired f
    LEFT JOIN ({people}) AS p(order_id, technician, supervisor, email)
        ON p.order_id = f.order_id
), notes AS (
    INSERT INTO {note} (channel, recipient_id, address, kind, subject, body, order_id,
                        dedupe_key, attempts, last_error, read_at, created_at,
                        next_attempt_at, status, sent_at)
    SELECT r.channel, r.recipient, r.address, 'sla.' || x.kind, x.body, x.body, x.order_id,
           'sla:' || x.id || ':' || x.level
           || CASE WHEN x.withdrawals > 0 THEN 'r' || x.withdrawals ELSE '' END
           || ':' || r.suffix, 0, '', NULL, %(recorded)s,
           %(recorded)s, CASE WHEN r.channel = %(in_app)s THEN %(sent)s ELSE %(pending)s END,
           CASE WHEN r.channel = %(in_app)s THEN %(recorded)s::timestamptz END
    FROM texts x CROSS JOIN LATERAL (VALUES
        (1, 'technician', %(in_app)s, x.technician, '', x.tech AND x.technician IS NOT NULL),
        (2, 'dispatcher', %(in_app)s, NULL::integer, 'role:dispatcher', x.disp),
        (3, 'supervisor', %(in_app)s, NULL::integer, 'role:supervisor', x.sup),
        (4, 'supervisor-email', %(email)s, x.supervisor, x.email, x.sup AND x.email <> ''))
        AS r(n, suffix, channel, recipient, address, wanted)
    WHERE r.wanted
    ORDER BY x.id, x.level, r.n
)
SELECT (SELECT count(*) FROM claimed),
       (SELECT count(*) FROM texts WHERE sup AND email <> ''),
       array_agg(id ORDER BY id, level) FILTER (WHERE kind IN ('warned', 'breached')),
       array_agg(kind ORDER BY id, level) FILTER (WHERE kind IN ('warned', 'breached')),
       array_agg(reached ORDER BY id, level) FILTER (WHERE kind IN ('warned', 'breached'))
FROM fired
"""


def _due(now: dt.datetime) -> Any:
    """Armed timers whose next ladder step is due: what the partial index ``timer_due``
    holds, so it answers alone."""
    return Timer.objects.filter(status=TimerStatus.ARMED, next_check_at__isnull=False,
                                next_check_at__lte=now)


def _claim(now: dt.datetime, batch: int) -> list[tuple[Any, ...]]:
    """``SELECT … FOR UPDATE OF sla_timer SKIP LOCKED`` of the due rows, answered from the
    partial index, with who to tell about each order (its technician's user, the team's
    supervisor: outer joins, not locked) in the same statement; several sweeps get
    disjoint rows. On PostgreSQL the rows are read with the driver's C loader for
    timestamps (Django's own loader is Python and was most of the claim's time in a
    breach storm)."""
    query = (_due(now).select_for_update(skip_locked=True, of=("self",))
             .order_by("next_check_at")
             .values_list(*_Swept.CLAIMED, *_Swept.PEOPLE)[:batch])
    if connection.vendor != "postgresql":
        return list(query)
    sql, params = query.query.sql_with_params()
    with connection.cursor() as cursor:
        _fast_timestamps(cursor.cursor)
        cursor.execute(sql, params)
        return cursor.fetchall()


def _fast_timestamps(cursor: Any) -> None:
    """Load ``timestamptz`` on this cursor with psycopg's own (C) loader: aware datetimes in
    the session's zone (UTC under Django), the same instants Django would return."""

    oid = adapters.types["timestamptz"].oid
    cursor.adapters.register_loader(oid, adapters.get_loader(oid, Format.TEXT))


#: The steps published to the layers above (plain strings: a set lookup per step).
_PUBLISHED = frozenset({TimerEventKind.WARNED.value, TimerEventKind.BREACHED.value})


def _publish_steps(steps: list[tuple[int, str, dt.datetime]]) -> None:
    """R38 for the layers above (the call-centre's webhooks): warnings and breaches (timer
    id, kind, true time) as one ``TimerStepped`` on the bus, in the same transaction."""
    wanted = tuple(TimerStep(pk, kind, at) for pk, kind, at in steps if kind in _PUBLISHED)
    if wanted:
        bus.publish(TimerStepped(steps=wanted))


def sweep_all(*, now: dt.datetime | None = None, batch: int = SWEEP_BATCH) -> int:
    """Sweep batch after batch until one comes back short. Only the first looks whether
    anything is due (an idle tick stays one read); the next ones claim straight away, an
    empty claim being the answer."""
    total = 0
    look = True
    while True:
        handled = sweep(now=now, batch=batch, look=look)
        look = False
        total += handled
        if handled < batch:
            return total


def _people(order_ids: set[int]) -> dict[int, dict[str, Any]]:
    """Who to tell about each order, in one query: its technician's user and the team's
    supervisor (id and email). The ids go as one array parameter (``= ANY``): a storm's
    thousand-id ``IN`` list cost more to prepare than the query took to run."""

    orders = WorkOrder.objects.all()
    if connection.vendor == "postgresql":
        column = f"{connection.ops.quote_name(WorkOrder._meta.db_table)}.id"
        orders = orders.extra(where=[f"{column} = ANY(%s)"], params=[list(order_ids)])
    else:
        orders = orders.filter(pk__in=order_ids)
    rows = orders.values_list("pk", "technician__user_id", "technician__team__supervisor_id",
                              "technician__team__supervisor__email")
    return {pk: {"technician": tech, "supervisor": boss, "supervisor_email": email or ""}
            for pk, tech, boss, email in rows}


class _Texts:
    """The notice's text, translated once per sweep batch instead of once per row."""

    def __init__(self) -> None:

        self.template = _("%(event)s: order %(number)s, %(timer)s, due %(due)s.")
        self.events = {kind: str(label) for kind, label in TimerEventKind.choices}
        self.timers = {kind: str(label) for kind, label in TimerKind.choices}
        self.prefix = WorkOrder.NUMBER_PREFIX
        self.zone = timezone.get_current_timezone()
        self.dues: dict[int, str] = {}  # per minute: the text shows minutes

    def text(self, kind: str, timer_kind: str, order_id: int,
             due_at: dt.datetime | None) -> str:
        due = "-"
        if due_at is not None:
            minute = int(due_at.timestamp()) // 60
            due = self.dues.get(minute, "")
            if not due:
                due = self.dues[minute] = due_at.astimezone(self.zone).strftime(
                    "%Y-%m-%d %H:%M")
        return self.template % {
            "event": self.events.get(kind, kind), "number": f"{self.prefix}{order_id:08d}",
            "timer": self.timers.get(timer_kind, timer_kind), "due": due}


def _notifications(timer_id: int, order_id: int, timer_kind: str,
                   due_at: dt.datetime | None, level: int, step: dict[str, Any], kind: str,
                   people: dict[str, Any], texts: _Texts,
                   round_: int = 0) -> list[tuple[Any, ...]]:
    """R38: who hears about this ladder step, as rows for ``notify_rows``
    (``NOTE_COLUMNS``: channel, recipient, address, kind, subject, body, order, dedupe
    key). In-app notices for the technician and for the dispatch and supervisor desks; an
    email to the team's supervisor if known."""
    text = texts.text(kind, timer_kind, order_id, due_at)
    rows: list[tuple[Any, ...]] = []
    key = _step_key(timer_id, level, round_)
    event = f"sla.{kind}"
    for role in step.get("notify", []):
        if role == "technician" and people.get("technician"):
            rows.append(("in_app", people["technician"], "", event, text, text, order_id,
                         f"{key}:technician"))
        elif role in ("dispatcher", "supervisor"):
            rows.append(("in_app", None, f"role:{role}", event, text, text, order_id,
                         f"{key}:{role}"))
            if role == "supervisor" and people.get("supervisor_email"):
                rows.append(("email", people["supervisor"], people["supervisor_email"], event,
                             text, text, order_id, f"{key}:supervisor-email"))
    return rows


# --- Policy changes ----------------------------------------------------------------

def _rearm(timer: Timer, rule: TimerRule, policy: SlaPolicy,
           now: dt.datetime) -> tuple[list[TimerEvent], list[tuple[Any, ...]]]:
    """Re-plan one locked open timer with its policy's current ``rule`` at ``now``,
    keeping the time already used and the pause history (R38): the steps reached under
    the old rule fire first, then the new target applies, and a step the new target
    puts in the past fires at once (a shortened target already used up is a breach,
    recorded once). The caller writes the timer and the events and publishes the steps."""
    old_schedule = schedule_of(timer.rule)
    events, notes = _fire_due(timer, timer.rule, old_schedule, now)
    if timer.status == TimerStatus.ARMED:
        timer.consumed_seconds = _consumed(timer, old_schedule, now)
        timer.running_since = now
    if rule.anchor == Anchor.EVENT:
        timer.target_seconds = rule.target_minutes * 60
    timer.rule, timer.policy_version = rule, policy.version
    # Steps already fired stay fired: a changed target neither re-fires nor un-fires them.
    timer.escalation_level = min(timer.escalation_level, len(rule.ladder))
    schedule = schedule_of(rule)
    _plan(timer, rule, schedule)
    events.append(_event(timer, TimerEventKind.REARMED, now,
                         data={"policy_version": policy.version,
                               "target_seconds": timer.target_seconds}))
    fired, told = _fire_due(timer, rule, schedule, now)
    if fired:
        _plan(timer, rule, schedule)
    return [*events, *fired], [*notes, *told]


#: The columns a re-arm changes (``_rearm``), written back in one statement per batch.
REARMED_FIELDS = ["rule", "policy_version", "target_seconds", "consumed_seconds",
                  "running_since", "due_at", "next_check_at", "escalation_level",
                  "warned_at", "breached_at"]


def rearm_policy(policy_id: int, *, chunk: int = 1000) -> int:
    """Re-plan the open timers of a changed policy with its current rules, keeping the
    time already used and the pause history; returns how many were re-armed (R38).

    Each batch locks its timers in id order and waits for a timer an order event holds
    (it used to skip it, and a skipped timer kept the old target for good); the order
    event locks the order's timers in the same order, and re-arms a stale one itself.
    Steps the re-arm fires are published (``TimerStepped``) like the sweep's."""

    policy = SlaPolicy.objects.get(pk=policy_id)
    rules = {r.kind: r for r in policy.rules.all()}
    total = 0
    while True:
        with transaction.atomic():
            batch = list(Timer.objects.select_for_update(no_key=True, of=("self",))
                         .filter(rule__policy=policy, status__in=[TimerStatus.ARMED,
                                                                 TimerStatus.PAUSED])
                         .exclude(policy_version=policy.version)
                         .select_related("rule__calendar").order_by("pk")[:chunk])
            if not batch:
                return total
            now = clock.now()
            events: list[TimerEvent] = []
            notes: list[tuple[Any, ...]] = []
            for timer in batch:
                rearmed, told = _rearm(timer, rules.get(timer.kind, timer.rule), policy, now)
                events.extend(rearmed)
                notes.extend(told)
            update_fields(Timer, batch, REARMED_FIELDS)
            insert_ignoring_conflicts(TimerEvent, events)
            notify_rows(notes)
            _publish_steps([(e.timer_id, e.kind, e.at) for e in events])
            total += len(batch)
