"""Draw the work-order state machine from its declarations (Mermaid), so the picture in
``docs/state-machine.md`` cannot drift from the code: a test regenerates and compares."""

from __future__ import annotations

from collections import defaultdict

from django.utils import translation
from django_fsm import RETURN_VALUE

from .models import State, WorkOrder

HEADER = """# The work-order state machine

Generated from `workorders/models.py` by `python manage.py fsm_diagram`; do not edit by hand
(`tests/workorders/test_diagram.py` fails when this file is stale).

Each arrow is a transition method on `WorkOrder` (label: method name and the DOMAIN rule it
serves). Every transition is fired only through `workorders/services.py`, which records an
event row (R42). Terminal states: closed, cancelled, resolved remotely.
"""


def transitions() -> list[tuple[str, str, str, str]]:
    """(source, target, method name, rule) for every declared transition, sorted."""
    field = WorkOrder._meta.get_field("state")
    rows: set[tuple[str, str, str, str]] = set()
    for transition in field.get_all_transitions(WorkOrder):
        target = transition.target
        targets = list(target.allowed_states) if isinstance(target, RETURN_VALUE) else [target]
        rule = str(transition.custom.get("rule", ""))
        for tgt in targets:
            rows.add((str(transition.source), str(tgt if tgt is not None else transition.source),
                      transition.name, rule))
    return sorted(rows)


def mermaid() -> str:
    with translation.override("en"):
        lines = ["```mermaid", "stateDiagram-v2", "    direction TB"]
        for state in State:
            lines.append(f"    {state.value} : {state.value} ({state.label})")
        lines.append(f"    [*] --> {State.ACCEPTED.value} : create (R1, R3)")
        grouped: dict[tuple[str, str], list[str]] = defaultdict(list)
        for source, target, name, rule in transitions():
            grouped[(source, target)].append(f"{name} ({rule})" if rule else name)
        for (source, target), names in sorted(grouped.items()):
            lines.append(f"    {source} --> {target} : {', '.join(names)}")
        for state in (State.CLOSED, State.CANCELLED, State.RESOLVED_REMOTELY):
            lines.append(f"    {state.value} --> [*]")
        lines.append("```")
    return "\n".join(lines) + "\n"


def document() -> str:
    rows = ["", "## Transitions", "", "| from | to | transition | rule |", "|---|---|---|---|"]
    for source, target, name, rule in transitions():
        rows.append(f"| {source} | {target} | `{name}` | {rule} |")
    return HEADER + "\n" + mermaid() + "\n".join(rows) + "\n"
