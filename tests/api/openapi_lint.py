"""Redocly's OpenAPI linter for the committed schema, fetched with Python alone.

Redocly CLI is an npm package that ships as one bundled tarball with no dependencies, so
no npm is needed: ``npm.toml`` pins it with the registry's integrity hash, and
``fieldops.npm`` fetches it, checks the hash before unpacking anything, and unpacks it into
``var/npm/`` (the bootstrap does this for every pinned package); ``node`` runs it. Without a
recent enough ``node`` the lint is skipped on a developer's machine and fails in CI
(``FIELDOPS_REQUIRE_SERVICES=1`` or ``CI=true``); ``.ci/run`` installs Debian's nodejs.

To move to another version: ``python3 dev.py npm pin @redocly/cli@VERSION``.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from django.conf import settings

from fieldops import npm

PACKAGE = "@redocly/cli"
CONFIG = Path(settings.BASE_DIR) / "redocly.yaml"


def required() -> bool:
    return (os.environ.get("FIELDOPS_REQUIRE_SERVICES", "") in ("1", "true", "yes")
            or os.environ.get("CI", "") in ("1", "true", "yes"))


def _missing(why: str) -> None:
    if required():
        pytest.fail(f"Redocly's linter is required (CI) but {why}", pytrace=False)
    pytest.skip(f"Redocly's linter not available: {why}")


def _node() -> str:
    node = shutil.which("node") or shutil.which("nodejs")
    if node is None:
        _missing("node is not installed (apt-get install nodejs)")
    out = subprocess.run([node, "--version"], capture_output=True, text=True,  # type: ignore[list-item]
                         check=False).stdout
    found = re.match(r"v(\d+)\.(\d+)", out)
    version = (int(found[1]), int(found[2])) if found else (0, 0)
    if not (version >= (22, 12) or (version[0] == 20 and version >= (20, 19))):
        _missing(f"node {out.strip()} is older than Redocly CLI needs (20.19 or 22.12)")
    return node  # type: ignore[return-value]


def fetch() -> Path:
    """Redocly's CLI script, from the package npm.toml pins (fetched and verified once)."""
    package = npm.load(Path(settings.BASE_DIR))[PACKAGE]
    try:
        folder = npm.ensure(package, Path(settings.BASE_DIR))
    except npm.NpmError as exc:
        _missing(str(exc))
    return folder / "bin" / "cli.js"


def redocly_lint(document: Path, workdir: Path) -> subprocess.CompletedProcess[str]:
    """``redocly lint`` of ``document`` with the project's redocly.yaml."""
    node = _node()
    cli = fetch()
    env = {**os.environ, "REDOCLY_TELEMETRY": "off", "REDOCLY_SUPPRESS_UPDATE_NOTICE": "true",
           "NO_COLOR": "1", "HOME": str(workdir)}
    return subprocess.run(
        [node, str(cli), "lint", str(document), "--config", str(CONFIG), "--format", "stylish"],
        capture_output=True, text=True, cwd=workdir, env=env, timeout=300, check=False)
