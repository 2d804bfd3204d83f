"""R52: each day's sample, per area at the policy's rate and stratified so every technician
with completions is sampled; drawn once per day, by beat's task."""

from __future__ import annotations

import datetime as dt
import math
import random
from collections import Counter, defaultdict
from decimal import Decimal

import pytest

from fieldops import clock
from quality import sampling, tasks
from quality.models import Inspection, InspectionPolicy, InspectionReason, SamplingRun
from quality.suspicion import Completed

from .helpers import complete


class _Policies:
    """The policy lookup ``draw`` uses, without the database."""

    def __init__(self, percent: str, at_least: int = 1) -> None:
        self.policy = InspectionPolicy(sample_percent=Decimal(percent),
                                       min_per_technician=at_least)

    def __call__(self, area_id: int) -> InspectionPolicy:
        return self.policy


def _month(seed: int = 5) -> dict[dt.date, list[Completed]]:
    """A generated month: 3 areas, 12 technicians of very different loads (one does a
    single order a day, one forty), ~30 days."""
    rng = random.Random(seed)
    start = dt.date(2026, 11, 1)
    loads = {t: rng.choice([1, 2, 5, 12, 25, 40]) for t in range(1, 13)}
    area_of = {t: 1 + t % 3 for t in loads}
    at = dt.datetime(2026, 11, 1, 12, tzinfo=dt.UTC)
    month: dict[dt.date, list[Completed]] = {}
    next_id = 1
    for d in range(30):
        day = start + dt.timedelta(days=d)
        rows = []
        for technician, load in loads.items():
            for _ in range(rng.randint(max(load - 2, 0), load + 2)):
                rows.append(Completed(next_id, "install", area_of[technician], technician, 0,
                                      at + dt.timedelta(days=d)))
                next_id += 1
        month[day] = rows
    return month


def test_the_sample_is_the_policy_rate_per_area_and_every_technician_is_in_it():
    # R52
    policies = _Policies("5")
    total = sampled_total = 0
    for day, orders in _month().items():
        chosen = sampling.draw(orders, policies, day=day)  # type: ignore[arg-type]
        by_area: dict[int, list[Completed]] = defaultdict(list)
        for order in orders:
            by_area[order.area_id].append(order)
        for area_orders in by_area.values():
            picked = [o for o in area_orders if o.id in chosen]
            technicians = {o.technician_id for o in area_orders}
            # every technician with a completion that day is sampled ...
            assert {o.technician_id for o in picked} == technicians
            # ... and the area gets its share (more only where the minimum asks for it)
            assert len(picked) == max(math.ceil(0.05 * len(area_orders)), len(technicians))
        total += len(orders)
        sampled_total += len(chosen)
    assert 0.05 <= sampled_total / total < 0.12  # minimums lift the quiet technicians


def test_busy_technicians_are_sampled_in_proportion():
    policies = _Policies("10", at_least=1)
    orders = ([Completed(i, "install", 1, 1, 0, dt.datetime(2026, 11, 1, tzinfo=dt.UTC))
               for i in range(1, 101)]
              + [Completed(i, "install", 1, 2, 0, dt.datetime(2026, 11, 1, tzinfo=dt.UTC))
                 for i in range(101, 104)])
    chosen = sampling.draw(orders, policies, day=dt.date(2026, 11, 1))  # type: ignore[arg-type]
    per = Counter(o.technician_id for o in orders if o.id in chosen)
    assert per == {1: 10, 2: 1}
    again = sampling.draw(orders, policies, day=dt.date(2026, 11, 1))  # type: ignore[arg-type]
    assert again == chosen  # the same day draws the same sample


def test_a_rate_of_zero_still_samples_each_technician_once_and_none_without_minimum():
    orders = [Completed(i, "repair", 1, 1 + i % 4, 0, dt.datetime(2026, 11, 1, tzinfo=dt.UTC))
              for i in range(1, 41)]
    assert len(sampling.draw(orders, _Policies("0", 1), day=dt.date(2026, 11, 1))) == 4  # type: ignore[arg-type]
    assert sampling.draw(orders, _Policies("0", 0), day=dt.date(2026, 11, 1)) == set()  # type: ignore[arg-type]


@pytest.mark.django_db
def test_the_beat_task_draws_each_finished_day_once(make_order, alice, bob, west):
    # R52: run by beat; a second run (a retry, a second beat) adds nothing
    yesterday = clock.today_local() - dt.timedelta(days=1)
    at = dt.datetime.combine(yesterday, dt.time(9, 0), tzinfo=clock.now().astimezone().tzinfo)
    done = [complete(make_order, alice, check_in_at=at + dt.timedelta(hours=h))
            for h in range(3)]
    done.append(complete(make_order, bob, check_in_at=at, area=west))
    assert tasks.sample_due_days() == 2  # one per technician: 5 % of 3 is less than one
    run = SamplingRun.objects.get(day=yesterday)
    assert (run.completions, run.sampled, run.signalled) == (4, 2, 0)
    drawn = list(Inspection.objects.values_list("order_id", "technician_id", "reason"))
    assert {t for _o, t, _r in drawn} == {alice.pk, bob.pk}
    assert {r for _o, _t, r in drawn} == {InspectionReason.SAMPLE}
    assert tasks.sample_due_days() == 0
    assert Inspection.objects.count() == 2
