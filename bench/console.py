#!/usr/bin/env python
"""Benchmark of the dispatcher's console on PostgreSQL (issue: dispatcher console).

    .venv/bin/python bench/console.py [--orders 1000000] [--days 90] [--samples 40] [--keep]

Runs on the database ``DATABASE_URL`` names (default: a scratch ``fieldops_bench_console``
on the local PostgreSQL; created, and dropped at the end unless ``--keep``; a database that
already holds tables is refused unless ``--recreate`` or ``--reuse``, see ``bench/where.py``)
and the Redis ``REDIS_URL`` names. It migrates the database and fills it with
``manage.py demo_data --orders N --open K`` (the scale path, as ``bench/dashboard.py``; K,
a twentieth of N unless ``--open`` says, are open now across the open states with their
promises running, as a working day leaves the queue: every copied life starts at its
template's time of day, so without them the open orders depend on the hour); ``--reuse``
skips the load when the database already holds the orders. Then, as a dispatcher:

* ``queue``: the queue's table (``GET queue/`` as htmx asks for it every few seconds: every
  open order, earliest promise first, the first page of 50), rendered by Django;
* ``board``: the day board's data (``GET board/data/?day=&area=``) for an area of
  ``--technicians`` (50) technicians: the busiest area, topped up with technicians of
  other areas when it has fewer, and a day's visits booked for them;
* ``rank``: the ranked candidates for one unassigned order of that area
  (``planning.ranking.rank_candidates``, what the desk's Dispatch page and the API's
  ``candidates`` answer show).

Every timing is repeated ``--samples`` times after one warm-up; p50 and p95 are printed.
The first line names the database and Redis; the last line is:
``console orders=N queue_p95_ms=X board_p95_ms=Y rank_p95_ms=Z``
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH))
import where  # noqa: E402

# This file's folder must not stay on the path: ``console`` is the console app, not this file.
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != BENCH]
sys.path.insert(0, str(ROOT))

WHERE = where.target("fieldops_bench_console")


say = where.say
timed = where.timed


def bench_env() -> dict[str, str]:
    return where.bench_env(WHERE)



def _board_area(size: int) -> tuple[Any, list[Any]]:
    """The area with the most technicians, topped up to ``size`` with technicians of other
    areas (who then serve both), and today's visits booked for them: a day of about six
    visits each, moved to today from the area's open bookings."""
    import datetime as dt

    from django.db.models import Count
    from django.utils import timezone

    from appointments.models import Appointment, AppointmentStatus
    from fieldops import clock
    from technicians.models import Area, Technician
    from workorders.models import State, WorkOrder

    area = Area.objects.annotate(n=Count("technicians")).order_by("-n", "pk").first()
    assert area is not None, "no areas: was the database loaded?"
    technicians = list(Technician.objects.filter(areas=area).order_by("pk"))
    if len(technicians) < size:
        extra = list(Technician.objects.exclude(areas=area).filter(is_active=True)
                     .order_by("pk")[:size - len(technicians)])
        for tech in extra:
            tech.areas.add(area)
        technicians += extra
    technicians = technicians[:size]
    today = clock.today_local()
    opens = timezone.make_aware(dt.datetime.combine(today, dt.time(8)))
    waiting = list(WorkOrder.objects.filter(
        area=area, state__in=[State.DISPATCHED, State.TAKEN, State.CONTACTED,
                              State.SCHEDULED]).order_by("pk")[:len(technicians) * 6])
    moved = 0
    for n, order in enumerate(waiting):
        tech = technicians[n % len(technicians)]
        start = opens + dt.timedelta(hours=(n // len(technicians)) * 2)
        WorkOrder.objects.filter(pk=order.pk).update(technician=tech)
        moved += Appointment.objects.filter(order=order, status=AppointmentStatus.BOOKED).update(
            start=start, end=start + dt.timedelta(hours=1))
    say(f"board: area {area.code} with {len(technicians)} technicians, {moved} visits today")
    return area, technicians


def measure(samples: int, board_technicians: int) -> dict[str, Any]:
    import django

    django.setup()
    from django.contrib.auth.models import Group, User
    from django.db import connection
    from django.test import Client

    from fieldops import clock, roles
    from planning.ranking import rank_candidates
    from workorders.models import State, WorkOrder

    with connection.cursor() as cursor:  # as autovacuum would have, after the bulk load
        for table in ("workorders_workorder", "sla_timer", "appointments_appointment",
                      "technicians_technician_areas", "planning_technicianposition"):
            cursor.execute(f"VACUUM ANALYZE {table}")
    orders = WorkOrder.objects.count()
    area, _technicians = _board_area(board_technicians)
    order = (WorkOrder.objects.filter(area=area, state=State.ACCEPTED).order_by("-pk").first()
             or WorkOrder.objects.filter(area=area).order_by("-pk").first())
    assert order is not None
    boss, _ = User.objects.get_or_create(username="bench-dispatcher",
                                         defaults={"is_staff": True})
    boss.groups.add(Group.objects.get(name=roles.DISPATCHER))
    client = Client(HTTP_ACCEPT_LANGUAGE="zh-hans")
    client.force_login(boss)
    day = clock.today_local().isoformat()

    def get(path: str, **headers: str) -> Callable[[], None]:
        def call() -> None:
            response = client.get(path, headers=headers)
            assert response.status_code == 200, (path, response.status_code)
        return call

    checks: dict[str, Callable[[], Any]] = {
        "queue": get("/admin/workorders/workorder/queue/", **{"HX-Request": "true"}),
        "queue_page": get("/admin/workorders/workorder/queue/"),
        "board": get(f"/admin/workorders/workorder/board/data/?day={day}&area={area.pk}"),
        "rank": lambda: rank_candidates(order),
    }
    results: dict[str, Any] = {}
    for name, fn in checks.items():
        results[name] = timed(fn, samples)
        say(f"  {name:<12} p50 {results[name][0]:8.1f} ms   p95 {results[name][1]:8.1f} ms")
    results["_orders"] = orders
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--orders", type=int, default=1_000_000)
    parser.add_argument("--days", type=int, default=90)
    parser.add_argument("--samples", type=int, default=40)
    parser.add_argument("--technicians", type=int, default=50,
                        help="technicians of the board's area")
    parser.add_argument("--open", type=int, default=None,
                        help="of the orders, this many open now across the open states "
                             "(demo_data --open; default a twentieth: ~50k of a million)")
    where.add_scale_options(parser)
    args = parser.parse_args()
    env = bench_env()
    if args.measure_only:  # the child process: Django set up on the bench database
        print(json.dumps(measure(args.samples, args.technicians)))
        return
    where.announce("console", WHERE)
    opened = args.open if args.open is not None else args.orders // 20
    made = where.load(env, WHERE, args, "workorders_workorder", "--open", str(opened))
    try:
        out = subprocess.run([sys.executable, __file__, "--measure-only", "--samples",
                              str(args.samples), "--technicians", str(args.technicians)],
                             cwd=ROOT, env=env, capture_output=True, text=True)
        sys.stderr.write(out.stderr)
        out.check_returncode()
        results = json.loads(out.stdout.strip().splitlines()[-1])
    finally:
        if made and not args.keep and not args.reuse:
            where.drop(WHERE)
    print(f"console orders={results['_orders']} queue_p95_ms={results['queue'][1]:.1f} "
          f"board_p95_ms={results['board'][1]:.1f} rank_p95_ms={results['rank'][1]:.1f}")


if __name__ == "__main__":
    main()
