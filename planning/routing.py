"""Day plans as a vehicle-routing problem with time windows (R4, R11, R14): pure data in,
routes out, no database. ``planning.dayplans`` builds the problem from the orders of an
area and a day and turns the answer into a proposal the dispatcher accepts.

The solver is PyVRP (MIT): each technician is a vehicle type of one vehicle that starts
where the technician is and ends anywhere (a free end depot), each visit a client with its
service time and the window its service may start in. PyVRP has no skills constraint, so
who may do which visit (skills, area, duty: ``Stop.eligible``, R4) is expressed in travel:
each distinct set of visits a technician may do gets its own distance and duration profile
in which the other visits cannot be reached (their edges cost more than leaving the visit
out), so no penalty trade-off can hand a visit to a technician who may not do it. (A load
dimension per skill set, capacity 0 for technicians outside it, was tried first and
dropped: with optional visits the solver traded the load penalty against the prize.) A
visit that no technician may do, or that fits no technician's day inside its window, is
left out and listed with the reason; none is dropped silently. ``greedy`` is the nearest-feasible
baseline the benchmark compares with (and the fall-back if the solver finds no feasible
plan in its time).

Times are whole seconds from the day's local midnight; distances whole metres.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

from .geocoding import Point, haversine_km

#: Unplanned reasons (the words are the proposal's, in ``planning.dayplans``).
NO_TECHNICIAN = "no_technician"
NO_ROOM = "no_room"

#: What a planned visit is worth to the solver: more than any day's driving, so a visit is
#: left out only when no technician can fit it in its window.
PRIZE = 1_000_000
#: An edge a technician may not take (a visit that is not theirs to do).
FORBIDDEN_M = 100_000_000
FORBIDDEN_S = 10_000_000


@dataclass(frozen=True)
class Stop:
    """One visit to plan. ``early``/``late``: when its service may start (the booked
    window less the service time; a single moment for a time the customer chose, R10)."""

    key: int
    place: Point
    service: int
    early: int
    late: int
    #: the technicians who may do it (skills, area: ``why_not`` says yes)
    eligible: frozenset[int]
    current_worker: int | None = None
    current_start: int | None = None


@dataclass(frozen=True)
class Worker:
    key: int
    start: Point
    free_from: int
    free_until: int


@dataclass(frozen=True)
class Problem:
    stops: tuple[Stop, ...]
    workers: tuple[Worker, ...]
    speed_kmh: float = 20.0
    #: road distance over straight-line distance
    detour: float = 1.3

    def metres(self, a: Point, b: Point) -> int:
        return round(haversine_km(a, b) * self.detour * 1000)

    def seconds(self, metres: int) -> int:
        return round(metres / 1000 / self.speed_kmh * 3600)


@dataclass(frozen=True)
class Visit:
    stop: int
    start: int
    travel_m: int


@dataclass
class Plan:
    routes: dict[int, list[Visit]] = field(default_factory=dict)
    unplanned: dict[int, str] = field(default_factory=dict)
    solver: str = ""
    solve_s: float = 0.0

    @property
    def travel_m(self) -> int:
        return sum(v.travel_m for visits in self.routes.values() for v in visits)

    @property
    def planned(self) -> int:
        return sum(len(visits) for visits in self.routes.values())


def lateness(problem: Problem, plan: Plan) -> int:
    """Seconds started after the window's end, over all visits (0 for a solver's plan)."""
    stops = {s.key: s for s in problem.stops}
    return sum(max(0, v.start - stops[v.stop].late)
               for visits in plan.routes.values() for v in visits)


def simulate(problem: Problem, worker: Worker, keys: list[int]) -> list[Visit]:
    """Drive ``keys`` in this order from the worker's start: each visit starts at the
    arrival, or at the window's opening if earlier. Late starts are kept (lateness)."""
    stops = {s.key: s for s in problem.stops}
    here, now, out = worker.start, worker.free_from, []
    for key in keys:
        stop = stops[key]
        metres = problem.metres(here, stop.place)
        start = max(now + problem.seconds(metres), stop.early)
        out.append(Visit(key, start, metres))
        here, now = stop.place, start + stop.service
    return out


def current(problem: Problem) -> Plan:
    """Today's plan as it stands: each technician's visits by their current start."""
    workers = {w.key: w for w in problem.workers}
    plan = Plan(solver="current")
    mine: dict[int, list[Stop]] = {}
    for stop in problem.stops:
        if stop.current_worker is not None and stop.current_worker in workers:
            mine.setdefault(stop.current_worker, []).append(stop)
        else:
            plan.unplanned[stop.key] = NO_TECHNICIAN
    for key, stops in mine.items():
        stops.sort(key=lambda s: (s.current_start if s.current_start is not None else s.early,
                                  s.key))
        plan.routes[key] = simulate(problem, workers[key], [s.key for s in stops])
    return plan


