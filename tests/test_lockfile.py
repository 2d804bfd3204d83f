"""One lock file for every machine (issue 18 #10): ``uv.lock`` matches pyproject.toml, and
the environment the README's commands make holds exactly the versions it names (dev.py,
CI and the Docker image all install from it)."""

from __future__ import annotations

import re
import subprocess
import sys
import tomllib
from importlib import metadata
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
UV = Path(sys.executable).parent / "uv"


def _normal(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def test_the_lock_matches_pyproject():
    result = subprocess.run([str(UV), "lock", "--check", "--offline"], cwd=ROOT,
                            capture_output=True, text=True)
    assert result.returncode == 0, (result.stdout + result.stderr
                                    + "\nuv.lock is out of date: run `python3 dev.py lock`")


def test_the_environment_holds_exactly_the_locked_versions():
    # A package may be locked at several versions, one per Python (numpy for 3.11 and for
    # 3.12+, each entry with its own marker): the installed one must be one of them.
    locked: dict[str, set[str]] = {}
    for package in tomllib.loads((ROOT / "uv.lock").read_text())["package"]:
        locked.setdefault(_normal(package["name"]), set()).add(package["version"])
    installed = {_normal(d.metadata["Name"]): d.version for d in metadata.distributions()}
    differ = {name: (installed[name], sorted(versions)) for name, versions in locked.items()
              if name in installed and installed[name] not in versions}
    assert differ == {}, f"installed vs locked: {differ}"
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    wanted = [*project["dependencies"], *project["optional-dependencies"]["dev"]]
    names = {_normal(re.split(r"[\s\[<>=!~;]", spec, maxsplit=1)[0]) for spec in wanted}
    assert names <= set(installed), f"not installed: {names - set(installed)}"
    assert names <= set(locked), f"not locked: {names - set(locked)}"


def test_the_image_installs_the_lock_with_the_same_uv():
    dockerfile = (ROOT / "Dockerfile").read_text()
    pinned = re.search(r'^UV_VERSION = "([^"]+)"', (ROOT / "dev.py").read_text(), re.M)
    assert pinned is not None
    assert f"pip install uv=={pinned.group(1)}" in dockerfile
    assert "COPY pyproject.toml uv.lock ./" in dockerfile
    assert dockerfile.count("uv sync --locked") == 2
