"""System checks: a timer rule that names an action the lifecycle does not have stops
``manage.py check`` (and every command that runs the checks) with the rule and field named."""

from __future__ import annotations

from typing import Any

from django.core.checks import Error, register
from django.db import DatabaseError

from .timers import ACTION_FIELDS, TimerRule


@register("sla")
def timer_rule_actions(app_configs: Any = None, **kwargs: Any) -> list[Error]:
    """R38: every action a timer rule starts, stops, pauses, resumes or cancels on must be
    an ``OrderAction``; a typo would leave a promise untimed without anyone noticing."""
    try:
        rules = list(TimerRule.objects.select_related("policy").only(
            "pk", "kind", "policy__name", *ACTION_FIELDS))
    except DatabaseError:  # no database yet (before migrate, or none configured)
        return []
    errors = []
    for rule in rules:
        for field, bad in rule.unknown_actions().items():
            names = ", ".join(bad) or repr(getattr(rule, field))
            errors.append(Error(
                f"SLA policy {rule.policy.name!r}, timer rule {rule.kind!r} (id {rule.pk}): "
                f"{field} names unknown order actions: {names}.",
                hint="Use OrderAction values (workorders/events.py); fix the rule in the admin.",
                obj=rule, id="sla.E001"))
    return errors
