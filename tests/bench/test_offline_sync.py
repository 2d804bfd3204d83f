"""``bench/offline_sync.py`` (issue 16's benchmark) runs tiny against the real app (gunicorn,
Celery, PostgreSQL, Redis): every queued step is applied, the resent ones have one effect,
and the last line has the shape the issue asks for."""

from __future__ import annotations

import io
import os
import re
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
from PIL import Image

from tests.bench.test_where import _url

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "bench"))
import offline_sync  # noqa: E402
import where  # noqa: E402

LAST = re.compile(r"offline_sync technicians=(\d+) steps=(\d+) sync_p95_s=\d+\.\d\d "
                  r"steps_per_s=\d+\.\d rejected=(\d+) duplicates=(\d+)")


def test_the_phones_photos_are_real_different_jpegs_of_about_100_kb():
    photos = offline_sync.Photos(seed=3)
    taken = [photos.take() for _ in range(3)]
    assert len(set(taken)) == 3
    for content in taken:
        assert 85_000 <= len(content) <= offline_sync.PHOTO_BYTES + 5_000
        image = Image.open(io.BytesIO(content))
        assert image.format == "JPEG" and image.size == (800, 600)


@pytest.mark.postgres
@pytest.mark.django_db
def test_a_tiny_run_applies_every_step_once():
    database = f"fieldops_bench_t{uuid.uuid4().hex[:8]}"
    redis = os.environ.get("REDIS_URL", where.LOCAL_REDIS)
    env = {**os.environ, "DATABASE_URL": _url(database), "REDIS_URL": redis}
    result = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "offline_sync.py"), "--technicians", "2",
         "--concurrency", "2", "--workers", "2", "--resend", "0.5"],
        env=env, cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    lines = result.stdout.splitlines()
    assert lines[0] == f"offline_sync: database {_url(database)}, redis {redis}"
    match = LAST.fullmatch(lines[-1])
    assert match, lines[-1]
    technicians, steps, rejected, duplicates = map(int, match.groups())
    # Two technicians, 12 queued steps each; none refused; resends answered "duplicate"
    # and left no second event or photo.
    assert (technicians, steps, rejected, duplicates) == (2, 24, 0, 0), result.stdout
    assert "24 applied, 24 events, 12 photos" in result.stdout
    assert not where.exists(where.Target(_url(database), redis))  # made here, dropped
