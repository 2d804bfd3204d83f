#!/usr/bin/env python3
"""The call-centre API's speed as ratios measured in one run: a create and a filtered list
against the framework's floor (``GET /api/v1/me/``), and that floor against a bare DRF view.

    .venv/bin/python bench/api_ratio.py [--orders 20000] [--rounds 3] [--duration 8]
                                        [--concurrency 8] [--py-spy]

This machine's speed varies from run to run, so absolute requests per second mean little;
what one run can compare is phases against each other, interleaved so a neighbour's burst
hits them alike. As in production: gunicorn (one sync worker unless told otherwise, production
settings, no access log), PostgreSQL and Redis (``DATABASE_URL`` / ``REDIS_URL``, see
``bench/where.py``; unset, a scratch database of its own, dropped at the end), a Celery
worker and beat beside it. The machinery (load generator, CPU accounting, gunicorn and
Celery start-up) is ``bench/api_load.py``'s.

Rounds: each runs the same client, concurrency and duration through four phases in turn:

- ``floor``: ``GET /api/v1/me/``: authentication, the client's rate limit, the middleware and
  a small JSON answer, nothing else;
- ``bare``: ``GET /bench/bare/``, a DRF view with DRF's own ``TokenAuthentication`` and no
  rate limit (``bench/ratio_urls.py``, served by the same processes with the same
  middleware; it exists only in this benchmark's settings, ``bench/ratio_settings.py``);
- ``create``: ``POST /api/v1/work-orders/`` (a new key and customer each, half repairs);
- ``list``: ``GET /api/v1/work-orders/?state=scheduled&area=<busiest>&page_size=20``.

It prints each round, the medians, the queries one create and one list run (Django's query
log, through the same URLs), with ``--py-spy`` a profile of the gunicorn worker during one
create phase (py-spy must be installed: ``.venv/bin/pip install py-spy``; not a project
dependency), and last:

``api_ratio floor_rps=.. create_rps=.. list_rps=.. create_vs_floor=.. list_vs_floor=..
create_p99_ms=.. list_p99_ms=..`` (with ``bare_rps`` and ``floor_vs_bare`` before the p99s).
"""

from __future__ import annotations

import argparse
import collections
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH))
import api_load  # noqa: E402
import where  # noqa: E402

ROOT = api_load.ROOT
PYTHON = api_load.PYTHON
WHERE = api_load.WHERE
PHASES = ("floor", "bare", "create", "list")


def say(message: str) -> None:
    print(f"api_ratio: {message}", file=sys.stderr, flush=True)


BARE_TOKEN = """
from django.contrib.auth import get_user_model
from rest_framework.authtoken.models import Token
user, _ = get_user_model().objects.get_or_create(username="bench-bare")
print(Token.objects.get_or_create(user=user)[0].key)
"""

#: The queries of one create and one list through the real URLs (Django's query log).
QUERIES = """
import json, uuid
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from fieldops import clock
client = Client(HTTP_AUTHORIZATION="Bearer %(token)s", HTTP_HOST="127.0.0.1")
body = {"channel": "hotline", "kind": "repair", "service": "broadband",
        "access_type": "ftth", "customer": {"name": "压测客户", "phone": "13900001234"},
        "address": "北京市东城区压测路 1 号", "area": "%(area)s", "symptoms": "光猫 LOS 灯红",
        "preferred_day": clock.today_local().isoformat()}
listing = "/api/v1/work-orders/?state=%(state)s&area=%(area)s&page_size=20"
out = {}
for name, call in (
        ("create", lambda: client.post("/api/v1/work-orders/", json.dumps(body),
                                       content_type="application/json",
                                       HTTP_IDEMPOTENCY_KEY=uuid.uuid4().hex)),
        ("list", lambda: client.get(listing)),
        ("floor", lambda: client.get("/api/v1/me/"))):
    call()  # warm
    with CaptureQueriesContext(connection) as q:
        status = call().status_code
    out[name] = {"status": status, "queries": len(q.captured_queries),
                 "statements": [x["sql"][:70] for x in q.captured_queries]}
print(json.dumps(out, ensure_ascii=False))
"""


