"""Front-end packages that exist only on npm, pinned in ``npm.toml`` and fetched with Python
alone (standard library only: ``dev.py`` loads this file before any virtualenv exists).

Each package is pinned to one version and the registry's integrity hash of its tarball
(``sha512-<base64>``, what ``npm view NAME@VERSION dist.integrity`` prints and what npm's
lock files record). ``ensure`` downloads the tarball, refuses it unless the hash matches,
then unpacks it (files and folders only, nothing outside the target) into
``var/npm/NAME/VERSION/`` through a partial folder renamed at the end, so an interrupted
fetch leaves nothing half-written. A package with ``serve`` has that folder of it served as
static files under ``vendor/NAME/`` (``static_dirs``; the settings add them).

    python3 dev.py npm                     # fetch and verify every pinned package
    python3 dev.py npm pin NAME@VERSION    # pin a version (reads its integrity from npm)
"""

from __future__ import annotations

import base64
import hashlib
import io
import json
import os
import re
import shutil
import tarfile
import tomllib
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

ROOT = Path(__file__).resolve().parent.parent
PINS = "npm.toml"
STORE = Path("var") / "npm"
#: A package name as npm allows it (scoped or not).
NAME = re.compile(r"^(@[a-z0-9][a-z0-9._-]*/)?[a-z0-9][a-z0-9._-]*$")
VERSION = re.compile(r"^[0-9]+\.[0-9]+\.[0-9]+(-[0-9A-Za-z.-]+)?$")
INTEGRITY = re.compile(r"^sha(256|384|512)-[A-Za-z0-9+/]+=*$")


class NpmError(Exception):
    """What went wrong, said so that the reader knows what to do."""


@dataclass(frozen=True)
class Package:
    name: str
    version: str
    integrity: str
    #: The folder of the package served under static ``vendor/NAME/`` ("" for tools).
    serve: str = ""

    def tarball(self, registry: str | None = None) -> str:
        base = (registry or registry_url()).rstrip("/")
        return f"{base}/{self.name}/-/{self.name.rsplit('/', 1)[-1]}-{self.version}.tgz"

    def folder(self, root: Path = ROOT) -> Path:
        return root / STORE / self.name / self.version

    @property
    def served_as(self) -> str:
        return "vendor/" + self.name.rsplit("/", 1)[-1]


def registry_url() -> str:
    return os.environ.get("NPM_CONFIG_REGISTRY", "https://registry.npmjs.org").rstrip("/")


def load(root: Path = ROOT) -> dict[str, Package]:
    """The pins of ``npm.toml``, checked: a bad name, version or integrity is refused."""
    path = root / PINS
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return {}
    except tomllib.TOMLDecodeError as exc:
        raise NpmError(f"{path}: {exc}") from None
    packages = {}
    for name, pin in data.get("packages", {}).items():
        package = Package(name=name, version=str(pin.get("version", "")),
                          integrity=str(pin.get("integrity", "")), serve=str(pin.get("serve", "")))
        problems = [what for what, ok in (
            ("name", NAME.match(name)), ("version", VERSION.match(package.version)),
            ("integrity (sha512-<base64>)", INTEGRITY.match(package.integrity)),
            ("serve (a folder inside the package)", _inside(package.serve)),
        ) if not ok]
        if problems:
            raise NpmError(f"{path}: package {name!r} has a bad {', '.join(problems)}")
        packages[name] = package
    return packages


def _inside(relative: str) -> bool:
    parts = PurePosixPath(relative).parts
    return not relative.startswith("/") and ".." not in parts and "\\" not in relative


def verified(data: bytes, integrity: str) -> bool:
    """Subresource integrity, as npm checks it: ``sha512-<base64 digest of the bytes>``."""
    algorithm, _, digest = integrity.partition("-")
    if algorithm not in ("sha256", "sha384", "sha512"):
        return False
    return base64.b64encode(hashlib.new(algorithm, data).digest()).decode() == digest


