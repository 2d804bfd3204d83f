"""The README's first command runs on the embedded default: SQLite, no Redis. Every other
test runs on PostgreSQL, so this one builds the demo office in a fresh SQLite database in
a subprocess (migrations included) and reads the console's pages' data from it: a query
only PostgreSQL understands (``DISTINCT ON``, say) fails here first."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

CHECK = """
from console.inbox import alerts_for
from django.contrib.auth import get_user_model
from planning.ranking import rank_candidates
from planning.selectors import map_data
from workorders.models import WorkOrder
data = map_data()
assert data["orders"] and data["technicians"], data
order = WorkOrder.objects.filter(state="accepted").first() or WorkOrder.objects.first()
assert rank_candidates(order)
list(alerts_for(get_user_model().objects.get(username="dispatcher")))
print("embedded ok")
"""


def test_the_demo_builds_and_the_console_reads_on_sqlite(tmp_path):
    env = {key: value for key, value in os.environ.items()
           if key not in ("DATABASE_URL", "REDIS_URL", "CELERY_BROKER_URL")}
    env.update(DEBUG="1", DATABASE_URL=f"sqlite:///{tmp_path / 'demo.sqlite3'}",
               DJANGO_SETTINGS_MODULE="fieldops.settings")
    manage = [sys.executable, str(ROOT / "manage.py")]
    for step in (["migrate", "-v0"], ["demo_data"], ["shell", "-c", CHECK]):
        done = subprocess.run([*manage, *step], cwd=ROOT, env=env, capture_output=True,
                              text=True, timeout=900)
        assert done.returncode == 0, f"{step[0]}: {done.stderr[-3000:]}"
    assert "embedded ok" in done.stdout
