"""``Step``: one thing a technician can do on an order (its form, service call and when it
is offered). The pages in ``views`` and ``checklist`` declare their steps with it."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.http import HttpRequest
from django.utils.functional import Promise

from workorders.models import WorkOrder

from . import forms as f

Run = Callable[[WorkOrder, Any, dict[str, Any], HttpRequest], Any]


@dataclass(frozen=True)
class Step:
    """One thing a technician can do on an order: its form, its service call, and when it
    is offered (``when``: the transition names that must be allowed now, or a test)."""

    name: str
    label: Promise
    rule: str
    form: type[f.StepForm]
    run: Run
    when: tuple[str, ...] | Callable[[WorkOrder, Any, set[str]], bool]
    template: str = "tech/step.html"
    one_tap: bool = False
    style: str = ""
    #: Shown as a button on the order page (False: reached from another step's page).
    listed: bool = True
    #: The step page to return to after success (default: the order page).
    after: str = ""

    def offered(self, order: WorkOrder, user: Any, allowed: set[str]) -> bool:
        if callable(self.when):
            return self.when(order, user, allowed)
        return any(name in allowed for name in self.when)
