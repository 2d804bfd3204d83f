"""Where a benchmark runs: the PostgreSQL database named by ``DATABASE_URL`` and the Redis
named by ``REDIS_URL``, as for the product itself.

Unset, they are a scratch database of the benchmark's own name on the local server and
Redis database 0 on the local server. The database is created when it does not exist and
dropped again at the end (unless kept); an existing database that already holds tables is
never dropped unless the benchmark is told to (``--recreate``), so pointing a benchmark at
the product's own database is refused with the way out, not destroyed. Two copies of a
benchmark (the old and the new code side by side) are two ``DATABASE_URL``s.

Every benchmark's first line of output says which database and Redis it uses.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

LOCAL_SERVER = "postgres://postgres@127.0.0.1:5432/"
LOCAL_REDIS = "redis://127.0.0.1:6379/0"


def _without_password(url: str) -> str:
    parts = urlsplit(url)
    if parts.password is None:
        return url
    host = parts.hostname or ""
    netloc = f"{parts.username}:***@{host}" + (f":{parts.port}" if parts.port else "")
    return urlunsplit(parts._replace(netloc=netloc))


@dataclass(frozen=True)
class Target:
    database_url: str
    redis_url: str

    @property
    def database(self) -> str:
        return urlsplit(self.database_url).path.lstrip("/")

    def libpq(self, database: str | None = None) -> str:
        """A psycopg connection string for the target database (or another one on the
        same server, e.g. ``postgres`` to create or drop the target)."""
        parts = urlsplit(self.database_url)
        if database is not None:
            parts = parts._replace(path=f"/{database}")
        return urlunsplit(parts._replace(scheme="postgresql"))

    def describe(self) -> str:
        return (f"database {_without_password(self.database_url)}, "
                f"redis {_without_password(self.redis_url)}")


class Refused(SystemExit):
    """The named database holds tables and the benchmark was not told to replace it."""


def target(default_database: str) -> Target:
    """The database and Redis the environment names, or the local defaults."""
    url = os.environ.get("DATABASE_URL") or LOCAL_SERVER + default_database
    if urlsplit(url).scheme not in ("postgres", "postgresql", "pgsql"):
        raise SystemExit(f"Benchmarks run on PostgreSQL: DATABASE_URL is {url!r}; set it "
                         f"to postgres://user@host:port/scratch_database.")
    if not urlsplit(url).path.lstrip("/"):
        raise SystemExit(f"DATABASE_URL {url!r} names no database.")
    return Target(database_url=url, redis_url=os.environ.get("REDIS_URL") or LOCAL_REDIS)


def announce(bench: str, where: Target) -> None:
    """The first line of every benchmark's output."""
    print(f"{bench}: {where.describe()}", flush=True)


def _table_count(where: Target) -> int:
    import psycopg

    with psycopg.connect(where.libpq(), autocommit=True) as conn:
        row = conn.execute("SELECT count(*) FROM information_schema.tables "
                           "WHERE table_schema = 'public'").fetchone()
    return int(row[0]) if row else 0


def exists(where: Target) -> bool:
    import psycopg

    with psycopg.connect(where.libpq("postgres"), autocommit=True) as conn:
        return conn.execute("SELECT 1 FROM pg_database WHERE datname = %s",
                            [where.database]).fetchone() is not None


def prepare(where: Target, *, recreate: bool = False) -> bool:
    """An empty database to fill: created when missing (returns True: the benchmark made
    it and drops it at the end); an existing empty one is used and kept (False); an
    existing one holding tables is dropped and created again with ``recreate``, and
    refused otherwise."""
    import psycopg
    from psycopg import sql

    name = where.database
    if exists(where):
        tables = _table_count(where)
        if tables == 0:
            return False
        if not recreate:
            raise Refused(
                f"The database {name!r} (DATABASE_URL) already holds {tables} tables. Point "
                f"DATABASE_URL at a scratch database, or pass --recreate to drop {name!r} "
                f"and fill it again.")
    with psycopg.connect(where.libpq("postgres"), autocommit=True) as conn:
        quoted = sql.Identifier(name)
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(quoted))
        conn.execute(sql.SQL("CREATE DATABASE {}").format(quoted))
    return True


def drop(where: Target) -> None:
    import psycopg
    from psycopg import sql

    with psycopg.connect(where.libpq("postgres"), autocommit=True) as conn:
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)")
                     .format(sql.Identifier(where.database)))


# --- What the scale benchmarks share: their environment, manage.py, the load, timing ------

ROOT = Path(__file__).resolve().parent.parent


def say(text: str) -> None:
    """Progress, on stderr: stdout carries only the figures."""
    print(text, file=sys.stderr, flush=True)


def bench_env(where: Target) -> dict[str, str]:
    """The environment of ``manage.py`` and of the measured process: the target's database
    and Redis (anything queued while loading goes to that Redis too)."""
    return {
        **os.environ,
        "DATABASE_URL": where.database_url,
        "REDIS_URL": where.redis_url,
        "DJANGO_SETTINGS_MODULE": "fieldops.test_settings",
        "SECRET_KEY": "bench-only-key-0123456789-abcdefghijklmnopqrstuvwxyz",
        "SECURE_SSL_REDIRECT": "0",
        "ALLOWED_HOSTS": "testserver,localhost,127.0.0.1",
        "CONN_MAX_AGE": "0",
        "LANGUAGE_CODE": "zh-hans",
        "CELERY_BROKER_URL": where.redis_url,
    }


