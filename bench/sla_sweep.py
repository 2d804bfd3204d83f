#!/usr/bin/env python
"""Benchmark of the SLA sweep on PostgreSQL (issue: SLA engine).

    .venv/bin/python bench/sla_sweep.py [--orders 1000000] [--storm 50000] [--workers 1]
                                        [--keep]

Runs on the database ``DATABASE_URL`` names (default: a scratch ``fieldops_bench_sla`` on the
local PostgreSQL; created, and dropped at the end unless ``--keep``; a database that already
holds tables is refused unless ``--recreate``, see ``bench/where.py``), migrates it, and
arms one contact timer on each of N open orders with ``INSERT … SELECT generate_series``
(the services would take hours for a million). Then:

(a) idle tick: the sweep's query with nothing due, median and p95 of 200 ticks;
(b) breach storm: ``--storm`` timers made due at once; breaches per second of
    ``engine.sweep_all`` (events, timer updates and notifications included), run by
    ``--workers`` processes at once (the claim gives them disjoint rows, as it does to
    several Celery worker processes);
(c) detection latency with a real Celery worker and beat (SLA_SWEEP_SECONDS=1) on the Redis
    ``REDIS_URL`` names (default ``redis://127.0.0.1:6379/0``) as their broker:
    ``recorded_at - due`` of breaches spread over the next ~20 s, p50 and p99;
(d) the raw rate of single-row UPDATEs on the same table (psycopg ``executemany`` in one
    transaction) as the physical reference, by the same number of processes as the storm
    (each on its own slice of rows), so that the ratio compares like with like.

(b) and (d) alternate ``--repeat`` times (fresh timers for each storm); the medians are
reported, so a neighbour's burst on a shared machine skews one pair, not the result.

Loopback only; every loop is bounded. The first line names the database and Redis; the
last line is:
``sla_sweep orders=N idle_tick_ms=X storm_per_s=Y raw_update_per_s=Z ratio=Y/Z p99_detect_s=W``
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(Path(__file__).resolve().parent))
import where  # noqa: E402

#: The database and the detection run's broker (two copies side by side, e.g. the old and
#: the new code: two DATABASE_URLs and REDIS_URLs).
WHERE = where.target("fieldops_bench_sla")


def say(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


def setup_django() -> None:
    os.environ["DATABASE_URL"] = WHERE.database_url
    os.environ.setdefault("SECRET_KEY", "bench-only-key-0123456789-abcdefghijklmnopqrstuvwxyz")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "fieldops.settings")
    os.environ.setdefault("SECURE_SSL_REDIRECT", "0")
    os.environ["CONN_MAX_AGE"] = "0"
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()


def populate(n: int) -> None:
    """N dispatched orders, each with an armed contact timer due in a day."""
    from django.contrib.auth.models import User
    from django.db import connection

    from sla.timers import SlaPolicy
    from technicians.models import Area
    from workorders.models import Customer

    area = Area.objects.create(code="BENCH", name="bench")
    customer = Customer.objects.create(name="bench", phone="13800000000")
    User.objects.create(username="bench")
    policy = SlaPolicy.objects.get(name="Standard")
    rule = policy.rules.get(kind="contact")
    started = time.perf_counter()
    with connection.cursor() as cur:
        cur.execute("""
            INSERT INTO workorders_workorder (kind, service, access_type, channel,
                customer_class, customer_id, contact_phone, address, area_id, symptoms,
                external_ref, notes, state, version, customer_missed_bookings,
                our_missed_appointments, supervisor_flag, rework_round, cancel_reason,
                parked_from, created_at, updated_at, dispatched_at)
            SELECT 'install', 'broadband', 'ftth', 'hotline', 'standard', %s, '13800000000',
                   'bench ' || g, %s, '', '', '', 'dispatched', 1, 0, 0, false, 0, '', '',
                   now(), now(), now()
            FROM generate_series(1, %s) g""", [customer.pk, area.pk, n])
        cur.execute("""
            INSERT INTO sla_timer (order_id, rule_id, kind, cycle, status, policy_version,
                target_seconds, started_at, consumed_seconds, running_since, due_at,
                next_check_at, escalation_level, failures)
            SELECT id, %s, 'contact', 1, 'armed', %s, 3600, now(), 0, now(),
                   now() + interval '1 day', now() + interval '1 day', 0, 0
            FROM workorders_workorder""", [rule.pk, policy.version])
        cur.execute("ANALYZE workorders_workorder")
        cur.execute("ANALYZE sla_timer")
    say(f"populated {n} orders and timers in {time.perf_counter() - started:.1f} s")


def idle_tick(ticks: int = 200) -> tuple[float, float]:
    from sla import engine

    engine.sweep()  # warm the connection and the plan
    samples = []
    for _ in range(ticks):
        t = time.perf_counter()
        handled = engine.sweep()
        samples.append((time.perf_counter() - t) * 1000)
        assert handled == 0
    samples.sort()
    return statistics.median(samples), samples[int(len(samples) * 0.95) - 1]


def make_due(count: int, *, spread_seconds: float = 0.0) -> None:
    """Make ``count`` timers reach 100 % now (or spread over the next seconds): their
    warning already fired, so the due step is the breach."""
    from django.db import connection

    with connection.cursor() as cur:
        cur.execute("""
            WITH picked AS (
                SELECT id, row_number() OVER (ORDER BY id) AS k FROM sla_timer
                WHERE status = 'armed' AND breached_at IS NULL ORDER BY id LIMIT %s)
            UPDATE sla_timer t SET
                escalation_level = 1, warned_at = now() - interval '10 minutes',
                running_since = now() - interval '3600 seconds'
                    + (picked.k * %s / %s) * interval '1 second',
                due_at = now() + (picked.k * %s / %s) * interval '1 second',
                next_check_at = now() + (picked.k * %s / %s) * interval '1 second'
            FROM picked WHERE t.id = picked.id""",
                    [count, spread_seconds, count, spread_seconds, count, spread_seconds,
                     count])


def _at_once(workers: int, job: Any, args: list[tuple[Any, ...]]) -> tuple[int, float]:
    """Run ``job(*args[i])`` in ``workers`` fresh processes released together; returns the
    sum of what they return and the seconds from the first start to the last end."""
    import multiprocessing

    from django.db import connections

    if workers == 1:
        started = time.monotonic()
        done = job(*args[0])
        return done, time.monotonic() - started
    connections.close_all()  # each child opens its own connection
    context = multiprocessing.get_context("fork")
    results = context.Queue()
    release = time.monotonic() + 1.0
    procs = [context.Process(target=_child, args=(job, release, results, *a)) for a in args]
    for proc in procs:
        proc.start()
    rows = [results.get(timeout=3600) for _ in procs]
    for proc in procs:
        proc.join(timeout=60)
    errors = [row[3] for row in rows if row[3]]
    if errors:
        raise RuntimeError("; ".join(errors))
    return sum(r[0] for r in rows), max(r[2] for r in rows) - min(r[1] for r in rows)


def _child(job: Any, release: float, results: Any, *args: Any) -> None:
    while time.monotonic() < release:
        time.sleep(0.001)
    started = time.monotonic()
    try:
        done, error = job(*args), ""
    except Exception as exc:  # reported to the parent
        done, error = 0, repr(exc)
    results.put((done, started, time.monotonic(), error))


def _sweep_job() -> int:
    from sla import engine

    return engine.sweep_all()


def storm(count: int, workers: int = 1) -> float:
    from sla.timers import Timer

    before = Timer.objects.filter(breached_at__isnull=False).count()
    make_due(count)
    handled, elapsed = _at_once(workers, _sweep_job, [()] * workers)
    breached = Timer.objects.filter(breached_at__isnull=False).count() - before
    say(f"storm: {handled} timers swept by {workers} process(es), {breached} breached "
        f"in {elapsed:.2f} s")
    return breached / elapsed


def _update_job(ids: list[tuple[int]]) -> int:
    from django.db import connection, transaction

    with transaction.atomic(), connection.cursor() as cur:
        cur.executemany("UPDATE sla_timer SET failures = failures WHERE id = %s", ids)
    return len(ids)


def raw_updates(count: int, workers: int = 1) -> float:
    from django.db import connection

    with connection.cursor() as cur:
        cur.execute("SELECT id FROM sla_timer ORDER BY id DESC LIMIT %s", [count])
        ids = [(row[0],) for row in cur.fetchall()]
    slices = [(ids[i::workers],) for i in range(workers)]
    done, elapsed = _at_once(workers, _update_job, slices)
    return done / elapsed


def detection(count: int, spread: float) -> float:
    """p99 of (recorded - due) for breaches caught by a real worker and beat."""
    from django.db.models import F

    from sla.timers import TimerEvent

    env = {**os.environ, "SLA_SWEEP_SECONDS": "1", "HEARTBEAT_SECONDS": "60",
           "CELERY_BROKER_URL": WHERE.redis_url, "PYTHONUNBUFFERED": "1"}
    workdir = Path(tempfile.mkdtemp(prefix="bench-sla-"))
    procs = [subprocess.Popen([sys.executable, "-m", "celery", "-A", "fieldops", *args],
                              cwd=ROOT, env=env, stdout=(workdir / f"{name}.log").open("wb"),
                              stderr=subprocess.STDOUT, start_new_session=True)
             for name, args in (
                 ("worker", ["worker", "-l", "warning", "--concurrency", "1",
                             "--without-mingle", "--without-gossip"]),
                 ("beat", ["beat", "-l", "warning", "--schedule",
                           str(workdir / "schedule")]))]
    try:
        time.sleep(5)  # let both processes connect before the first breach is due
        before = TimerEvent.objects.filter(kind="breached").count()
        make_due(count, spread_seconds=spread)
        deadline = time.monotonic() + spread + 60
        while time.monotonic() < deadline:
            if TimerEvent.objects.filter(kind="breached").count() - before >= count:
                break
            time.sleep(0.5)
        delays = sorted(
            (e.recorded_at - e.at).total_seconds()
            for e in TimerEvent.objects.filter(kind="breached").order_by("-id")[:count]
            .annotate(due=F("at")))
    finally:
        for p in procs:
            p.terminate()
        for p in procs:
            try:
                p.wait(timeout=20)
            except subprocess.TimeoutExpired:
                p.kill()
    if len(delays) < count:
        say(f"detection: only {len(delays)} of {count} breaches recorded")
    say(f"detection: p50 {statistics.median(delays):.2f} s over {len(delays)} breaches")
    return delays[int(len(delays) * 0.99) - 1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--orders", type=int, default=1_000_000)
    parser.add_argument("--storm", type=int, default=50_000)
    parser.add_argument("--detect", type=int, default=1000)
    parser.add_argument("--repeat", type=int, default=3,
                        help="storm/reference pairs (medians are reported)")
    parser.add_argument("--workers", type=int, default=1,
                        help="processes for the storm and for the raw reference alike")
    parser.add_argument("--keep", action="store_true", help="keep the database it made")
    parser.add_argument("--recreate", action="store_true",
                        help="drop and refill the database DATABASE_URL names if it holds "
                             "tables")
    args = parser.parse_args()
    where.announce("sla_sweep", WHERE)
    made = where.prepare(WHERE, recreate=args.recreate)
    setup_django()
    from django.core.management import call_command

    try:
        call_command("migrate", verbosity=0)
        populate(args.orders)
        idle_median, idle_p95 = idle_tick()
        say(f"idle tick: median {idle_median:.2f} ms, p95 {idle_p95:.2f} ms")
        # The machine may be shared: storm and reference alternate, each pair close in
        # time, and the medians are reported.
        pairs = []
        for _ in range(args.repeat):
            storm_rate = storm(args.storm, args.workers)
            raw_rate = raw_updates(args.storm, args.workers)
            say(f"raw single-row UPDATEs by {args.workers} process(es): {raw_rate:.0f}/s "
                f"(pair ratio {storm_rate / raw_rate:.2f}, load {os.getloadavg()[0]:.2f})")
            pairs.append((storm_rate, raw_rate))
        storm_rate = statistics.median(p[0] for p in pairs)
        raw_rate = statistics.median(p[1] for p in pairs)
        p99 = detection(args.detect, 20.0)
    finally:
        from django.db import connections

        connections.close_all()
        if made and not args.keep:
            where.drop(WHERE)
    say(f"load average at the end: {os.getloadavg()[0]:.2f} (1 min), "
        f"{os.getloadavg()[1]:.2f} (5 min), {os.cpu_count()} cores")
    print(f"sla_sweep orders={args.orders} idle_tick_ms={idle_p95:.2f} "
          f"storm_per_s={storm_rate:.0f} raw_update_per_s={raw_rate:.0f} "
          f"ratio={storm_rate / raw_rate:.2f} p99_detect_s={p99:.2f}")


if __name__ == "__main__":
    main()
