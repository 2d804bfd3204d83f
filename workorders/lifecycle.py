"""The common machinery of every order service: lock, guard, transition, save, log.

Each service follows the same steps (see ``transition``): lock the row, check that nobody
changed it since the caller read it, check the transition is allowed from the current
state and by this user, apply it, save, append the event (R42) and publish it on the bus,
where the engines above react in the same transaction. Admin actions, API views,
technician pages and Celery tasks call the services; none of them sets a state itself.

``by`` is the acting user, or ``None`` when the product acts by itself (a periodic task, a
rule that fires inside another service).
"""

from __future__ import annotations

import copy
import datetime as dt
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django_fsm import ConcurrentTransition, can_proceed, has_transition_perm

from fieldops import bus, clock

from . import selectors
from .access import is_order_technician
from .errors import ConcurrentModification, IllegalTransition, NotPermitted, RuleViolation
from .events import OrderAction, OrderEvent, actor_label
from .models import Assignment, WorkOrder, WorkOrderEvent

User = Any  # an AUTH_USER_MODEL instance, or None for the system

#: A replayed event reaching the server within this of its time keeps no separate arrival.
REPLAY_SLACK = dt.timedelta(seconds=1)

#: The events recorded inside ``events_recorded``, in order; None outside.
_recorded: ContextVar[list[WorkOrderEvent] | None] = ContextVar("order_events_recorded",
                                                                default=None)


@contextmanager
def events_recorded() -> Iterator[list[WorkOrderEvent]]:
    """The event rows ``record_event`` appends inside the block, in order, without reading
    the log again (a step replayed from a phone links the event it produced)."""
    rows: list[WorkOrderEvent] = []
    token = _recorded.set(rows)
    try:
        yield rows
    finally:
        _recorded.reset(token)


def record_event(*, order: WorkOrder, by: User, action: OrderAction, from_state: str,
                 to_state: str, reason: str = "", payload: dict[str, Any] | None = None,
                 at: dt.datetime | None = None) -> WorkOrderEvent:
    """Append one row to the order's event log (R42) and publish it as an ``OrderEvent`` on
    the bus, in the caller's transaction: the SLA timers follow it (R38), the supervisors'
    figures are marked for their next refresh (R39), bookings, surveys and webhooks react
    (their handlers are registered in each app's ``AppConfig.ready()``).

    A step replayed from a phone (inside ``clock.happened``, ``workorders.offline``) is
    recorded at the time it was done; ``received_at`` keeps when it reached the server, if
    that was more than a second later."""
    row = new_event(order=order, by=by, action=action, from_state=from_state,
                    to_state=to_state, reason=reason, payload=payload, at=at)
    row.save(force_insert=True)
    publish_event(row)
    return row


def new_event(*, order: WorkOrder, by: User, action: OrderAction, from_state: str,
              to_state: str, reason: str = "", payload: dict[str, Any] | None = None,
              at: dt.datetime | None = None) -> WorkOrderEvent:
    """``record_event``'s row, not yet written: for a service that writes it in one
    statement with the order (intake), then calls ``publish_event``."""
    action = OrderAction(action)  # a name outside the vocabulary is refused here
    at = at or clock.now()
    received_at = None
    if clock.replaying():
        received = clock.received()
        if abs(received - at) > REPLAY_SLACK:
            received_at = received
    return WorkOrderEvent(
        order=order, at=at, received_at=received_at, actor=by, actor_label=actor_label(by),
        action=action, from_state=from_state, to_state=to_state, reason=reason,
        payload=payload if payload is not None else {},
    )


def publish_event(row: WorkOrderEvent) -> None:
    """The written row ``row`` (``new_event``) on the bus, as ``record_event`` does."""
    recorded = _recorded.get()
    if recorded is not None:
        recorded.append(row)
    bus.publish(OrderEvent(order=row.order, action=OrderAction(row.action),
                           from_state=row.from_state, to_state=row.to_state, at=row.at,
                           actor=row.actor, payload=row.payload, row=row))


#: An order its caller has just read under the row lock (``holding``); None outside.
_held: ContextVar[WorkOrder | None] = ContextVar("order_held", default=None)


@contextmanager
def holding(order: WorkOrder) -> Iterator[None]:
    """``order`` was just read under its row lock in this transaction, with its technician
    and area, and nothing wrote it since: the first ``lock_order(order)`` inside the block
    takes a copy of it instead of reading it again (a step replayed from a phone locks the
    order to check the version the phone saw, then runs the step's service)."""
    token = _held.set(order)
    try:
        yield
    finally:
        _held.reset(token)


