"""Each day's sample of completed orders (R52), drawn once per day by beat.

Per area, the policy's share of the day's completions, stratified by technician: every
technician who completed orders that day has at least the policy's minimum in the sample,
the rest of the area's share goes to the technicians with the largest remainders (so a busy
technician is sampled in proportion and a quiet one is never skipped). The draw within a
technician is random, seeded by the day and the area, so the same day draws the same
sample. Every completed order with a suspicion signal is inspected besides (``suspicion``).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import math
import random
from collections import defaultdict
from collections.abc import Sequence
from decimal import Decimal

from django.db import IntegrityError, transaction
from django.utils import timezone

from fieldops import clock
from workorders.models import WorkOrder

from . import suspicion
from .models import Inspection, InspectionReason, SamplingRun, Signal
from .suspicion import Completed, Policies


def day_bounds(day: dt.date) -> tuple[dt.datetime, dt.datetime]:
    tz = timezone.get_current_timezone()
    start = dt.datetime.combine(day, dt.time.min, tzinfo=tz)
    return start, start + dt.timedelta(days=1)


def completions(day: dt.date) -> list[Completed]:
    """The orders completed on this local day (whatever became of them since)."""
    start, end = day_bounds(day)
    rows = (WorkOrder.objects.filter(completed_at__gte=start, completed_at__lt=end)
            .values_list("pk", "kind", "area_id", "technician_id", "rework_round",
                         "completed_at"))
    return [Completed(*row) for row in rows]


def allocate(counts: dict[int | None, int], percent: Decimal,
             at_least: int) -> dict[int | None, int]:
    """How many orders of each technician go into an area's sample: first the minimum for
    everyone (never more than they completed), then the rest of the area's share
    (``percent`` of all, rounded up) to those whose own share exceeds the minimum, whole
    parts first and then by largest remainder."""
    rate = float(percent) / 100
    total = sum(counts.values())
    share = {t: min(n, at_least) for t, n in counts.items()}
    remaining = math.ceil(rate * total - 1e-9) - sum(share.values())
    if remaining <= 0:
        return share
    extra = {t: min(max(rate * n - share[t], 0.0), n - share[t]) for t, n in counts.items()}
    order = sorted(counts, key=lambda t: (-extra[t], str(t)))
    for t in order:
        whole = min(math.floor(extra[t]), remaining)
        share[t] += whole
        remaining -= whole
    for t in sorted(counts, key=lambda t: (-(extra[t] - math.floor(extra[t])), str(t))):
        if remaining <= 0:
            break
        if share[t] < counts[t]:
            share[t] += 1
            remaining -= 1
    return share


def draw(orders: Sequence[Completed], policies: Policies, *, day: dt.date) -> set[int]:
    """The day's sample (order ids), per area and technician."""
    by_area: dict[int, dict[int | None, list[Completed]]] = defaultdict(lambda: defaultdict(
        list))
    for order in orders:
        by_area[order.area_id][order.technician_id].append(order)
    chosen: set[int] = set()
    for area_id, by_technician in by_area.items():
        policy = policies(area_id)
        share = allocate({t: len(v) for t, v in by_technician.items()},
                         policy.sample_percent, policy.min_per_technician)
        rng = random.Random(f"{day.isoformat()}:{area_id}")
        for technician_id in sorted(by_technician, key=lambda t: (t is None, t or 0)):
            pool = sorted(by_technician[technician_id], key=lambda o: o.id)
            chosen.update(o.id for o in rng.sample(pool, share[technician_id]))
    return chosen


@dataclasses.dataclass(frozen=True)
class DayResult:
    run: SamplingRun
    created: bool


def run_day(day: dt.date) -> DayResult:
    """R52: draw the day's sample and find the day's signals; inspections for both. Once
    per day: a second run (a retried job, a second beat) finds the day's row and adds
    nothing; two at once wait on the day's unique row and the second adds nothing."""
    try:
        with transaction.atomic():
            run = SamplingRun.objects.create(day=day, started_at=clock.now())
            _fill(run, day)
            return DayResult(run, True)
    except IntegrityError:
        existing = SamplingRun.objects.filter(day=day).first()
        if existing is None:
            raise
        return DayResult(existing, False)