def _profile(pid: int, seconds: float, out: Path) -> subprocess.Popen[bytes] | None:
    spy = shutil.which("py-spy") or str(Path(PYTHON).parent / "py-spy")
    if not Path(spy).exists():
        say("--py-spy: py-spy is not installed (.venv/bin/pip install py-spy); no profile")
        return None
    return subprocess.Popen([spy, "record", "--pid", str(pid), "--duration", str(int(seconds)),
                             "--format", "raw", "--rate", "200", "--output", str(out),
                             "--nonblocking"], stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)


#: The project's own top-level packages (a frame in one of them is our code).
OURS = {p.name for p in ROOT.iterdir() if (p / "__init__.py").exists()}


def _package(frame: str) -> str:
    """``Connection.wait (psycopg/connection.py:495)`` -> ``psycopg``; our apps are
    ``fieldops:<app>``; the standard library keeps its module name."""
    path = frame.rpartition("(")[2].rstrip(")").rsplit(":", 1)[0]
    if "site-packages/" in path:
        path = path.split("site-packages/", 1)[1]
    elif path.startswith(str(ROOT) + "/"):
        path = path[len(str(ROOT)) + 1:]
    elif "/lib/python3" in path:
        path = path.split("/lib/python3", 1)[1].partition("/")[2]
    top = path.split("/", 1)[0].removesuffix(".py") or "?"
    return f"fieldops:{top}" if top in OURS else top


def _breakdown(raw: Path) -> list[str]:
    """Where the worker's samples went: by package of the innermost frame, and the top
    frames by self time (py-spy's raw format: ``frame;frame;... count`` per line)."""
    if not raw.exists():
        return ["(no profile written)"]
    by_package: collections.Counter[str] = collections.Counter()
    by_leaf: collections.Counter[str] = collections.Counter()
    total = 0
    for line in raw.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        if not count.isdigit():
            continue
        n = int(count)
        total += n
        leaf = stack.rsplit(";", 1)[-1]
        by_leaf[leaf] += n
        by_package[_package(leaf)] += n
    if not total:
        return ["(empty profile)"]
    lines = [f"{total} samples of the gunicorn worker during a create phase"]
    lines += [f"  {n / total:6.1%}  {name}" for name, n in by_package.most_common(12)]
    lines.append("  top frames by self time:")
    lines += [f"  {n / total:6.1%}  {name[:110]}" for name, n in by_leaf.most_common(12)]
    return lines


