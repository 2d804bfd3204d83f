"""The lives the scale data is made of are walked through the real services, under the
simulated clock, without anything leaving the process."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.db import transaction
from django.utils import timezone

from demo import reference, scale, scenarios, templates
from demo.sandbox import simulated_time, without_side_effects
from technicians.models import Technician
from tests.conftest import ORDER_DEFAULTS
from workorders import services
from workorders.models import CompletionReport, Kind, Signature, State, WorkOrder

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


# --- Copies of a walked template are the rows the services write for the same life ----

#: The customer, and what is drawn or sealed for one order only: the signature (seeded
#: by the order's id in ``demo_signature``) and the seals over it.
IDENTITIES = {"customer_id", "account_id", "image", "image_sha256", "ink_hash", "strokes",
              "report_hash", "seal"}


def _without_identities(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _without_identities(v) for k, v in value.items() if k not in IDENTITIES}
    return value


def normalized(snap: templates.Snapshot) -> dict[str, list[dict[str, Any]]]:
    """The snapshot without ids, references between its rows, random tokens and the
    customer's identity: what a copy must reproduce. A payload's reference to one of
    the order's rows (``{"survey": 12}``) becomes that row's place among its kind."""
    copied = set(snap.rows)
    places = {m._meta.model_name: {r[m._meta.pk.attname]: i for i, r in enumerate(rows)}
              for m, rows in snap.rows.items()}

    def placed(value: Any) -> Any:
        if isinstance(value, dict):
            return {k: (("row", places[k].get(v)) if k in places and isinstance(v, int)
                        else placed(v)) for k, v in value.items()}
        if isinstance(value, list):
            return [placed(v) for v in value]
        return value

    out = {}
    for model, rows in snap.rows.items():
        plan = templates._Plan(model, copied)
        drop = {plan.pk, *(n for n, _m in plan.refs), *(n for n, _l in plan.tokens),
                *IDENTITIES}
        out[model._meta.label] = [{k: placed(_without_identities(v)) for k, v in row.items()
                                   if k not in drop}
                                  for row in rows]
    return out


def differences(a: dict[str, list[dict[str, Any]]], b: dict[str, list[dict[str, Any]]]
                ) -> list[tuple[Any, ...]]:
    found: list[tuple[Any, ...]] = []
    for label in sorted(set(a) | set(b)):
        ra, rb = a.get(label, []), b.get(label, [])
        if len(ra) != len(rb):
            found.append((label, "rows", len(ra), len(rb)))
            continue
        for i, (x, y) in enumerate(zip(ra, rb, strict=True)):
            found += [(label, i, k, x[k], y.get(k)) for k in x if x[k] != y.get(k)]
    return found


@pytest.mark.django_db
@pytest.mark.parametrize("name", sorted(END))
@pytest.mark.parametrize("days", [7, 1])
def test_a_copy_of_a_template_is_the_same_life_walked_on_its_day(
        name: str, days: int, east: Any, technician: Technician, dispatcher: Any,
        agent: Any) -> None:
    path = scenarios.LIFE_PATHS[name]
    start = start_at()
    shift = dt.timedelta(days=days)
    people = {"area": east, "technician": technician, "dispatcher": dispatcher,
              "agent": agent}
    template = templates.snapshot(walk(path, start, **people))
    fresh = templates.snapshot(walk(path, start + shift, **people))
    [copy_id] = templates.copy_rows(template, [templates.Copy(shift=shift)])
    copy = templates.snapshot(WorkOrder.objects.get(pk=copy_id))
    found = differences(normalized(copy), normalized(fresh))
    assert found == [], "\n".join(map(repr, found))


@pytest.mark.postgres
@pytest.mark.django_db
@pytest.mark.parametrize("name", ["rework", "nobody_home"])
def test_a_snapshot_since_the_last_step_reads_what_a_full_one_reads(
        name: str, east: Any, technician: Technician, dispatcher: Any, agent: Any) -> None:
    """A template walk snapshots the order after every step; a snapshot ``since`` the
    previous one reads again only the tables written in between (PostgreSQL's count of
    this transaction's writes) and must hold exactly the rows a full read finds."""
    path = scenarios.LIFE_PATHS[name]
    models_ = templates.template_models()
    start = start_at()
    taken: list[templates.Snapshot] = []
    reused: list[str] = []

    def compare(order: WorkOrder, step: str, _at: Any) -> None:
        full = templates.snapshot(order, models_=models_)
        since = taken[-1] if taken else None
        quick = templates.snapshot(order, models_=models_, since=since)
        assert quick.rows == full.rows, step
        if since is not None:
            reused.extend(m._meta.label for m in models_ if quick.rows[m] is since.rows[m])
        taken.append(quick)

    intake: dict[str, Any] = {**ORDER_DEFAULTS, "area": east, "kind": Kind.INSTALL,
                              "preferred_day": timezone.localdate(start)}
    with transaction.atomic(), without_side_effects(), simulated_time(start) as sim:
        order = services.work_order_create(by=agent, **intake)
        compare(order, "create", start)
        scenarios.walk(order, path, sim=sim, technician=technician, dispatcher=dispatcher,
                       agent=agent, after_step=compare)
    assert len(taken) == len(path.steps) + 1
    assert "quality.Inspection" in reused  # tables no step wrote were not read again


# --- Orders out of a real scale build are their lives walked through the services -----

#: Facts that depend on the account's other orders (first-time fix, R37), which the
#: build links after copying and a lone walk cannot have.
ACROSS_ORDERS = {"first_fix", "next_visit_at"}


@pytest.mark.django_db
def test_sampled_scale_orders_are_the_same_life_walked_through_the_services() -> None:
    """Orders out of a real scale build, each compared with the same life walked afresh
    through the services from the copy's own start, SLA timers included: eight days hold
    a weekend, where the repairs' business-hours timer (R36 on "CN standard", R37) runs
    differently from the weekday the first templates were walked on."""
    result = scale.build_scale(orders=240, days=8, events="full", seed=7)
    assert len({sample.planned.path for sample in result.samples}) >= 4
    # copies of templates walked on days unlike the first's (a weekend) are compared too
    assert any(sample.template > 0 and sample.planned.kind == Kind.REPAIR
               for sample in result.samples)
    ref = reference.ensure_reference()
    models_ = templates.template_models()
    for sample in result.samples:
        copy = templates.snapshot(WorkOrder.objects.get(pk=sample.order_id), models_=models_)
        fresh = scale._walk_template(sample.planned, sample.start, ref, models_).snaps[-1]
        found = [d for d in differences(normalized(copy), normalized(fresh))
                 if (d[0] != "dashboards.OrderFact" or d[2] not in ACROSS_ORDERS)]
        assert found == [], f"{sample.planned.path} from {sample.start}:\n" + "\n".join(
            map(repr, found[:20]))
    # R26: every copy's signature is sealed for the copy (its id, its number in the signed
    # report's hash), so a copied signed-off order completes with its signed report.
    signatures = list(Signature.objects.select_related("order"))
    assert signatures and all(s.seal_valid for s in signatures)
    order = WorkOrder.objects.filter(state=State.SIGNED_OFF).first()
    assert order is not None and order.technician is not None
    report = CompletionReport.objects.get(order=order).as_dict()
    done = services.work_order_complete(order=order, by=order.technician.user, report=report)
    assert done.state == State.COMPLETED
