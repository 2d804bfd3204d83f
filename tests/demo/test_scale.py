"""The lives the scale data is made of are walked through the real services, under the
simulated clock, without anything leaving the process."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.db import transaction
from django.utils import timezone

from demo import scenarios
from demo.sandbox import simulated_time, without_side_effects
from technicians.models import Technician
from tests.conftest import ORDER_DEFAULTS
from workorders import services
from workorders.models import Kind, State, WorkOrder

END: dict[str, str] = {
    "happy": State.CLOSED, "late_contact": State.CLOSED, "late_arrival": State.CLOSED,
    "no_resources": State.CLOSED, "parked": State.CLOSED, "nobody_home": State.CLOSED,
    "abnormal": State.CLOSED, "cant_finish": State.CLOSED, "rework": State.CLOSED,
    "remote": State.RESOLVED_REMOTELY, "cancel_early": State.CANCELLED,
    "cancel_dispatched": State.CANCELLED,
}


def start_at() -> dt.datetime:
    """08:20 local, twenty days ago: every visit of every path falls in the daytime."""
    day = timezone.localdate() - dt.timedelta(days=20)
    return timezone.make_aware(dt.datetime.combine(day, dt.time(8, 20)))


def walk(path: scenarios.LifePath, start: dt.datetime, *, area: Any, technician: Technician,
         dispatcher: Any, agent: Any, steps: list[str] | None = None) -> WorkOrder:
    kind = path.kinds[0] if path.kinds else Kind.INSTALL
    intake: dict[str, Any] = {**ORDER_DEFAULTS, "area": area, "kind": kind}
    with transaction.atomic(), without_side_effects(), simulated_time(start) as sim:
        if kind == Kind.REPAIR:
            intake["symptoms"] = "无法上网, 光猫 LOS 红灯"
        else:
            intake["preferred_day"] = timezone.localdate(start)
        order = services.work_order_create(by=agent, **intake)
        return scenarios.walk(order, path, sim=sim, technician=technician,
                              dispatcher=dispatcher, agent=agent,
                              after_step=(lambda o, s, at: steps.append(s))
                              if steps is not None else None)


def test_every_life_path_has_an_end() -> None:
    assert set(scenarios.LIFE_PATHS) == set(END)


@pytest.mark.django_db
@pytest.mark.parametrize("name", sorted(END))
def test_each_life_path_walks_through_the_services_to_its_end(
        name: str, east: Any, technician: Technician, dispatcher: Any, agent: Any) -> None:
    path = scenarios.LIFE_PATHS[name]
    steps: list[str] = []
    start = start_at()
    order = walk(path, start, area=east, technician=technician, dispatcher=dispatcher,
                 agent=agent, steps=steps)
    assert steps == list(path.steps)
    assert order.state == END[name]
    times = scenarios.step_times(path, start)
    assert order.updated_at == times[-1]
    assert order.events.order_by("at", "id").first().at == start  # type: ignore[union-attr]
