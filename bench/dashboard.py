#!/usr/bin/env python
"""Benchmark of the supervisors' dashboards on PostgreSQL (issue: SLA dashboards).

    .venv/bin/python bench/dashboard.py [--orders 1000000] [--days 90] [--samples 40] [--keep]

Runs on the database ``DATABASE_URL`` names (default: a scratch ``fieldops_bench_dashboard``
on the local PostgreSQL; created, and dropped at the end unless ``--keep``; a database that
already holds tables is refused unless ``--recreate`` or ``--reuse``, see ``bench/where.py``)
and the Redis ``REDIS_URL`` names (the broker for anything queued while loading). It
migrates the database and fills it with
``manage.py demo_data --orders N``
(the scale path: orders spread over ``--days`` days in every state, with their events,
contacts, appointments, SLA timers and dashboard facts; COPY). ``--reuse`` skips the load
when the database already holds the orders. Then times, over the last 30 days with no
filter (the largest answer) and with one area:

* each dashboard query: ``compliance`` (every figure, this period and the previous one),
  ``daily``, ``by_area``, ``by_technician``, ``now_panel``, ``breach_attribution``;
* the full compliance page (``GET /dashboard/`` as a supervisor, rendered by Django).

Every timing is repeated ``--samples`` times after one warm-up; p50 and p95 are printed.
Loopback only. The first line names the database and Redis; the last line is:
``dashboard orders=N compliance_p95_ms=X now_p95_ms=Y page_p95_ms=Z``
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
sys.path.insert(0, str(Path(__file__).resolve().parent))
import where  # noqa: E402

#: Two copies side by side (the old and the new code): two DATABASE_URLs and REDIS_URLs.
WHERE = where.target("fieldops_bench_dashboard")


say = where.say
manage = where.manage
timed = where.timed


def bench_env() -> dict[str, str]:
    return where.bench_env(WHERE)


def populate(env: dict[str, str], orders: int, days: int) -> float:
    return where.populate(env, orders, days)


def measure(samples: int) -> dict[str, tuple[float, float]]:
    import django

    django.setup()
    from django.contrib.auth.models import Group, User
    from django.db import connection
    from django.test import Client

    from dashboards import selectors
    from dashboards.models import OrderFact
    from fieldops import roles
    from technicians.models import Area

    with connection.cursor() as cursor:  # as autovacuum would have, after the bulk load
        for table in ("dashboards_orderfact", "dashboards_dailyrollup",
                      "dashboards_areadailyrollup", "dashboards_durationhistogram",
                      "sla_timer"):
            cursor.execute(f"VACUUM ANALYZE {table}")
    orders = OrderFact.objects.count()
    everything = selectors.Filters.last_days(30)
    in_window = everything.facts().count()
    busiest = (everything.facts().values("area_id").order_by().annotate(
        n=django.db.models.Count("pk")).order_by("-n").first())
    area = selectors.Filters.last_days(30, area=busiest["area_id"] if busiest else None)
    say(f"{orders:,} orders with facts; {in_window:,} received in the last 30 days; "
        f"{Area.objects.count()} areas")
    boss, _ = User.objects.get_or_create(username="bench-supervisor",
                                         defaults={"is_staff": True})
    boss.groups.add(Group.objects.get(name=roles.SUPERVISOR))
    client = Client(HTTP_ACCEPT_LANGUAGE="zh-hans")
    client.force_login(boss)

    def page(query: str = "") -> Callable[[], Any]:
        def get() -> None:
            response = client.get("/dashboard/" + query)
            assert response.status_code == 200, response.status_code
        return get

    checks: dict[str, Callable[[], Any]] = {
        "compliance": lambda: selectors.compliance(everything),
        "daily": lambda: selectors.daily(everything),
        "by_area": lambda: selectors.by_area(everything),
        "by_technician": lambda: selectors.by_technician(everything),
        "now": lambda: selectors.now_panel(everything),
        "breaches": lambda: selectors.breach_attribution(everything),
        "page": page(),
        "compliance_area": lambda: selectors.compliance(area),
        "page_area": page(f"?area={area.area}"),
    }
    results = {}
    for name, fn in checks.items():
        results[name] = timed(fn, samples)
        say(f"  {name:<16} p50 {results[name][0]:8.1f} ms   p95 {results[name][1]:8.1f} ms")
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_size_pretty(pg_total_relation_size('dashboards_orderfact'))")
        say(f"dashboards_orderfact with its indexes: {cursor.fetchone()[0]}")
    results["_orders"] = (orders, in_window)
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--orders", type=int, default=1_000_000)
    parser.add_argument("--days", type=int, default=90,
                        help="spread the orders over this many days (demo_data's default)")
    parser.add_argument("--samples", type=int, default=40)
    where.add_scale_options(parser)
    args = parser.parse_args()
    env = bench_env()
    if args.measure_only:  # the child process: Django set up on the bench database
        results = measure(args.samples)
        print(json.dumps(results))
        return
    where.announce("dashboard", WHERE)
    made = False
    if not args.reuse or not where.populated(env, "dashboards_orderfact", args.orders):
        made = where.prepare(WHERE, recreate=args.recreate or args.reuse)
        say(f"loading {args.orders:,} orders over {args.days} days ...")
        say(f"loaded in {populate(env, args.orders, args.days):.0f} s")
    else:  # an earlier run's data: bring the schema and the rollups up to date
        manage(env, "migrate", "--verbosity", "0")
        manage(env, "dashboard_facts", "--rollups-only")
    try:
        out = subprocess.run([sys.executable, __file__, "--measure-only", "--samples",
                              str(args.samples)], cwd=ROOT, env=env,
                             capture_output=True, text=True)
        sys.stderr.write(out.stderr)
        out.check_returncode()
        results = json.loads(out.stdout.strip().splitlines()[-1])
    finally:
        if made and not args.keep and not args.reuse:
            where.drop(WHERE)
    orders = results["_orders"][0]
    print(f"dashboard orders={orders} compliance_p95_ms={results['compliance'][1]:.1f} "
          f"now_p95_ms={results['now'][1]:.1f} page_p95_ms={results['page'][1]:.1f}")


if __name__ == "__main__":
    main()