def lock_order(order: WorkOrder) -> WorkOrder:
    """Re-read the order under a row lock and refuse if it changed since the caller read it.

    Compare-and-swap on ``version``: two dispatchers acting on the same order at once
    both pass their own read, but only the first to take the lock finds its version
    current; the second gets ``ConcurrentModification`` instead of silently acting on
    a state it never saw.

    The lock is ``FOR NO KEY UPDATE``: it excludes every other change of the order, but
    not the inserts that merely reference it (the dashboards' facts and marks, events,
    notifications take ``FOR KEY SHARE`` on it). A plain ``FOR UPDATE`` made those wait
    for the order while the order's event waited for them: a deadlock between a bulk
    dispatch and the facts refresh. Lock order everywhere: the order first, then its
    rows; several orders in id order (``workorders.bulk.for_each_order``).
    """
    if _held.get() is order:
        _held.set(None)  # once: the copy is changed, the held order is not
        return copy.copy(order)
    locked = (WorkOrder.objects.select_for_update(no_key=True, of=("self",))
              .select_related("technician", "area").get(pk=order.pk))
    if locked.version != order.version:
        raise ConcurrentModification(locked, order.version)
    return locked


def allowed_for(order: WorkOrder, by: User) -> list[str]:
    if by is None:
        return [t.name for t in order.get_available_state_transitions()]  # type: ignore[attr-defined]
    return selectors.allowed_actions(order, by)


def transition(order: WorkOrder, action: OrderAction, *, by: User, reason: str = "",
               payload: dict[str, Any] | None = None,
               after: Callable[[WorkOrder, dt.datetime], None] | None = None,
               **kwargs: Any) -> WorkOrder:
    """Guard, lock, transition, save, log. Returns the updated order.

    ``after(locked, now)`` writes related rows in the same transaction, inside the atomic
    block, so a refusal anywhere leaves nothing half-written.
    """
    with transaction.atomic():
        locked = lock_order(order)
        check_allowed(locked, action, by)
        method = getattr(locked, action)
        now = clock.now()
        from_state = locked.state
        if "at" in kwargs and kwargs["at"] is None:
            kwargs["at"] = now
        method(**kwargs)
        locked.version += 1
        locked.updated_at = now
        try:
            locked.save()
        except ConcurrentTransition as exc:  # a writer that bypassed the row lock
            raise ConcurrentModification(locked, order.version) from exc
        if after is not None:
            after(locked, now)
        if locked.is_terminal:  # closed, cancelled, resolved: nobody holds it any more
            Assignment.objects.filter(order=locked, ended_at__isnull=True).update(ended_at=now)
        record_event(order=locked, by=by, action=action, from_state=from_state,
                     to_state=locked.state, reason=reason, payload=payload, at=now)
    return locked


def check_allowed(order: WorkOrder, action: OrderAction, by: User) -> None:
    """Fail fast, before any other work, when the action can't be fired now. ``transition``
    checks again under the row lock; this only gives the right error first."""
    method = getattr(order, action)
    if not can_proceed(method):
        raise IllegalTransition(order, action, allowed_for(order, by))
    if by is not None and not has_transition_perm(method, by):
        raise NotPermitted(
            _("You may not %(action)s order %(number)s.")
            % {"action": action, "number": order.number},
            action=action, allowed_actions=allowed_for(order, by),
        )


def precheck(order: WorkOrder, action: OrderAction, by: User) -> None:
    """For services that do work (like choosing a technician) before ``transition``:
    refuse a stale copy or an impossible action first, with the error that explains it."""
    if not WorkOrder.objects.filter(pk=order.pk, version=order.version).exists():
        raise ConcurrentModification(WorkOrder.objects.get(pk=order.pk), order.version)
    check_allowed(order, action, by)


def require(value: Any, message: str, *, field: str, rule: str = "") -> None:
    if value is None or (isinstance(value, str) and not value.strip()):
        raise RuleViolation(message, field=field, rule=rule)


def require_fits(value: str, model: Any, column: str, *, field: str, rule: str = "") -> None:
    """``value`` fits ``model.column``: a longer text is refused with its length and the
    limit, not cut short and not left to fail in the database (a 500)."""
    limit = model._meta.get_field(column).max_length
    if limit is not None and len(value) > limit:
        raise RuleViolation(
            _("Shorten this text to %(limit)d characters; it has %(length)d.")
            % {"limit": limit, "length": len(value)}, field=field, rule=rule)


def day_window(day: dt.date) -> tuple[dt.datetime, dt.datetime]:
    tz = timezone.get_current_timezone()
    start = dt.datetime.combine(day, dt.time.min, tzinfo=tz)
    return start, start + dt.timedelta(days=1)


def own_step(order: WorkOrder, by: User, action: OrderAction, states: Iterable[str]) -> WorkOrder:
    """Lock the order for a step that records something without changing its state: it
    must be in one of ``states`` and ``by`` must be its technician (R41)."""
    locked = lock_order(order)
    if locked.state not in set(states):
        raise IllegalTransition(locked, action, allowed_for(locked, by))
    if by is not None and not is_order_technician(locked, by):
        raise NotPermitted(_("Only the order's technician can do this (R41)."), action=action)
    return locked

