"""ruff (including the DJ and DTZ rules: no naive datetimes) stays clean."""

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def test_ruff_finds_nothing():
    ruff = shutil.which("ruff") or str(Path(sys.executable).parent / "ruff")
    if not Path(ruff).exists():
        pytest.fail("ruff is part of the dev extra; install it with pip install -e '.[dev]'")
    result = subprocess.run([ruff, "check", "."], cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def test_template_comments_close_on_their_own_line():
    # Django's {# ... #} comment is one line only: one spread over lines is shown to the
    # user as text (it was, on the technician's order page). Longer ones use {% comment %}.
    opened = []
    for template in sorted(ROOT.glob("**/templates/**/*.*")):
        if ".venv" in template.parts or not template.is_file():
            continue
        for number, line in enumerate(template.read_text(errors="replace").splitlines(), 1):
            if line.count("{#") > line.count("#}"):
                opened.append(f"{template.relative_to(ROOT)}:{number}")
    assert not opened, opened