def _fill(run: SamplingRun, day: dt.date) -> None:
    policies = Policies()
    orders = completions(day)
    by_id = {o.id: o for o in orders}
    found = suspicion.find(orders, policies=policies)
    signalled = {f.order_id for f in found}
    sampled = draw(orders, policies, day=day)
    now = clock.now()
    rows = []
    for order_id in sorted(sampled | signalled):
        order = by_id[order_id]
        reason = (InspectionReason.SAMPLE_AND_SIGNAL if order_id in sampled and
                  order_id in signalled else
                  InspectionReason.SAMPLE if order_id in sampled else InspectionReason.SIGNAL)
        rows.append(Inspection(order_id=order_id, round=order.round, area_id=order.area_id,
                               technician_id=order.technician_id, day=day,
                               completed_at=order.completed_at, reason=reason,
                               created_at=now))
    Inspection.objects.bulk_create(rows, ignore_conflicts=True, batch_size=2000)
    inspections = {}
    ids = sorted(signalled)
    for start in range(0, len(ids), 5000):
        inspections.update({(o, r): pk for pk, o, r in Inspection.objects.filter(
            order_id__in=ids[start:start + 5000]).values_list("pk", "order_id", "round")})
    Signal.objects.bulk_create(
        [Signal(order_id=f.order_id, round=f.round, kind=f.kind, evidence=f.evidence,
                inspection_id=inspections.get((f.order_id, f.round)), found_at=now)
         for f in found], ignore_conflicts=True, batch_size=2000)
    run.completions = len(orders)
    run.sampled = len(sampled)
    run.signalled = len(signalled)
    run.drawn = len(rows)
    run.finished_at = clock.now()
    run.save(update_fields=["completions", "sampled", "signalled", "drawn", "finished_at"])


def signal_late(order_id: int, *, round: int) -> Signal | None:
    """A survey answered after its completion's day was sampled (R52): its signal
    (``survey_from_tech``) is found for this one order, and the order is inspected like any
    other with a signal (its inspection drawn now, or the sampled one marked as both).
    Before the day is sampled nothing is written: the day's job finds the signal then."""
    row = (WorkOrder.objects.filter(pk=order_id)
           .values_list("pk", "kind", "area_id", "technician_id", "completed_at").first())
    if row is None or row[4] is None:
        return None
    order = Completed(row[0], row[1], row[2], row[3], round, row[4])
    day = timezone.localdate(order.completed_at)
    if not SamplingRun.objects.filter(day=day).exists():
        return None
    found = suspicion.survey_origins({order.id: order}, Policies())
    if not found:
        return None
    inspection, created = Inspection.objects.get_or_create(
        order_id=order.id, round=round,
        defaults={"area_id": order.area_id, "technician_id": order.technician_id, "day": day,
                  "completed_at": order.completed_at, "reason": InspectionReason.SIGNAL})
    if not created and inspection.reason == InspectionReason.SAMPLE:
        inspection.reason = InspectionReason.SAMPLE_AND_SIGNAL
        inspection.save(update_fields=["reason"])
    (first,) = found
    signal, _created = Signal.objects.get_or_create(
        order_id=order.id, round=round, kind=first.kind,
        defaults={"evidence": first.evidence, "inspection": inspection,
                  "found_at": clock.now()})
    return signal


#: How many finished days beat's job looks back for a day not yet sampled (``run_due``): a
#: day is sampled at the latest this many days after it ended (a missed night caught up).
DAYS_BACK = 3


def run_due(*, today: dt.date | None = None, days_back: int = DAYS_BACK) -> int:
    """Beat's entry: the days before today not yet sampled (a day is sampled once it is
    over; a missed night is caught up). Returns the inspections drawn."""
    today = today or clock.today_local()
    drawn = 0
    for back in range(days_back, 0, -1):
        result = run_day(today - dt.timedelta(days=back))
        if result.created:
            drawn += result.run.drawn
    return drawn