def manage(env: dict[str, str], *args: str) -> None:
    subprocess.run([sys.executable, str(ROOT / "manage.py"), *args], cwd=ROOT, env=env,
                   check=True)


def populate(env: dict[str, str], orders: int, days: int, *extra: str) -> float:
    """Migrate and load the scale data (``demo_data --orders N --days D``); seconds taken."""
    started = time.perf_counter()
    manage(env, "migrate", "--verbosity", "0")
    manage(env, "demo_data", "--orders", str(orders), "--days", str(days), *extra)
    return time.perf_counter() - started


def timed(fn: Callable[[], Any], samples: int) -> tuple[float, float]:
    """Median and p95 of ``fn`` in milliseconds, after one warm-up call (the connection,
    the plans and the caches of the process)."""
    fn()
    values = []
    for _ in range(samples):
        t = time.perf_counter()
        fn()
        values.append((time.perf_counter() - t) * 1000)
    values.sort()
    return statistics.median(values), values[max(int(len(values) * 0.95) - 1, 0)]


def populated(env: dict[str, str], table: str, rows: int) -> bool:
    """``--reuse``: the database already holds at least ``rows`` rows in ``table``."""
    import psycopg  # the benchmark's own process; where.py itself loads without it

    url = env["DATABASE_URL"].replace("postgres://", "postgresql://")
    try:
        with psycopg.connect(url) as conn:
            row = conn.execute(f"SELECT count(*) FROM {table}").fetchone()
            return bool(row and row[0] >= rows)
    except psycopg.Error:
        return False


def add_scale_options(parser: Any) -> None:
    """The options every scale benchmark takes: reuse, keep or recreate the database, and
    the child process's own flag (Django set up on the bench database)."""
    parser.add_argument("--reuse", action="store_true",
                        help="keep the database of an earlier run if it has the orders")
    parser.add_argument("--keep", action="store_true", help="keep the database it made")
    parser.add_argument("--recreate", action="store_true",
                        help="drop and refill the database DATABASE_URL names if it holds "
                             "tables")
    parser.add_argument("--measure-only", action="store_true", help=argparse.SUPPRESS)


def load(env: dict[str, str], where: Target, args: Any, table: str, *extra: str) -> bool:
    """Fill the database with ``args.orders`` orders unless ``--reuse`` finds them in
    ``table``; whether this run made the database (to drop it at the end)."""
    if args.reuse and populated(env, table, args.orders):
        manage(env, "migrate", "--verbosity", "0")
        return False
    made = prepare(where, recreate=args.recreate or args.reuse)
    say(f"loading {args.orders:,} orders over {args.days} days ...")
    say(f"loaded in {populate(env, args.orders, args.days, *extra):.0f} s")
    return made


# --- The app as in production: gunicorn, a Celery worker and beat (api_ratio, offline_sync) -

def app_env(where: Target, *, settings: str = "fieldops.settings",
            path: tuple[str, ...] = ()) -> dict[str, str]:
    """The environment of the served app: production settings (``DEBUG=0``, no access log)
    on the target's database and Redis; ``path`` is prepended to ``PYTHONPATH`` (a
    benchmark's own settings module)."""
    return {**os.environ,
            "DATABASE_URL": where.database_url, "REDIS_URL": where.redis_url,
            "CELERY_BROKER_URL": where.redis_url,
            "DJANGO_SETTINGS_MODULE": settings,
            "PYTHONPATH": os.pathsep.join([*path, str(ROOT)]),
            "SECRET_KEY": "bench-only-secret-key-not-used-anywhere-else-0123456789",
            "DEBUG": "0", "SECURE_SSL_REDIRECT": "0", "ALLOWED_HOSTS": "127.0.0.1",
            "LOG_LEVEL": "ERROR", "PYTHONUNBUFFERED": "1"}


def start_app(env: dict[str, str], port: int, workers: int,
              tag: str) -> list[subprocess.Popen[bytes]]:
    """gunicorn (``workers`` sync workers) on ``127.0.0.1:port``, a Celery worker and beat
    beside it; the gunicorn master first. Stop them with ``stop_app``."""
    import tempfile

    bin_dir = Path(sys.executable).parent
    schedule = Path(tempfile.mkdtemp(prefix=f"{tag}_beat_")) / "schedule"
    server = subprocess.Popen(
        [str(bin_dir / "gunicorn"), "fieldops.wsgi", "--bind", f"127.0.0.1:{port}",
         "--workers", str(workers), "--worker-class", "sync", "--backlog", "2048",
         "--log-level", "warning"], cwd=ROOT, env=env)
    celery = str(bin_dir / "celery")
    return [server,
            subprocess.Popen([celery, "-A", "fieldops", "worker", "-l", "warning",
                              "--concurrency", "1"], cwd=ROOT, env=env),
            subprocess.Popen([celery, "-A", "fieldops", "beat", "-l", "warning",
                              "--schedule", str(schedule)], cwd=ROOT, env=env)]


def stop_app(processes: list[subprocess.Popen[bytes]]) -> None:
    """SIGTERM to each, then wait (killed after 30 s); beat's schedule is removed."""
    import shutil
    import signal

    for process in processes:
        process.send_signal(signal.SIGTERM)
    for process in processes:
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
        argv = [str(a) for a in process.args] if isinstance(process.args, list) else []
        if "--schedule" in argv:
            shutil.rmtree(Path(argv[argv.index("--schedule") + 1]).parent, ignore_errors=True)