def greedy(problem: Problem) -> Plan:
    """Nearest feasible first: repeatedly give the technician who is free soonest the
    visit they may do that they can start soonest inside its window (travel plus any wait
    for the window to open), the nearest of those on a tie."""
    began = time.perf_counter()
    plan = Plan(solver="greedy")
    left = {s.key: s for s in problem.stops}
    state = {w.key: (w.start, w.free_from) for w in problem.workers}
    active = {w.key: w for w in problem.workers}
    routes: dict[int, list[Visit]] = {w.key: [] for w in problem.workers}
    while active and left:
        key = min(active, key=lambda k: (state[k][1], k))
        here, now = state[key]
        best: tuple[int, int, int, Stop] | None = None  # (start, metres, key, stop)
        for stop in left.values():
            if key not in stop.eligible:
                continue
            metres = problem.metres(here, stop.place)
            start = max(now + problem.seconds(metres), stop.early)
            if start > stop.late or start + stop.service > active[key].free_until:
                continue
            rank = (start, metres, stop.key)
            if best is None or rank < best[:3]:
                best = (start, metres, stop.key, stop)
        if best is None:
            del active[key]
            continue
        start, metres, _, stop = best
        routes[key].append(Visit(stop.key, start, metres))
        state[key] = (stop.place, start + stop.service)
        del left[stop.key]
    plan.routes = {k: v for k, v in routes.items() if v}
    for key, stop in left.items():
        plan.unplanned[key] = NO_ROOM if stop.eligible else NO_TECHNICIAN
    plan.solve_s = time.perf_counter() - began
    return plan


def _matrix(np: Any, problem: Problem, places: list[Point]) -> Any:
    """Road metres between every pair of places (haversine times the detour)."""
    lat = np.radians([p.latitude for p in places])
    lon = np.radians([p.longitude for p in places])
    dlat = lat[:, None] - lat[None, :]
    dlon = lon[:, None] - lon[None, :]
    h = np.sin(dlat / 2) ** 2 + np.cos(lat)[:, None] * np.cos(lat)[None, :] * np.sin(dlon / 2) ** 2
    km = 2 * 6371.0088 * np.arcsin(np.sqrt(np.clip(h, 0, 1)))
    return np.rint(km * problem.detour * 1000).astype(np.int64)


def solve(problem: Problem, *, seconds: float = 5.0, seed: int = 0) -> Plan:
    """The best plan PyVRP finds in ``seconds`` (hard windows, least travel); the greedy
    plan if it finds none that keeps every window.

    Who may do which visit is exact: each distinct set of visits a technician may do gets
    its own travel profile in which the others cannot be reached (their edges cost more
    than leaving the visit out), so no penalty trade-off can hand a visit to the wrong
    technician."""
    # numpy and PyVRP load only when a dispatcher asks for a plan, not with every process.
    import numpy as np  # the same: a heavy import
    import pyvrp  # the same: a heavy import

    began = time.perf_counter()
    workers = list(problem.workers)
    worker_keys = {w.key for w in workers}
    plan = Plan(solver="pyvrp")
    plannable: list[Stop] = []
    for stop in problem.stops:
        if stop.eligible & worker_keys:
            plannable.append(stop)
        else:
            plan.unplanned[stop.key] = NO_TECHNICIAN
    if not plannable:
        plan.solve_s = time.perf_counter() - began
        return plan

    first = len(workers) + 1  # the technicians' starts, the free end, then the visits
    places = [w.start for w in workers] + [workers[0].start] + [s.place for s in plannable]
    metres = _matrix(np, problem, places)
    metres[:, len(workers)] = 0  # ending anywhere costs nothing
    metres[len(workers), :] = 0
    seconds_of = np.rint(metres / 1000 / problem.speed_kmh * 3600).astype(np.int64)
    profiles: dict[frozenset[int], int] = {}
    distance_matrices: list[Any] = []
    duration_matrices: list[Any] = []
    vehicle_types = []
    for index, w in enumerate(workers):
        mine = frozenset(i for i, s in enumerate(plannable) if w.key in s.eligible)
        if mine not in profiles:
            barred = [first + i for i in range(len(plannable)) if i not in mine]
            dist, dur = metres.copy(), seconds_of.copy()
            dist[:, barred] = FORBIDDEN_M
            dur[:, barred] = FORBIDDEN_S
            np.fill_diagonal(dist, 0)
            np.fill_diagonal(dur, 0)
            profiles[mine] = len(distance_matrices)
            distance_matrices.append(dist)
            duration_matrices.append(dur)
        vehicle_types.append(pyvrp.VehicleType(
            1, start_depot=index, end_depot=len(workers), tw_early=w.free_from,
            tw_late=w.free_until, profile=profiles[mine], name=str(w.key)))
    depots = [pyvrp.Depot(_x(p), _y(p)) for p in places[:first]]
    clients = [pyvrp.Client(_x(s.place), _y(s.place), service_duration=s.service,
                      tw_early=s.early, tw_late=s.late, prize=PRIZE, required=False,
                      name=str(s.key)) for s in plannable]
    data = pyvrp.ProblemData(clients, depots, vehicle_types, distance_matrices, duration_matrices)
    result = pyvrp.solve(data, stop=pyvrp.stop.MaxRuntime(seconds), seed=seed, collect_stats=False,
                         display=False)
    best = result.best
    if not best.is_feasible():
        fallback = greedy(problem)
        fallback.solve_s = time.perf_counter() - began
        return fallback
    done: set[int] = set()
    for route in best.routes():
        worker = workers[route.vehicle_type()]
        visits: list[Visit] = []
        previous = worker.start
        for scheduled in route.schedule():
            if scheduled.location < first:
                continue
            stop = plannable[scheduled.location - first]
            visits.append(Visit(stop.key, scheduled.start_service,
                                problem.metres(previous, stop.place)))
            previous = stop.place
            done.add(stop.key)
        if visits:
            plan.routes[worker.key] = visits
    for stop in plannable:
        if stop.key not in done:
            plan.unplanned[stop.key] = NO_ROOM
    plan.solve_s = time.perf_counter() - began
    return plan


def _x(place: Point) -> int:
    return round(place.longitude * 100_000)


def _y(place: Point) -> int:
    return round(place.latitude * 100_000)
