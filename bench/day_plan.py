#!/usr/bin/env python
"""Benchmark of the proposed day plan (``planning.routing``) against a greedy baseline.

    .venv/bin/python bench/day_plan.py [--visits 200] [--technicians 20] [--seconds 6]
                                       [--seed 7]

No database and no Redis: the problem is generated (the solver works on plain data, the
product builds the same data from its orders in ``planning.dayplans``). One area around a
city centre, technicians starting at scattered points, visits with mixed windows (about 40 %
exact times kept within ±10 min, R14; the others a morning or afternoon half day, R11) and
one of three skills each (technicians hold one to three). Travel is the straight line times
the detour factor at the configured speed, as in the product.

The solver (PyVRP, ``--seconds`` of search) and the greedy nearest-feasible baseline run in
the same process on the same problem. The last line is
``day_plan visits=.. technicians=.. solve_s=.. planned=../.. windows_kept=.. travel_km=..
greedy_km=.. ratio=..``, ratio = the solver's travel over the greedy travel (lower is better;
the greedy figure is over the visits the greedy plan managed to place, printed too).
"""

from __future__ import annotations

import argparse
import math
import os
import random
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "fieldops.settings")
os.environ.setdefault("DEBUG", "1")

import django

django.setup()

from planning.geocoding import Point  # noqa: E402
from planning.routing import Plan, Problem, Stop, Worker, greedy, lateness, solve  # noqa: E402

CENTRE = Point(31.2304, 121.4737)
HOUR = 3600
RADIUS_KM = 6.0


def scatter(rng: random.Random, km: float) -> Point:
    """A point within ``km`` of the centre, denser near it."""
    distance, bearing = km * math.sqrt(rng.random()), rng.random() * 2 * math.pi
    lat = CENTRE.latitude + distance / 111.0 * math.cos(bearing)
    lon = CENTRE.longitude + distance / (111.0 * math.cos(math.radians(CENTRE.latitude))) \
        * math.sin(bearing)
    return Point(lat, lon)


def generate(visits: int, technicians: int, seed: int) -> Problem:
    rng = random.Random(seed)
    skills = ["fibre", "copper", "iptv"]
    holds: dict[int, set[str]] = {}
    workers = []
    for key in range(1, technicians + 1):
        holds[key] = set(rng.sample(skills, rng.randint(1, 3)))
        workers.append(Worker(key, scatter(rng, RADIUS_KM), 8 * HOUR, 20 * HOUR))
    stops = []
    for key in range(1, visits + 1):
        skill = rng.choice(skills)
        service = rng.choice([30 * 60, 45 * 60])
        if rng.random() < 0.4:  # an exact time, kept within ±10 min (R14)
            moment = rng.randrange(9 * 2, 17 * 2) * HOUR // 2
            early, late = moment - 600, moment + 600
        elif rng.random() < 0.5:  # morning half day (R11)
            early, late = 8 * HOUR, 12 * HOUR - service
        else:  # afternoon half day
            early, late = 13 * HOUR, 18 * HOUR - service
        eligible = frozenset(k for k, held in holds.items() if skill in held)
        stops.append(Stop(key, scatter(rng, RADIUS_KM), service, early, late, eligible))
    return Problem(tuple(stops), tuple(workers), speed_kmh=25.0)


def kept(problem: Problem, plan: Plan) -> int:
    """Planned visits that start inside their window."""
    stops = {s.key: s for s in problem.stops}
    return sum(stops[v.stop].early <= v.start <= stops[v.stop].late
               for visits in plan.routes.values() for v in visits)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--visits", type=int, default=200)
    parser.add_argument("--technicians", type=int, default=20)
    parser.add_argument("--seconds", type=float, default=6.0)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    print("day_plan: no database or Redis (a generated problem, solved in memory)",
          flush=True)
    problem = generate(args.visits, args.technicians, args.seed)
    base = greedy(problem)
    print(f"greedy: planned={base.planned}/{args.visits} travel_km={base.travel_m / 1000:.1f} "
          f"late_s={lateness(problem, base)} in {base.solve_s:.2f}s", flush=True)
    began = time.perf_counter()
    plan = solve(problem, seconds=args.seconds, seed=args.seed)
    took = time.perf_counter() - began
    stops = {s.key: s for s in problem.stops}
    for key, visits in plan.routes.items():  # R4: nobody got a visit they may not do
        assert all(key in stops[v.stop].eligible for v in visits), "a skill was broken"
    print(f"solver={plan.solver}: planned={plan.planned}/{args.visits} "
          f"unplanned={len(plan.unplanned)} late_s={lateness(problem, plan)}", flush=True)
    ratio = plan.travel_m / base.travel_m if base.travel_m else float("nan")
    print(f"day_plan visits={args.visits} technicians={args.technicians} solve_s={took:.2f} "
          f"planned={plan.planned}/{args.visits} windows_kept={kept(problem, plan)} "
          f"travel_km={plan.travel_m / 1000:.1f} greedy_km={base.travel_m / 1000:.1f} "
          f"greedy_planned={base.planned} ratio={ratio:.2f}")


if __name__ == "__main__":
    main()
