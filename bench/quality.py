#!/usr/bin/env python
"""Benchmark of quality inspection (R52) on PostgreSQL: the daily sampling job with the
suspicion signals over one day's completions, and photo-fingerprint matching against the
last 90 days.

    .venv/bin/python bench/quality.py [--orders 1000000] [--days 33] [--samples 200]
                                      [--reuse] [--keep] [--recreate]

Runs on the database ``DATABASE_URL`` names (default: a scratch ``fieldops_bench_quality``
on the local PostgreSQL; created, and dropped at the end unless ``--keep``; a database that
already holds tables is refused unless ``--recreate`` or ``--reuse``, see ``bench/where.py``)
and the Redis ``REDIS_URL`` names. It migrates the database and fills it with
``manage.py demo_data --orders N --days D --events full`` (the scale path; every step's
event, so each completed order has its check-in with its position; ~30k completions a day
at the defaults). ``--reuse`` skips the load when the database already holds the orders.

The scale data carries no photos, and its copies share their template's images, so the
benchmark adds three photos (check-in, installation, speed test) to every order completed
in the last 90 days, each with its own random 64-bit fingerprint (as distinct real photos
have), and plants a reused photo (the fingerprint of an older order's photo, a bit or two
flipped) on 1 % of the measured day's orders.

Then, on the busiest of the last full days:

* ``sample_s``: the whole daily job, ``quality.sampling.run_day`` (the day's completions,
  every signal, the stratified draw, the inspections and signals written);
* ``signals_s``: the signals alone (``quality.suspicion.find`` over the day's completions);
* ``photo_match_ms_p95``: one photo's match against the last 90 days
  (``quality.phash.matches``), ``--samples`` photos of the day, p95.

The first line names the database and Redis; the last line is:
``quality orders=N day_completions=C sample_s=S signals_s=T photo_match_ms_p95=P``
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(Path(__file__).resolve().parent))
import where  # noqa: E402

WHERE = where.target("fieldops_bench_quality")


say = where.say


def bench_env() -> dict[str, str]:
    return where.bench_env(WHERE)



#: The orders completed in the window that have no photo yet, and the photos of the three
#: kinds that have no fingerprint yet, each set first into a temporary table. Asked in the
#: INSERT itself, the ``NOT EXISTS`` was planned against the still empty table it filled; at a
#: million orders that statement ran for over half an hour without finishing.
TARGETS_SQL = """
CREATE TEMP TABLE bench_targets ON COMMIT DROP AS
SELECT o.id, o.completed_at FROM workorders_workorder o
 WHERE o.completed_at >= %(since)s
   AND NOT EXISTS (SELECT 1 FROM workorders_photo p WHERE p.order_id = o.id)
"""
#: Three photos per order completed in the window, each with a random fingerprint.
PHOTOS_SQL = """
INSERT INTO workorders_photo (order_id, kind, image, width, height, size, sha256, caption,
                              taken_by_id, uploaded_at)
SELECT o.id, k.kind, 'bench/' || o.id || '-' || k.kind || '.jpg', 1600, 1200, 250000,
       md5(o.id || k.kind) || md5(k.kind || o.id), '', NULL,
       o.completed_at - k.before
  FROM bench_targets o
 CROSS JOIN (VALUES ('check_in', interval '50 minutes'),
                    ('installation', interval '20 minutes'),
                    ('speed_test', interval '10 minutes')) AS k(kind, before)
"""
UNHASHED_SQL = """
CREATE TEMP TABLE bench_unhashed ON COMMIT DROP AS
SELECT p.id, p.order_id, p.kind, p.uploaded_at FROM workorders_photo p
 WHERE p.kind IN ('check_in', 'installation', 'speed_test')
   AND NOT EXISTS (SELECT 1 FROM quality_photohash q WHERE q.photo_id = p.id)
"""
HASHES_SQL = """
INSERT INTO quality_photohash (photo_id, order_id, kind, value, band0, band1, band2, band3,
                               uploaded_at, hashed_at)
SELECT h.id, h.order_id, h.kind, h.v, h.v & 65535, (h.v >> 16) & 65535, (h.v >> 32) & 65535,
       (h.v >> 48) & 65535, h.uploaded_at, h.uploaded_at
  FROM (SELECT p.id, p.order_id, p.kind, p.uploaded_at,
               ((floor(random() * 4294967296)::bigint - 2147483648) << 32)
               | floor(random() * 4294967296)::bigint AS v
          FROM bench_unhashed p) h
