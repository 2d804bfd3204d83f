#!/usr/bin/env python3
"""Load benchmark of the call-centre API: create and filtered-list throughput and latency.

    .venv/bin/python bench/api_load.py [--orders 100000] [--duration 20] [--concurrency 8]
                                       [--workers 1] [--worker-class sync|gthread]
                                       [--threads 4] [--reuse] [--no-celery]

What it does, all on this machine (loopback only), bounded in time:
1. uses the PostgreSQL database ``DATABASE_URL`` names (default: a scratch one of its own
   on the local server; created, and dropped at the end unless ``--keep-db``; one that
   already holds tables is refused unless ``--recreate``, see ``bench/where.py``),
   migrates it and fills it with ``manage.py demo_data --orders N`` (bulk, realistic mix
   of states); with ``--reuse``, uses the database as already loaded and keeps it;
2. registers an API client with a high rate limit and issues it a token;
3. starts gunicorn (``--workers`` processes of ``--worker-class``, production settings, no
   access log, rate limits counted in Redis as in production: the Redis ``REDIS_URL``
   names, default redis://127.0.0.1:6379/0) and, as in production, a Celery worker and
   beat with that Redis as their broker, so the work an order event leaves for later (the dashboard
   figures, the SLA sweep, the outbox) runs during the measurement (``--no-celery``: not);
4. drives it from a separate process (``--drive``: a small asyncio HTTP/1.1 client that
   keeps connections open when the server allows it, as a call-centre's connection pool
   would; sync workers close every connection) at a fixed concurrency for a fixed time per
   phase: POST /work-orders/ (each with its own Idempotency-Key), then
   GET /work-orders/?state=…&area=…&page_size=20;
5. waits until the dashboard figures have caught up with the new orders (how long it took
   is reported), stops everything, drops the scratch database, and prints the figures, per
   worker process too, with the CPU time the gunicorn workers, PostgreSQL, Celery and the
   load generator used per request and the load average before each phase (the machine
   may be shared). The first line names the database and Redis; the last line is
   ``api_load orders=N create_rps=X create_p99_ms=Y list_rps=Z list_p99_ms=W``.

Not part of the test suite. Results for this machine are in docs/api.md.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import datetime as dt
import json
import os
import random
import signal
import socket
import statistics
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

ROOT = Path(__file__).resolve().parent.parent
PYTHON = sys.executable
sys.path.insert(0, str(Path(__file__).resolve().parent))
import where  # noqa: E402

WHERE = where.target(f"fieldops_bench_{os.getpid()}")
#: Hard ceiling on requests per phase, whatever the duration (the loop is bounded).
MAX_REQUESTS_PER_PHASE = 200_000


def say(message: str) -> None:
    print(f"api_load: {message}", file=sys.stderr, flush=True)


# --- The load generator (runs in its own process) -------------------------------------

class _Connection:
    """One HTTP/1.1 connection of a simulated client; reopened when the server closes it."""

    def __init__(self, host: str, port: int) -> None:
        self.host, self.port = host, port
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def request(self, method: str, path: str, headers: dict[str, str],
                      body: bytes = b"") -> int:
        if self.writer is None:
            self.reader, self.writer = await asyncio.open_connection(self.host, self.port)
        assert self.reader is not None
        head = [f"{method} {path} HTTP/1.1", f"Host: {self.host}:{self.port}",
                f"Content-Length: {len(body)}", *[f"{k}: {v}" for k, v in headers.items()]]
        self.writer.write(("\r\n".join(head) + "\r\n\r\n").encode() + body)
        try:
            status_line = await self.reader.readline()
            status = int(status_line.split()[1])
            length, close = None, False
            while True:
                line = await self.reader.readline()
                if line in (b"\r\n", b"\n", b""):
                    break
                name, _sep, value = line.decode("latin-1").partition(":")
                name, value = name.strip().lower(), value.strip().lower()
                if name == "content-length":
                    length = int(value)
                elif name == "connection" and value == "close":
                    close = True
            if length is None:
                await self.reader.read()
                close = True
            else:
                await self.reader.readexactly(length)
        except BaseException:
            self.close()
            raise
        if close:
            self.close()
        return status

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
        self.reader = self.writer = None


async def _request(host: str, port: int, method: str, path: str, headers: dict[str, str],
                   body: bytes = b"") -> int:
    connection = _Connection(host, port)
    try:
        return await connection.request(method, path, {**headers, "Connection": "close"},
                                        body)
    finally:
        connection.close()


async def _phase(args: argparse.Namespace, kind: str) -> dict[str, Any]:
    latencies: list[float] = []
    errors: dict[int, int] = {}
    deadline = time.monotonic() + args.duration
    auth = {"Authorization": f"Bearer {args.token}", "Accept-Language": "en"}
    # R3: the preferred day is today or later *in the service's time zone*.
    today = dt.datetime.now(ZoneInfo(os.environ.get("TIME_ZONE", "Asia/Shanghai"))).date()
    sent = 0

    def next_request() -> tuple[str, str, dict[str, str], bytes]:
        if kind == "create":
            # A new customer each time, as the call-centre's intake mostly is; half the
            # orders are repairs, which start two SLA timers at intake (R34).
            phone = f"139{random.randrange(10**8):08d}"
            order: dict[str, Any] = {
                "channel": "hotline", "kind": "install", "service": "broadband",
                "access_type": "ftth", "customer": {"name": f"压测客户{phone[-4:]}",
                                                    "phone": phone},
                "address": "北京市东城区压测路 1 号", "area": args.area,
                "preferred_day": today.isoformat(),
            }
            if random.random() < 0.5:
                order.update(kind="repair", symptoms="光猫 LOS 灯红，无法上网")
            body = json.dumps(order, ensure_ascii=False).encode()
            return ("POST", "/api/v1/work-orders/",
                    {**auth, "Content-Type": "application/json",
                     "Idempotency-Key": uuid.uuid4().hex}, body)
        if kind == "floor":  # authentication, rate limit, middleware and a small JSON answer
            return ("GET", "/api/v1/me/", auth, b"")
        if kind == "bare":  # bench/ratio_urls.py: DRF's own token authentication, nothing else
            return ("GET", "/bench/bare/",
                    {"Authorization": f"Token {args.bare_token}", "Accept-Language": "en"}, b"")
        return ("GET", f"/api/v1/work-orders/?state={args.state}&area={args.area}&page_size=20",
                auth, b"")

    async def user() -> None:
        nonlocal sent
        connection = _Connection(args.host, args.port)
        while time.monotonic() < deadline and sent < MAX_REQUESTS_PER_PHASE:
            sent += 1
            method, path, headers, body = next_request()
            start = time.perf_counter()
            try:
                status = await asyncio.wait_for(
                    connection.request(method, path, headers, body), timeout=30)
            except (TimeoutError, OSError, ValueError, IndexError,
                    asyncio.IncompleteReadError):
                connection.close()
                status = 0
            latencies.append(time.perf_counter() - start)
            if not 200 <= status < 300:
                errors[status] = errors.get(status, 0) + 1

    began = time.monotonic()
    cpu_began = time.process_time()
    await asyncio.gather(*(user() for _ in range(args.concurrency)))
    elapsed = time.monotonic() - began
    client_cpu = time.process_time() - cpu_began
    ok = len(latencies) - sum(errors.values())
    ordered = sorted(latencies)

    def pct(p: float) -> float:
        return ordered[min(len(ordered) - 1, int(p * len(ordered)))] * 1000 if ordered else 0.0

    return {"requests": len(latencies), "ok": ok, "errors": errors, "seconds": elapsed,
            "rps": ok / elapsed if elapsed else 0.0, "p50_ms": pct(0.50), "p99_ms": pct(0.99),
            "mean_ms": statistics.fmean(ordered) * 1000 if ordered else 0.0,
            "client_cpu_s": client_cpu}


def drive(args: argparse.Namespace) -> None:
    result = asyncio.run(_phase(args, args.phase))
    print(json.dumps(result))


# --- The orchestration ----------------------------------------------------------------------

def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _manage(env: dict[str, str], *argv: str, capture: bool = False) -> str:
    result = subprocess.run([PYTHON, "manage.py", *argv], cwd=ROOT, env=env, check=True,
                            text=True, capture_output=capture)
    return result.stdout if capture else ""


SETUP = """
import json
from django.db.models import Count
from workorders.models import WorkOrder
row = (WorkOrder.objects.filter(state="scheduled").values("area__code")
       .annotate(n=Count("id")).order_by("-n").first())
