"""What the phases above add to a visit's sign-off, without the lifecycle importing them.

The visit's own records (equipment by serial R45, materials R46, fee lines R47, measured
test results R48, the checklist R43/R44/R49) live in apps on higher floors. Two hooks let
them take part in sign-off (R26) while ``workorders`` stays unaware of them:

- **sealed parts**: ``register_sealed_part(name, collect)``; ``collect(order)`` returns a
  JSON-able value (a list of dicts, sorted) describing that part as the customer is shown
  it. ``report_hash`` covers every non-empty part, so a fee line, a serial or a reading
  changed after signing no longer matches the signature's hash (the seal check and
  completion both see it). An empty part is left out, so orders without such records hash
  exactly as before.
- **sign-off checks**: ``register_sign_off_check(name, check)``; ``check(order)`` raises a
  ``RuleViolation`` (with the field and the rule) when the customer may not sign yet, e.g. a
  required checklist step is neither done nor declined with a reason.

- **visit steps**: ``register_visit_step(key, done)``; ``done(order)`` tells whether that
  step of the on-site checklist (e.g. ``"equipment"``, ``"materials"``, ``"charges"``) has
  been done, so the checklist (which is policy, per kind and access type) can show done /
  to do for steps whose records live in another app of the same floor.
- **work checks**: ``register_work_check(name, check)``; ``check(order)`` raises a
  ``RuleViolation`` while no work may be done on site yet (R49: at height, before the
  second person is named and the warning sign is up). Every work step calls
  ``check_work_may_start(order)`` on the locked order: the report (``workorders``),
  equipment and materials (``inventory``), the readings (``visits``).
- **work at height**: ``register_at_height(name, at_height)``; ``at_height(order)`` tells
  whether the visit is work at height or on a pole (the checklist policy, or the
  technician's flag), so the kit check asks for the safety gear (R20, R49).

Registration happens in each app's ``AppConfig.ready()``; names are unique per hook, and
registering a name again replaces it (so a reloaded app does not register twice).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .models import WorkOrder

SealedPart = Callable[["WorkOrder"], Any]
SignOffCheck = Callable[["WorkOrder"], None]
StepDone = Callable[["WorkOrder"], bool]
WorkCheck = Callable[["WorkOrder"], None]
AtHeight = Callable[["WorkOrder"], bool]

_parts: dict[str, SealedPart] = {}
_checks: dict[str, SignOffCheck] = {}
_steps: dict[str, StepDone] = {}
_work_checks: dict[str, WorkCheck] = {}
_at_height: dict[str, AtHeight] = {}


def register_sealed_part(name: str, collect: SealedPart | None) -> None:
    """Add (or, with None, remove) a part of what the customer signs."""
    _register(_parts, name, collect)


def _register(registry: dict[str, Any], name: str, value: Any) -> None:
    """Put ``value`` into ``registry`` under ``name``; None takes it out."""
    if value is None:
        registry.pop(name, None)
    else:
        registry[name] = value


def register_sign_off_check(name: str, check: SignOffCheck | None) -> None:
    """Add (or, with None, remove) a check that must pass before the customer signs."""
    _register(_checks, name, check)


def sealed_parts(order: WorkOrder) -> dict[str, Any]:
    """Every registered part with something in it, by name (sorted for a stable hash)."""
    found = {name: collect(order) for name, collect in sorted(_parts.items())}
    return {name: value for name, value in found.items() if value not in (None, "", [], {})}


def check_sign_off(order: WorkOrder) -> None:
    """Run every registered sign-off check; the first refusal is raised as it is."""
    for _name, check in sorted(_checks.items()):
        check(order)


def register_visit_step(key: str, done: StepDone | None) -> None:
    """Say how to tell whether the checklist step ``key`` is done (None removes it)."""
    _register(_steps, key, done)


def visit_steps_done(order: WorkOrder) -> dict[str, bool]:
    """Each registered checklist step's state for this order, by key."""
    return {key: bool(done(order)) for key, done in sorted(_steps.items())}


def register_work_check(name: str, check: WorkCheck | None) -> None:
    """Add (or, with None, remove) a check that must pass before any work on site."""
    _register(_work_checks, name, check)


def check_work_may_start(order: WorkOrder) -> None:
    """Run every registered work check (R49); the first refusal is raised as it is."""
    for _name, check in sorted(_work_checks.items()):
        check(order)


def register_at_height(name: str, at_height: AtHeight | None) -> None:
    """Add (or, with None, remove) a way to tell that a visit is work at height."""
    _register(_at_height, name, at_height)


def works_at_height(order: WorkOrder) -> bool:
    """R49: whether any registered source says this visit is work at height."""
    return any(at_height(order) for _name, at_height in sorted(_at_height.items()))
