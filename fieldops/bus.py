"""The in-process event bus: the lifecycle tells, the engines listen.

A lower layer publishes a typed event (a frozen dataclass such as
``workorders.events.OrderEvent`` or ``sla.events.TimerStepped``); the apps above it
subscribe handlers for that type in their ``AppConfig.ready()``. So the order services never
name the SLA engine, the dashboard facts or the webhooks, and a new feature is one more
subscriber, not one more call in every service.

Rules of the bus:

* ``publish`` runs inside the publisher's transaction and refuses to run outside one: a
  handler's writes (timers, marks, outbox rows) commit or roll back with the change that
  caused them. One failing handler rolls the whole change back.
* Handlers must not depend on each other's order. Anything that leaves the process (a Celery
  job, an SMS, a webhook) is not sent by a handler: it writes an outbox row or registers a
  ``transaction.on_commit`` callback.
* Subscribing the same function twice for one type is a no-op (``ready()`` may run twice
  in tests).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from typing import Any, TypeVar

from django.db import transaction

E = TypeVar("E")
Handler = Callable[[Any], None]

_handlers: defaultdict[type, list[Handler]] = defaultdict(list)


class NotInTransaction(RuntimeError):
    """``publish`` was called outside ``transaction.atomic``."""


def subscribe(event_type: type[E], handler: Callable[[E], None]) -> Callable[[E], None]:
    """Call ``handler(event)`` for every published event of ``event_type`` (or a subclass).
    Returns the handler, so it can be used as a decorator factory's result."""
    if handler not in _handlers[event_type]:
        _handlers[event_type].append(handler)
    return handler


def unsubscribe(event_type: type, handler: Handler) -> None:
    """Remove a handler (tests that swap one in)."""
    if handler in _handlers[event_type]:
        _handlers[event_type].remove(handler)


def handlers_for(event_type: type) -> list[Handler]:
    """Every handler that receives events of ``event_type``, in subscription order."""
    found: list[Handler] = []
    for klass in event_type.__mro__:
        found.extend(h for h in _handlers.get(klass, ()) if h not in found)
    return found


def publish(event: Any) -> None:
    """Hand ``event`` to each handler of its type, in the caller's transaction."""
    if not transaction.get_connection().in_atomic_block:
        raise NotInTransaction(
            f"{type(event).__name__} published outside transaction.atomic: its handlers' "
            "writes must commit or roll back with the change that caused it.")
    for handler in handlers_for(type(event)):
        handler(event)