"""


def measure(samples: int) -> dict[str, Any]:
    import datetime as dt

    # The project's packages first: this file's folder (bench/) holds a quality.py too,
    # and an installed copy of the project elsewhere must not be the one imported.
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    from django.db import connection, transaction
    from django.db.models import Count
    from django.db.models.functions import TruncDate

    from fieldops import clock
    from quality import phash, sampling, suspicion
    from quality.models import Inspection, PhotoHash, SamplingRun, Signal
    from workorders.models import WorkOrder

    now = clock.now()
    since = now - dt.timedelta(days=90)
    orders = WorkOrder.objects.count()
    t = time.perf_counter()
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(TARGETS_SQL, {"since": since})
        cursor.execute(PHOTOS_SQL)
        cursor.execute(UNHASHED_SQL)
        cursor.execute(HASHES_SQL)
    with connection.cursor() as cursor:
        for table in ("workorders_photo", "quality_photohash", "workorders_workorder",
                      "workorders_workorderevent", "workorders_signature"):
            cursor.execute(f"VACUUM ANALYZE {table}")
    hashes = PhotoHash.objects.count()
    say(f"{orders:,} orders; {hashes:,} photo fingerprints in the last 90 days "
        f"(added in {time.perf_counter() - t:.0f} s)")
    today = clock.today_local()
    start, _end = sampling.day_bounds(today - dt.timedelta(days=7))
    busiest = (WorkOrder.objects.filter(completed_at__gte=start,
                                        completed_at__lt=sampling.day_bounds(today)[0])
               .annotate(day=TruncDate("completed_at")).values("day").order_by()
               .annotate(n=Count("pk")).order_by("-n").first())
    if busiest is None:
        raise SystemExit("no completions in the last week; build with more orders")
    day = busiest["day"]
    say(f"measured day {day}: {busiest['n']:,} completions")
    # A rerun on kept data starts the day afresh (bench only).
    Signal.objects.filter(inspection__day=day).delete()
    Inspection.objects.filter(day=day).delete()
    SamplingRun.objects.filter(day=day).delete()
    day_orders = sampling.completions(day)
    rng = random.Random(52)
    reused = rng.sample(day_orders, max(len(day_orders) // 100, 1))
    older = list(PhotoHash.objects.filter(uploaded_at__lt=sampling.day_bounds(day)[0])
                 .values_list("value", flat=True)[:len(reused)])
    for order, value in zip(reused, older, strict=False):
        flipped = (value & phash.MASK64) ^ (1 << rng.randrange(64))
        b = phash.bands(flipped)
        PhotoHash.objects.filter(order_id=order.id, kind="installation").update(
            value=phash.to_signed(flipped), band0=b[0], band1=b[1], band2=b[2], band3=b[3])
    t = time.perf_counter()
    found = suspicion.find(day_orders)
    signals_s = time.perf_counter() - t
    kinds: dict[str, int] = {}
    for f in found:
        kinds[f.kind] = kinds.get(f.kind, 0) + 1
    say(f"signals over the day: {signals_s:.2f} s; found {kinds}")
    t = time.perf_counter()
    result = sampling.run_day(day)
    sample_s = time.perf_counter() - t
    run = result.run
    say(f"daily job (run_day): {sample_s:.2f} s; {run.completions:,} completions, "
        f"{run.sampled:,} sampled, {run.signalled:,} with signals, {run.drawn:,} inspections")
    probes = list(PhotoHash.objects.filter(order_id__in=[o.id for o in day_orders[:5000]])
                  .values_list("value", "order_id")[:samples])
    timings = []
    for value, order_id in probes:
        t = time.perf_counter()
        phash.matches(value, exclude_order=order_id, since=since, until=now)
        timings.append((time.perf_counter() - t) * 1000)
    timings.sort()
    p95 = timings[max(int(len(timings) * 0.95) - 1, 0)] if timings else 0.0
    say(f"photo match: p50 {statistics.median(timings) if timings else 0:.1f} ms, "
        f"p95 {p95:.1f} ms over {len(timings)} photos")
    return {"orders": orders, "day_completions": len(day_orders), "sample_s": sample_s,
            "signals_s": signals_s, "photo_match_ms_p95": p95}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--orders", type=int, default=1_000_000)
    parser.add_argument("--days", type=int, default=33,
                        help="spread the orders over this many days (~30k completions a "
                             "day for a million orders)")
    parser.add_argument("--samples", type=int, default=200)
    where.add_scale_options(parser)
    args = parser.parse_args()
    env = bench_env()
    if args.measure_only:
        print(json.dumps(measure(args.samples)))
        return
    where.announce("quality", WHERE)
    made = where.load(env, WHERE, args, "workorders_workorder", "--events", "full")
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
    print(f"quality orders={results['orders']} day_completions={results['day_completions']} "
          f"sample_s={results['sample_s']:.1f} signals_s={results['signals_s']:.1f} "
          f"photo_match_ms_p95={results['photo_match_ms_p95']:.1f}")


if __name__ == "__main__":
    main()