def orchestrate(args: argparse.Namespace) -> None:
    db = WHERE.database
    env = where.app_env(WHERE, settings="ratio_settings", path=(str(BENCH),))
    where.announce("api_ratio", WHERE)
    made = where.prepare(WHERE, recreate=args.recreate)
    server: subprocess.Popen[bytes] | None = None
    app: list[subprocess.Popen[bytes]] = []
    rounds: list[dict[str, dict[str, Any]]] = []
    profile_lines: list[str] = []
    try:
        api_load._manage(env, "migrate", "--noinput", "-v", "0")
        say(f"loading {args.orders:,} orders (manage.py demo_data --orders {args.orders})")
        started = time.monotonic()
        api_load._manage(env, "demo_data", "--orders", str(args.orders))
        say(f"loaded in {time.monotonic() - started:.0f} s")
        token = api_load._manage(env, "api_client", f"bench-{os.getpid()}", "--rate",
                                 "100000000", capture=True).strip().splitlines()[-1]
        args.bare_token = api_load._manage(env, "shell", "-c", BARE_TOKEN,
                                           capture=True).strip().splitlines()[-1]
        facts = json.loads(api_load._manage(env, "shell", "-c", api_load.SETUP,
                                            capture=True).strip().splitlines()[-1])
        say(f"data: {facts}")
        queries = json.loads(api_load._manage(
            env, "shell", "-c", QUERIES % {"token": token, "area": facts["area"],
                                           "state": facts["state"]},
            capture=True).strip().splitlines()[-1])
        port = api_load._free_port()
        app = where.start_app(env, port, args.workers, "api_ratio")
        server, celery = app[0], app[1:]
        api_load._wait_until_up(port, token)
        pids = [c.pid for c in celery]

        def run(phase: str, seconds: float) -> dict[str, Any]:
            assert server is not None
            return api_load._run_phase(args, phase, port, token, facts["area"],
                                       facts["state"], seconds, server.pid, db, pids)

        say(f"gunicorn up on 127.0.0.1:{port} ({args.workers} sync worker(s)); warming up")
        for phase in PHASES:
            run(phase, 2)
        for n in range(1, args.rounds + 1):
            results = {}
            for phase in PHASES:
                results[phase] = run(phase, args.duration)
            rounds.append(results)
            say(f"round {n}: " + ", ".join(
                f"{p} {r['rps']:.0f}/s p99 {r['p99_ms']:.0f} ms"
                + (f" errors {r['errors']}" if r["errors"] else "") for p, r in results.items()))
        if args.py_spy:
            workers = [p for p in api_load._tree(server.pid) if p != server.pid]
            raw = Path(tempfile.gettempdir()) / f"api_ratio_{os.getpid()}.txt"
            spy = _profile(workers[0] if workers else server.pid, args.duration, raw)
            if spy is not None:
                time.sleep(1)  # py-spy attaches
                run("create", args.duration)
                spy.wait(timeout=args.duration + 60)
                profile_lines = _breakdown(raw)
    finally:
        where.stop_app(app)
        if made and not args.keep_db:
            where.drop(WHERE)
            say(f"dropped {db}")

    def median(phase: str, key: str) -> float:
        return statistics.median(r[phase][key] for r in rounds)

    rps = {p: median(p, "rps") for p in PHASES}
    p99 = {p: median(p, "p99_ms") for p in PHASES}
    cpu = {p: median(p, "server_cpu_ms") for p in PHASES}
    pg = {p: median(p, "postgres_cpu_ms") for p in PHASES}
    print(f"machine: {os.cpu_count()} cores, load average {os.getloadavg()[0]:.2f} at the "
          f"end; {args.workers} sync gunicorn worker(s); concurrency {args.concurrency}; "
          f"{args.rounds} rounds of {args.duration:.0f} s per phase; {facts['orders']} orders")
    for phase in PHASES:
        per_round = " ".join(f"{r[phase]['rps']:.0f}" for r in rounds)
        print(f"{phase:6}: median {rps[phase]:.1f} req/s (rounds: {per_round}), p99 "
              f"{p99[phase]:.1f} ms; CPU per request: gunicorn {cpu[phase]:.2f} ms, "
              f"PostgreSQL {pg[phase]:.2f} ms")
    for name, q in queries.items():
        print(f"queries per {name}: {q['queries']} (HTTP {q['status']})")
        for statement in q["statements"]:
            print(f"    {statement}")
    for line in profile_lines:
        print(line)
    print(f"api_ratio floor_rps={rps['floor']:.1f} create_rps={rps['create']:.1f} "
          f"list_rps={rps['list']:.1f} create_vs_floor={rps['create'] / rps['floor']:.2f} "
          f"list_vs_floor={rps['list'] / rps['floor']:.2f} bare_rps={rps['bare']:.1f} "
          f"floor_vs_bare={rps['floor'] / rps['bare']:.2f} "
          f"create_p99_ms={p99['create']:.1f} list_p99_ms={p99['list']:.1f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--orders", type=int, default=20_000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--duration", type=float, default=8.0, help="seconds per phase")
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--workers", type=int, default=1, help="gunicorn worker processes")
    parser.add_argument("--py-spy", action="store_true",
                        help="profile the gunicorn worker during one more create phase")
    parser.add_argument("--keep-db", action="store_true")
    parser.add_argument("--recreate", action="store_true")
    args = parser.parse_args()
    if not (0 < args.duration <= 120 and 1 <= args.rounds <= 20
            and 1 <= args.concurrency <= 256):
        parser.error("duration in (0, 120] s, rounds in [1, 20], concurrency in [1, 256]")
    args.no_celery, args.no_redis, args.reuse = False, False, False
    orchestrate(args)


if __name__ == "__main__":
    main()