print(json.dumps({"area": row["area__code"], "state": "scheduled", "matching": row["n"],
                  "orders": WorkOrder.objects.count()}))
"""


def _wait_until_up(port: int, token: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            status = asyncio.run(_request("127.0.0.1", port, "GET", "/api/v1/me/",
                                          {"Authorization": f"Bearer {token}"}))
            if status == 200:
                return
        except OSError:
            pass
        time.sleep(0.5)
    raise RuntimeError("gunicorn did not answer within 60 s")


def _cpu_seconds(pids: list[int]) -> float:
    """User + system CPU time of these processes so far (Linux /proc)."""
    total = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += int(fields[11]) + int(fields[12])  # utime, stime
    return total / os.sysconf("SC_CLK_TCK")


def _tree(pid: int) -> list[int]:
    """``pid`` and its children."""
    pids = [pid]
    with contextlib.suppress(OSError):
        pids += [int(c) for c in
                 Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    return pids


def _server_pids(master: int, db: str, celery: list[int]) -> dict[str, list[int]]:
    """The gunicorn master and workers, the Celery processes, and the PostgreSQL backends
    serving ``db``."""
    pids: dict[str, list[int]] = {"gunicorn": _tree(master), "postgres": [],
                                  "celery": [p for pid in celery for p in _tree(pid)]}
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            cmdline = (proc / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if cmdline.startswith("postgres: ") and f" {db} " in cmdline:
            pids["postgres"].append(int(proc.name))
    return pids


def _run_phase(args: argparse.Namespace, phase: str, port: int, token: str, area: str,
               state: str, duration: float, master: int, db: str,
               celery: list[int]) -> dict[str, Any]:
    cmd = [PYTHON, str(Path(__file__).resolve()), "--drive", "--phase", phase,
           "--port", str(port), "--token", token, "--area", area, "--state", state,
           "--duration", str(duration), "--concurrency", str(args.concurrency),
           "--bare-token", getattr(args, "bare_token", None) or "-"]
    load = os.getloadavg()[0]
    pids = _server_pids(master, db, celery)
    before = {name: _cpu_seconds(p) for name, p in pids.items()}
    out = subprocess.run(cmd, check=True, capture_output=True, text=True,
                         timeout=duration + 120).stdout
    pids_after = _server_pids(master, db, celery)  # backends opened meanwhile count too
    after = {name: _cpu_seconds(p) for name, p in pids_after.items()}
    result = json.loads(out.strip().splitlines()[-1])
    requests = max(1, result["requests"])
    result["load_before"] = load
    result["server_cpu_ms"] = (after["gunicorn"] - before["gunicorn"]) / requests * 1000
    result["postgres_cpu_ms"] = (after["postgres"] - before["postgres"]) / requests * 1000
    result["celery_cpu_ms"] = (after["celery"] - before["celery"]) / requests * 1000
    result["client_cpu_ms"] = result["client_cpu_s"] / requests * 1000
    return result


def orchestrate(args: argparse.Namespace) -> None:
    db = WHERE.database
    env = {**os.environ,
           "DATABASE_URL": WHERE.database_url,
           "SECRET_KEY": "bench-only-secret-key-not-used-anywhere-else-0123456789",
           "DEBUG": "0", "SECURE_SSL_REDIRECT": "0", "ALLOWED_HOSTS": "127.0.0.1",
           "LOG_LEVEL": "ERROR", "PYTHONUNBUFFERED": "1",
           "CELERY_BROKER_URL": "memory://" if args.no_celery else WHERE.redis_url}
    if args.no_redis:
        env.pop("REDIS_URL", None)
    else:  # as in production: counters shared through Redis
        env["REDIS_URL"] = WHERE.redis_url
    server: subprocess.Popen[bytes] | None = None
    celery: list[subprocess.Popen[bytes]] = []
    caught_up_s: float | None = None
    where.announce("api_load", WHERE)
    if args.reuse and not where.exists(WHERE):
        raise SystemExit(f"--reuse: no database {db!r}; set DATABASE_URL to a loaded one.")
    scratch = not args.reuse
    made = scratch and where.prepare(WHERE, recreate=args.recreate)
    try:
        if scratch:
            _manage(env, "migrate", "--noinput", "-v", "0")
            say(f"loading {args.orders:,} orders (manage.py demo_data --orders {args.orders})")
            started = time.monotonic()
            _manage(env, "demo_data", "--orders", str(args.orders))
            say(f"loaded in {time.monotonic() - started:.0f} s")
        else:
            say(f"using the loaded database {db} (kept; migrated to the current code)")
            _manage(env, "migrate", "--noinput", "-v", "0")
        token = _manage(env, "api_client", f"bench-{os.getpid()}", "--rate", "100000000",
                        capture=True).strip().splitlines()[-1]
        facts = json.loads(_manage(env, "shell", "-c", SETUP, capture=True)
                           .strip().splitlines()[-1])
        say(f"data: {facts}")
        port = _free_port()
        server_cmd = [str(Path(PYTHON).parent / "gunicorn"), "fieldops.wsgi", "--bind",
                      f"127.0.0.1:{port}", "--workers", str(args.workers),
                      "--worker-class", args.worker_class, "--backlog", "2048",
                      "--log-level", "warning"]
        if args.worker_class == "gthread":
            server_cmd += ["--threads", str(args.threads)]
        server = subprocess.Popen(server_cmd, cwd=ROOT, env=env)
        if not args.no_celery:
            celery_bin = str(Path(PYTHON).parent / "celery")
            schedule = f"/tmp/api_load_beat_{os.getpid()}"
            celery = [
                subprocess.Popen([celery_bin, "-A", "fieldops", "worker", "-l", "warning",
                                  "--concurrency", "1"], cwd=ROOT, env=env),
                subprocess.Popen([celery_bin, "-A", "fieldops", "beat", "-l", "warning",
                                  "--schedule", schedule], cwd=ROOT, env=env)]
        _wait_until_up(port, token)
        say(f"gunicorn up on 127.0.0.1:{port} ({_server_desc(args)}); warming up")
        for phase in ("list", "create"):
            _run_phase(args, phase, port, token, facts["area"], facts["state"], 3,
                       server.pid, db, [c.pid for c in celery])
        results = {}
        for phase in ("create", "list"):
            say(f"{phase}: {args.concurrency} concurrent clients for {args.duration:.0f} s")
            results[phase] = _run_phase(args, phase, port, token, facts["area"],
                                        facts["state"], args.duration, server.pid, db,
                                        [c.pid for c in celery])
            say(f"{phase}: {json.dumps(results[phase])}")
        if not args.no_celery:
            caught_up_s = _wait_for_figures()
            say(f"dashboard figures caught up {caught_up_s:.1f} s after the last phase")
    finally:
        for process in celery:
            process.send_signal(signal.SIGTERM)
        for process in celery:
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
        if server is not None:
            server.send_signal(signal.SIGTERM)
            try:
                server.wait(timeout=30)
            except subprocess.TimeoutExpired:
                server.kill()
        if made and not args.keep_db:
            where.drop(WHERE)
            say(f"dropped {db}")
    c, ls = results["create"], results["list"]
    print(f"machine: {os.cpu_count()} cores; gunicorn {_server_desc(args)}; "
          f"concurrency {args.concurrency}; {args.duration:.0f} s per phase")
    for name, r in (("create", c), ("list", ls)):
        print(f"{name}: {r['ok']} ok, errors {r['errors']}, {r['rps']:.1f} req/s "
              f"({r['rps'] / args.workers:.1f} per worker), p50 {r['p50_ms']:.1f} ms, "
              f"p99 {r['p99_ms']:.1f} ms; CPU per request: gunicorn "
              f"{r['server_cpu_ms']:.2f} ms, PostgreSQL {r['postgres_cpu_ms']:.2f} ms, "
              f"Celery {r['celery_cpu_ms']:.2f} ms, load generator "
              f"{r['client_cpu_ms']:.2f} ms; load average before {r['load_before']:.2f}")
    if caught_up_s is not None:
        print(f"dashboard figures: every new order counted {caught_up_s:.1f} s after the "
              f"last phase ended")
    print(f"api_load orders={facts['orders']} create_rps={c['rps']:.1f} "
          f"create_p99_ms={c['p99_ms']:.1f} list_rps={ls['rps']:.1f} "
          f"list_p99_ms={ls['p99_ms']:.1f}")


def _wait_for_figures(timeout: float = 300) -> float:
    """Seconds until no order is left marked for the dashboard refresh (R39)."""
    import psycopg

    started = time.monotonic()
    with psycopg.connect(WHERE.libpq(), autocommit=True) as conn:
        while time.monotonic() - started < timeout:
            row = conn.execute("SELECT count(*) FROM dashboards_stalefact").fetchone()
            if row is not None and row[0] == 0:
                break
            time.sleep(0.2)
    return time.monotonic() - started


def _server_desc(args: argparse.Namespace) -> str:
    if args.worker_class == "gthread":
        return f"{args.workers} gthread workers x {args.threads} threads"
    return f"{args.workers} {args.worker_class} workers"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--orders", type=int, default=100_000)
    parser.add_argument("--duration", type=float, default=20.0, help="seconds per phase")
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--workers", type=int, default=1, help="gunicorn worker processes")
    parser.add_argument("--worker-class", choices=("sync", "gthread"), default="sync")
    parser.add_argument("--threads", type=int, default=4, help="threads per gthread worker")
    parser.add_argument("--reuse", action="store_true",
                        help="use the database DATABASE_URL names as already loaded (kept)")
    parser.add_argument("--keep-db", action="store_true",
                        help="do not drop the database it made")
    parser.add_argument("--recreate", action="store_true",
                        help="drop and refill the database DATABASE_URL names if it holds "
                             "tables")
    parser.add_argument("--no-redis", action="store_true",
                        help="rate-limit counters in process memory instead of REDIS_URL")
    # Internal: the load-generating process.
    parser.add_argument("--no-celery", action="store_true",
                        help="no Celery worker and beat (nothing drains the deferred work)")
    parser.add_argument("--drive", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--phase", choices=("create", "list", "floor", "bare"),
                        help=argparse.SUPPRESS)
    parser.add_argument("--bare-token", help=argparse.SUPPRESS)
    parser.add_argument("--host", default="127.0.0.1", help=argparse.SUPPRESS)
    parser.add_argument("--port", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--token", help=argparse.SUPPRESS)
    parser.add_argument("--area", help=argparse.SUPPRESS)
    parser.add_argument("--state", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.duration <= 0 or args.duration > 600 or not 1 <= args.concurrency <= 256:
        parser.error("duration must be in (0, 600] s and concurrency in [1, 256]")
    if args.drive:
        if args.host not in ("127.0.0.1", "localhost", "::1"):
            parser.error("the load generator only targets loopback")
        drive(args)
    else:
        orchestrate(args)


if __name__ == "__main__":
    main()
