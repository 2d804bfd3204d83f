"""mypy (with django-stubs and djangorestframework-stubs) finds nothing in the apps."""

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ["fieldops", "workorders", "technicians", "appointments", "surveys", "inventory",
            "charges", "complaints", "outages",
            "visits", "sla", "notifications", "api", "dashboards", "planning", "assessment",
            "reports", "console", "fieldapp", "portal"]


def test_mypy_finds_nothing():
    result = subprocess.run([sys.executable, "-m", "mypy", *PACKAGES], cwd=ROOT,
                            capture_output=True, text=True, timeout=900)
    assert result.returncode == 0, result.stdout + result.stderr
