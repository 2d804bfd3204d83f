"""The day plan's solver on plain data (R4 skills and areas, R11 half days, R14 exact
times): every window kept, nobody given a visit they may not do, nothing dropped without a
reason, and less travel than the greedy baseline."""

from __future__ import annotations

from planning import routing
from planning.geocoding import Point

HOUR = 3600


def at(km_east: float, km_north: float = 0.0) -> Point:
    return Point(31.2 + km_north / 111.195, 121.4 + km_east / 95.0)


def worker(key: int, place: Point) -> routing.Worker:
    return routing.Worker(key, place, 8 * HOUR, 20 * HOUR)


def stop(key: int, place: Point, early: int, late: int, eligible: set[int],
         service: int = 45 * 60) -> routing.Stop:
    return routing.Stop(key, place, service, early, late, frozenset(eligible))


def kept(problem: routing.Problem, plan: routing.Plan) -> bool:
    stops = {s.key: s for s in problem.stops}
    return all(stops[v.stop].early <= v.start <= stops[v.stop].late
               for visits in plan.routes.values() for v in visits)


def test_a_visit_goes_only_to_a_technician_who_may_do_it():
    # R4: skills and area, as the capacity of the technician's own profile
    problem = routing.Problem(
        stops=(stop(1, at(0.5), 9 * HOUR, 17 * HOUR, {2}),
               stop(2, at(0.6), 9 * HOUR, 17 * HOUR, {1, 2})),
        workers=(worker(1, at(0)), worker(2, at(20))))
    plan = routing.solve(problem, seconds=0.5)
    assert plan.solver == "pyvrp"
    assert [v.stop for v in plan.routes[2] if v.stop == 1] == [1]  # far, but only 2 may
    assert all(v.stop != 1 for v in plan.routes.get(1, []))
    assert plan.unplanned == {}


def test_exact_times_and_half_days_are_kept_and_the_order_follows_the_windows():
    # R14: an exact time within ±10 min; R11: a half day
    problem = routing.Problem(
        stops=(stop(1, at(1), 14 * HOUR - 600, 14 * HOUR + 600, {1}),
               stop(2, at(2), 8 * HOUR, 12 * HOUR - 45 * 60, {1}),
               stop(3, at(3), 10 * HOUR - 600, 10 * HOUR + 600, {1})),
        workers=(worker(1, at(0)),))
    plan = routing.solve(problem, seconds=0.5)
    assert [v.stop for v in plan.routes[1]] == [2, 3, 1]
    assert kept(problem, plan) and routing.lateness(problem, plan) == 0


def test_what_cannot_be_planned_is_listed_with_the_reason():
    problem = routing.Problem(
        stops=(stop(1, at(1), 9 * HOUR, 9 * HOUR, {1}),
               stop(2, at(30), 9 * HOUR, 9 * HOUR, {1}),  # same moment, 30 km away
               stop(3, at(1), 9 * HOUR, 17 * HOUR, {7})),  # nobody of the area may
        workers=(worker(1, at(0)),))
    plan = routing.solve(problem, seconds=0.5)
    assert plan.planned == 1
    assert plan.unplanned[3] == routing.NO_TECHNICIAN
    assert set(plan.unplanned) == {3, (set([1, 2]) - {plan.routes[1][0].stop}).pop()}
    assert routing.NO_ROOM in plan.unplanned.values()


def test_the_solver_travels_less_than_the_greedy_baseline():
    # Greedy takes the visit it can start soonest: east first, then west, then back east
    # for the 13:00 exact time. Going west first saves a crossing of the area.
    problem = routing.Problem(
        stops=(stop(1, at(10), 8 * HOUR, 19 * HOUR, {1}),
               stop(2, at(-10), 8 * HOUR, 19 * HOUR, {1}),
               stop(3, at(10.2), 13 * HOUR - 600, 13 * HOUR + 600, {1})),
        workers=(worker(1, at(0)),))
    base, plan = routing.greedy(problem), routing.solve(problem, seconds=0.5)
    assert [v.stop for v in base.routes[1]] == [1, 2, 3]
    assert [v.stop for v in plan.routes[1]] == [2, 1, 3]
    assert kept(problem, plan) and kept(problem, base)
    assert plan.travel_m < 0.7 * base.travel_m


def test_the_current_plan_is_driven_in_the_order_of_its_starts():
    problem = routing.Problem(
        stops=(routing.Stop(1, at(2), 1800, 10 * HOUR, 12 * HOUR, frozenset({1}), 1,
                            11 * HOUR),
               routing.Stop(2, at(1), 1800, 9 * HOUR, 12 * HOUR, frozenset({1}), 1,
                            9 * HOUR)),
        workers=(worker(1, at(0)),))
    plan = routing.current(problem)
    assert [v.stop for v in plan.routes[1]] == [2, 1]
    assert plan.routes[1][0].start == 9 * HOUR
