"""Redocly's OpenAPI linter for the committed schema, fetched with Python alone.

Redocly CLI is an npm package that ships as one bundled tarball with no dependencies, so
no npm is needed: the pinned tarball comes from the npm registry, its integrity (the
registry's sha512) is checked before anything is unpacked, and ``node`` runs it. Without a
recent enough ``node`` the lint is skipped on a developer's machine and fails in CI
(``FIELDOPS_REQUIRE_SERVICES=1`` or ``CI=true``); ``.ci/run`` installs Debian's nodejs.

To move to another version: ``npm view @redocly/cli@VERSION dist.integrity``.
"""

from __future__ import annotations

import base64
import hashlib
import io
import os
import re
import shutil
import subprocess
import tarfile
import urllib.request
from pathlib import Path

import pytest
from django.conf import settings

VERSION = "2.77.0"
INTEGRITY = ("sha512-XUa4hURDWLPG9WukIXo+UBqa9VpeTndmLI5PHu9QDkwtwH990Jsgz9nl2m1pZjsWrKFPP7avn"
             "6etRxxDbuD2Bg==")
REGISTRY = os.environ.get("NPM_CONFIG_REGISTRY", "https://registry.npmjs.org").rstrip("/")
TARBALL = f"{REGISTRY}/@redocly/cli/-/cli-{VERSION}.tgz"
CACHE = Path(settings.BASE_DIR) / "var" / "tools" / f"redocly-cli-{VERSION}"
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
        _missing(f"node {out.strip()} is older than Redocly CLI {VERSION} needs (20.19 or 22.12)")
    return node  # type: ignore[return-value]


def verified(data: bytes, integrity: str = INTEGRITY) -> bool:
    """Subresource-integrity check, as npm does: ``sha512-<base64 digest>``."""
    algorithm, _, digest = integrity.partition("-")
    return base64.b64encode(hashlib.new(algorithm, data).digest()).decode() == digest


def fetch() -> Path:
    """The unpacked package (cached under var/tools/), fetched and verified once."""
    cli = CACHE / "package" / "bin" / "cli.js"
    if cli.exists():
        return cli
    try:
        with urllib.request.urlopen(TARBALL, timeout=120) as response:
            data = response.read()
    except OSError as exc:
        _missing(f"{TARBALL} could not be fetched: {exc}")
    if not verified(data):
        pytest.fail(f"{TARBALL} does not match its pinned integrity; refusing to run it",
                    pytrace=False)
    partial = CACHE.with_name(CACHE.name + ".partial")
    shutil.rmtree(partial, ignore_errors=True)
    partial.mkdir(parents=True)
    with tarfile.open(fileobj=io.BytesIO(data), mode="r:gz") as archive:
        archive.extractall(partial, filter="data")
    shutil.rmtree(CACHE, ignore_errors=True)
    partial.rename(CACHE)
    return cli


def redocly_lint(document: Path, workdir: Path) -> subprocess.CompletedProcess[str]:
    """``redocly lint`` of ``document`` with the project's redocly.yaml."""
    node = _node()
    cli = fetch()
    env = {**os.environ, "REDOCLY_TELEMETRY": "off", "REDOCLY_SUPPRESS_UPDATE_NOTICE": "true",
           "NO_COLOR": "1", "HOME": str(workdir)}
    return subprocess.run(
        [node, str(cli), "lint", str(document), "--config", str(CONFIG), "--format", "stylish"],
        capture_output=True, text=True, cwd=workdir, env=env, timeout=300, check=False)
