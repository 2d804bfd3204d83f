"""Domain errors. Each says what is wrong and what the caller can do instead.

Views and the API turn them into 4xx answers (``status`` is the HTTP status
they map to); nothing half-written survives one, because services raise them
inside their transaction.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from django.utils.translation import gettext as _

from fieldops.wording import plain

from .models import State

if TYPE_CHECKING:
    from .models import WorkOrder


class DomainError(Exception):
    status = 400
    code = "domain_error"

    def __init__(self, message: str, **details: Any) -> None:
        super().__init__(message)
        self.message = message
        self.details = details
        #: Writes that must stay although the caller's transaction is rolled back (a wrong
        #: code's try, counted against guessing). Online they are committed where the error
        #: is raised; a caller that rolls back a savepoint around the step (a replayed
        #: phone step, ``workorders.offline``) writes them again after it.
        self.durable: list[Callable[[], object]] = []

    def __str__(self) -> str:
        return self.message


class IllegalTransition(DomainError):
    """The action is not possible from the order's current state."""

    status = 409
    code = "illegal_transition"

    def __init__(self, order: WorkOrder, action: str, allowed: list[str]) -> None:
        state_label = State(order.state).label
        allowed_text = ", ".join(allowed) if allowed else _("none")
        super().__init__(
            _("Cannot %(action)s order %(number)s: it is %(state)s. Allowed now: %(allowed)s.")
            % {"action": action, "number": order.number, "state": state_label,
               "allowed": allowed_text},
            state=order.state, action=action, allowed_actions=allowed,
        )


class ConcurrentModification(DomainError):
    """Someone else changed the order since the caller read it."""

    status = 409
    code = "concurrent_modification"

    def __init__(self, order: WorkOrder, seen_version: int) -> None:
        super().__init__(
            _("Order %(number)s was changed by someone else (version %(seen)s is now "
              "%(current)s, state %(state)s). Reload it and try again.")
            % {"number": order.number, "seen": seen_version, "current": order.version,
               "state": order.state},
            current_version=order.version, state=order.state,
        )


class NotPermitted(DomainError):
    status = 403
    code = "not_permitted"


class RuleViolation(DomainError):
    """Input that breaks a domain rule; ``rule`` names it (e.g. "R12")."""

    status = 422
    code = "rule_violation"

    def __init__(self, message: str, *, rule: str = "", field: str = "", **details: Any) -> None:
        super().__init__(message, rule=rule, field=field, **details)
        self.rule = rule
        self.field = field


class CodeNeeded(RuleViolation):
    """R26 strong form: the sign-off needs the code sent to the customer's phone and none
    was given. A sign-off drawn offline is held until the technician types it in."""


class NoTechnicianAvailable(DomainError):
    status = 409
    code = "no_technician_available"


def shown(error: DomainError) -> str:
    """A domain error as the technician reads it: plain words, without rule ids or the
    state machine's internal names (the desk and the API keep them). The technician's
    pages and the steps replayed from the phone (``workorders.offline``) show this."""
    if isinstance(error, ConcurrentModification):
        return _("The order changed while this page was open. Reload it and try again.")
    if isinstance(error, IllegalTransition):
        return _("This is not possible now: the order is %(state)s.") % {
            "state": State(error.details["state"]).label}
    return plain(error.message)