def unpack(data: bytes, target: Path) -> None:
    """Unpack an npm tarball into ``target`` (its ``package/`` folder becomes ``target``).
    Only plain files and folders; a member that would land outside ``target`` (an absolute
    path, ``..``), a link or a device refuses the whole tarball."""
    with tarfile.open(fileobj=io.BytesIO(data), mode="r:gz") as tar:
        members = tar.getmembers()
        for member in members:
            path = PurePosixPath(member.name)
            if member.name.startswith("/") or ".." in path.parts or not path.parts:
                raise NpmError(f"the tarball has a path outside its folder: {member.name!r}")
            if not (member.isfile() or member.isdir()):
                raise NpmError(f"the tarball has a link or a device: {member.name!r}")
        for member in members:
            parts = PurePosixPath(member.name).parts
            relative = Path(*parts[1:]) if len(parts) > 1 else None  # drop "package/"
            if relative is None:
                continue
            out = target / relative
            if member.isdir():
                out.mkdir(parents=True, exist_ok=True)
                continue
            out.parent.mkdir(parents=True, exist_ok=True)
            source = tar.extractfile(member)
            if source is None:  # pragma: no cover (isfile() members always have data)
                continue
            with source, out.open("wb") as sink:
                shutil.copyfileobj(source, sink)


def fetch(url: str, *, timeout: float = 120) -> bytes:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            return bytes(response.read())
    except OSError as exc:
        raise NpmError(f"{url} could not be fetched ({exc}); check the network or "
                       "NPM_CONFIG_REGISTRY, then run `python3 dev.py npm` again") from None


def ensure(package: Package, root: Path = ROOT, *,
           get: Callable[[str], bytes] = fetch, say: Callable[[str], None] = print) -> Path:
    """The unpacked package, fetched and verified once (nothing is fetched when present)."""
    folder = package.folder(root)
    if folder.is_dir():
        return folder
    url = package.tarball()
    say(f"fetching {package.name} {package.version} from {url} ...")
    data = get(url)
    if not verified(data, package.integrity):
        raise NpmError(f"{url} does not match the integrity npm.toml pins for {package.name} "
                       f"{package.version}; refusing to unpack it")
    partial = folder.with_name(folder.name + ".partial")
    shutil.rmtree(partial, ignore_errors=True)
    partial.mkdir(parents=True)
    try:
        unpack(data, partial)
    except (NpmError, tarfile.TarError, OSError):
        shutil.rmtree(partial, ignore_errors=True)
        raise
    partial.rename(folder)
    return folder


def ensure_all(root: Path = ROOT, *, say: Callable[[str], None] = print) -> list[Path]:
    return [ensure(package, root, say=say) for package in load(root).values()]


def missing(root: Path = ROOT) -> list[Package]:
    """Pinned packages not unpacked yet (``python3 dev.py npm`` fetches them)."""
    return [p for p in load(root).values() if not p.folder(root).is_dir()]


def static_dirs(root: Path = ROOT) -> list[tuple[str, str]]:
    """``STATICFILES_DIRS`` entries: each served package's folder under ``vendor/NAME/``
    (listed even before it is fetched; the system check says how to fetch it)."""
    return [(p.served_as, str(p.folder(root) / p.serve))
            for p in load(root).values() if p.serve]


def pin(spec: str, root: Path = ROOT, *, get: Callable[[str], bytes] = fetch) -> Package:
    """Pin ``NAME@VERSION`` in npm.toml with the integrity the registry publishes."""
    name, at, version = spec.rpartition("@")
    if not at or not name or not NAME.match(name) or not VERSION.match(version):
        raise NpmError(f"give NAME@VERSION with an exact version, e.g. signature_pad@5.1.4, "
                       f"not {spec!r}")
    meta = json.loads(get(f"{registry_url()}/{name}/{version}"))
    integrity = str(meta.get("dist", {}).get("integrity", ""))
    if not INTEGRITY.match(integrity):
        raise NpmError(f"the registry gives no sha512 integrity for {name}@{version}")
    packages = load(root)
    old = packages.get(name)
    packages[name] = Package(name, version, integrity, old.serve if old else "")
    write(packages, root)
    return packages[name]


def write(packages: dict[str, Package], root: Path = ROOT) -> None:
    path = root / PINS
    header = []
    if path.exists():  # keep the file's leading comment
        for line in path.read_text(encoding="utf-8").splitlines():
            if not line.startswith("#"):
                break
            header.append(line)
    lines = [*header, ""] if header else []
    for package in sorted(packages.values(), key=lambda p: p.name):
        lines += [f'[packages."{package.name}"]', f'version = "{package.version}"',
                  f'integrity = "{package.integrity}"']
        if package.serve:
            lines.append(f'serve = "{package.serve}"')
        lines.append("")
    path.write_text("\n".join(lines), encoding="utf-8")
