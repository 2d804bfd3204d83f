"""The architecture stays visible: imports point down the floors of docs/architecture.md.

``lint-imports`` checks the contracts in pyproject.toml ([tool.importlinter]): apps import
only from lower floors and apps on one floor do not import each other, function-local
imports included. A second test keeps the escape hatch small: an import inside a function
must say why in a comment."""

from __future__ import annotations

import ast
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
APPS = ("fieldops", "technicians", "notifications", "workorders", "appointments", "surveys",
        "inventory", "visits", "charges", "sla", "dashboards", "planning", "assessment", "api",
        "console", "fieldapp", "portal", "demo")
#: Function-local imports allowed in the product code outside ``AppConfig.ready()`` (each
#: one says why, next to it).
MAX_LOCAL_IMPORTS = 15


def test_imports_point_down_the_floors():
    linter = shutil.which("lint-imports") or str(Path(sys.executable).parent / "lint-imports")
    if not Path(linter).exists():
        pytest.fail("import-linter is part of the dev extra; pip install -e '.[dev]'")
    result = subprocess.run([linter, "--no-cache"], cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def _local_imports() -> list[tuple[str, int, bool]]:
    found = []
    for app in APPS:
        for path in sorted((ROOT / app).rglob("*.py")):
            if "migrations" in path.parts:
                continue
            lines = path.read_text().splitlines()
            for node in ast.walk(ast.parse("\n".join(lines))):
                if not isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                    continue
                for sub in ast.walk(node):
                    if isinstance(sub, ast.Import | ast.ImportFrom):
                        around = lines[max(sub.lineno - 4, 0):sub.end_lineno]
                        found.append((f"{path.relative_to(ROOT)}:{sub.lineno}", sub.lineno,
                                      any("#" in line for line in around)))
    return found


def test_imports_inside_functions_are_few_and_say_why():
    found = _local_imports()
    silent = [where for where, _line, commented in found if not commented]
    assert not silent, f"function-local imports without a comment saying why: {silent}"
    # An app's ``AppConfig.ready()`` importing its handlers is Django's own way to
    # subscribe once the registry is ready; the cap is for the other kind.
    others = [where for where, _l, _c in found if not where.split(":")[0].endswith("apps.py")]
    assert len(others) < MAX_LOCAL_IMPORTS, others
