"""PostgreSQL's JIT is off on the app's connections (fieldops/settings.py, POSTGRES_JIT):
on the scale data it spent 0.3-0.9 s compiling the dispatcher queue's query, which runs in
milliseconds without it (docs/console.md)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.db import connection

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.django_db
def test_the_app_connections_run_without_jit():
    if connection.vendor != "postgresql":
        pytest.skip("JIT is PostgreSQL's")
    with connection.cursor() as cursor:
        cursor.execute("SHOW jit")
        assert cursor.fetchone()[0] == "off"


def _options(**env: str) -> str:
    """The default database's connection options as the settings make them under ``env``."""
    script = ("import fieldops.settings as s; "
              "print(s.DATABASES['default'].get('OPTIONS', {}).get('options', ''))")
    base = {k: v for k, v in os.environ.items()
            if k not in ("POSTGRES_JIT", "PGBOUNCER_TRANSACTION_POOLING")}
    result = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True,
                            text=True, timeout=120,
                            env={**base, "DATABASE_URL": "postgres://u@127.0.0.1:5432/x",
                                 "DEBUG": "1", **env})
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()


def test_jit_is_off_unless_asked_for_and_left_alone_behind_pgbouncer():
    assert "-c jit=off" in _options()
    assert "jit" not in _options(POSTGRES_JIT="1")
    # PgBouncer does not pass connection options: the database's own setting is used
    assert "jit" not in _options(PGBOUNCER_TRANSACTION_POOLING="1")
