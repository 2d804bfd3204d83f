"""The benchmarks run on the database and Redis that DATABASE_URL and REDIS_URL name, say
which in their first line, and never drop a database they did not make (issue 18 #12:
they used hard-coded database names and Redis db 14)."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
from django.db import connection

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "bench"))
import where  # noqa: E402

pytestmark = pytest.mark.postgres


def _url(database: str) -> str:
    settings = connection.settings_dict
    return (f"postgres://{settings['USER'] or 'postgres'}@{settings['HOST'] or '127.0.0.1'}:"
            f"{settings['PORT'] or 5432}/{database}")


def test_the_environment_names_the_database_and_redis(monkeypatch, capsys):
    monkeypatch.setenv("DATABASE_URL", "postgres://bench:s3cret@db.example:6432/fieldops_x")
    monkeypatch.setenv("REDIS_URL", "redis://cache.example:6380/3")
    target = where.target("fieldops_bench_default")
    assert target.database == "fieldops_x"
    assert target.libpq("postgres") == "postgresql://bench:s3cret@db.example:6432/postgres"
    where.announce("sla_sweep", target)
    assert capsys.readouterr().out == (
        "sla_sweep: database postgres://bench:***@db.example:6432/fieldops_x, "
        "redis redis://cache.example:6380/3\n")
    monkeypatch.delenv("DATABASE_URL")
    monkeypatch.delenv("REDIS_URL")
    target = where.target("fieldops_bench_default")
    assert target.database == "fieldops_bench_default"
    assert target.redis_url == where.LOCAL_REDIS
    monkeypatch.setenv("DATABASE_URL", "sqlite:///var/x.sqlite3")
    with pytest.raises(SystemExit, match="PostgreSQL"):
        where.target("x")


def test_a_missing_database_is_made_and_dropped_and_a_full_one_is_refused():
    target = where.Target(_url(f"fieldops_bench_t{uuid.uuid4().hex[:8]}"),
                          "redis://127.0.0.1:6379/0")
    assert where.prepare(target) is True  # made here: the benchmark drops it at the end
    try:
        assert where.exists(target)
        assert where.prepare(target) is False  # exists, empty: used and kept
        import psycopg

        with psycopg.connect(target.libpq(), autocommit=True) as conn:
            conn.execute("CREATE TABLE precious (id int)")
        with pytest.raises(where.Refused, match="--recreate"):
            where.prepare(target)
        assert where.exists(target)
        assert where.prepare(target, recreate=True) is True
        with psycopg.connect(target.libpq(), autocommit=True) as conn:
            assert conn.execute("SELECT to_regclass('precious')").fetchone() == (None,)
    finally:
        where.drop(target)
    assert not where.exists(target)


@pytest.mark.django_db
@pytest.mark.parametrize("script", ["sla_sweep.py", "dashboard.py", "api_load.py",
                                    "quality.py", "console.py"])
def test_each_benchmark_names_its_database_first_and_leaves_a_full_one_alone(script):
    """Pointed at the test database (which holds the product's tables), every benchmark
    says so in its first line and refuses, instead of dropping it."""
    database = connection.settings_dict["NAME"]
    env = {**os.environ, "DATABASE_URL": _url(database), "REDIS_URL": "redis://127.0.0.1:6379/9"}
    result = subprocess.run([sys.executable, str(ROOT / "bench" / script)], env=env,
                            cwd=ROOT, capture_output=True, text=True, timeout=120)
    first = result.stdout.splitlines()[0]
    assert first == f"{script[:-3]}: database {_url(database)}, redis redis://127.0.0.1:6379/9"
    assert result.returncode != 0
    assert "--recreate" in result.stderr
    with connection.cursor() as cursor:
        cursor.execute("SELECT to_regclass('workorders_workorder')")
        assert cursor.fetchone()[0] is not None
