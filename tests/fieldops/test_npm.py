"""Front-end packages pinned in npm.toml (fieldops/npm.py): fetched with Python alone,
refused unless the tarball matches its pinned integrity, unpacked safely, once."""

from __future__ import annotations

import base64
import hashlib
import io
import json
import tarfile
from pathlib import Path

import pytest
from django.conf import settings

from fieldops import npm


def tarball(files: dict[str, bytes], *, extra: list[tarfile.TarInfo] | None = None) -> bytes:
    """An npm-style tarball: every file under package/."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        for name, data in files.items():
            info = tarfile.TarInfo(f"package/{name}")
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
        for info in extra or []:
            tar.addfile(info)
    return buffer.getvalue()


def integrity(data: bytes) -> str:
    return "sha512-" + base64.b64encode(hashlib.sha512(data).digest()).decode()


def pins(root: Path, text: str) -> None:
    (root / "npm.toml").write_text(text, encoding="utf-8")


DATA = tarball({"dist/pad.min.js": b"window.Pad = 1;", "package.json": b'{"name": "pad"}'})
PIN = f'[packages."pad"]\nversion = "1.2.3"\nintegrity = "{integrity(DATA)}"\nserve = "dist"\n'


def test_the_projects_pins_parse_and_name_real_integrities():
    packages = npm.load(settings.BASE_DIR)
    assert {"signature_pad", "@redocly/cli"} <= set(packages)
    for package in packages.values():
        assert package.integrity.startswith("sha512-")
    assert packages["signature_pad"].tarball("https://registry.npmjs.org") == \
        f"https://registry.npmjs.org/signature_pad/-/signature_pad-{packages['signature_pad'].version}.tgz"
    assert packages["@redocly/cli"].tarball("https://r.example") == \
        f"https://r.example/@redocly/cli/-/cli-{packages['@redocly/cli'].version}.tgz"


def test_a_verified_tarball_is_unpacked_once_and_served_under_vendor(tmp_path):
    pins(tmp_path, PIN)
    asked: list[str] = []

    def get(url: str) -> bytes:
        asked.append(url)
        return DATA

    package = npm.load(tmp_path)["pad"]
    folder = npm.ensure(package, tmp_path, get=get, say=lambda m: None)
    assert (folder / "dist" / "pad.min.js").read_bytes() == b"window.Pad = 1;"
    assert folder == tmp_path / "var" / "npm" / "pad" / "1.2.3"
    assert npm.ensure(package, tmp_path, get=get, say=lambda m: None) == folder
    assert len(asked) == 1  # already there: nothing fetched again
    assert npm.missing(tmp_path) == []
    assert npm.static_dirs(tmp_path) == [("vendor/pad", str(folder / "dist"))]


def test_a_tarball_that_does_not_match_its_integrity_is_refused_and_nothing_is_left(tmp_path):
    pins(tmp_path, PIN)
    package = npm.load(tmp_path)["pad"]
    tampered = tarball({"dist/pad.min.js": b"steal();"})
    with pytest.raises(npm.NpmError, match="does not match the integrity"):
        npm.ensure(package, tmp_path, get=lambda url: tampered, say=lambda m: None)
    assert not (tmp_path / "var" / "npm" / "pad").exists()
    assert npm.missing(tmp_path) == [package]


@pytest.mark.parametrize("member", ["../evil.js", "/etc/evil", "package/../../evil"])
def test_a_path_outside_the_package_refuses_the_whole_tarball(tmp_path, member):
    info = tarfile.TarInfo(member)
    info.size = 0
    data = tarball({"ok.js": b""}, extra=[info])
    with pytest.raises(npm.NpmError, match="outside"):
        npm.unpack(data, tmp_path / "out")
    assert not (tmp_path / "evil.js").exists()


def test_a_link_in_the_tarball_is_refused(tmp_path):
    link = tarfile.TarInfo("package/link")
    link.type = tarfile.SYMTYPE
    link.linkname = "/etc/passwd"
    with pytest.raises(npm.NpmError, match="link"):
        npm.unpack(tarball({}, extra=[link]), tmp_path / "out")


@pytest.mark.parametrize("text", [
    '[packages."Bad Name"]\nversion = "1.0.0"\nintegrity = "sha512-AAAA"\n',
    '[packages."pad"]\nversion = "^1.0"\nintegrity = "sha512-AAAA"\n',
    '[packages."pad"]\nversion = "1.0.0"\nintegrity = "md5-AAAA"\n',
    '[packages."pad"]\nversion = "1.0.0"\nintegrity = "sha512-AAAA"\nserve = "../.."\n',
    'not toml [',
])
def test_a_bad_pin_is_refused_with_what_is_wrong(tmp_path, text):
    pins(tmp_path, text)
    with pytest.raises(npm.NpmError, match=r"npm\.toml"):
        npm.load(tmp_path)


def test_pinning_reads_the_integrity_the_registry_publishes(tmp_path):
    pins(tmp_path, "# pins\n\n" + PIN)
    published = integrity(b"new")

    def registry(url: str) -> bytes:
        assert url.endswith("/pad/2.0.0")
        return json.dumps({"dist": {"integrity": published}}).encode()

    npm.pin("pad@2.0.0", tmp_path, get=registry)
    package = npm.load(tmp_path)["pad"]
    assert (package.version, package.integrity, package.serve) == ("2.0.0", published, "dist")
    assert (tmp_path / "npm.toml").read_text().startswith("# pins\n")
    with pytest.raises(npm.NpmError, match="exact version"):
        npm.pin("pad@latest", tmp_path, get=registry)


def test_the_system_check_says_how_to_fetch_a_missing_package(settings, tmp_path):
    from django.core.checks import run_checks

    pins(tmp_path, PIN)
    settings.BASE_DIR = tmp_path
    errors = [e for e in run_checks(tags=["staticfiles"]) if e.id == "fieldops.E001"]
    assert len(errors) == 1 and "pad 1.2.3" in errors[0].msg
    assert "python3 dev.py npm" in errors[0].hint
    npm.ensure(npm.load(tmp_path)["pad"], tmp_path, get=lambda url: DATA, say=lambda m: None)
    assert not [e for e in run_checks(tags=["staticfiles"]) if e.id == "fieldops.E001"]


def test_the_pinned_signature_pad_is_served_from_our_own_static_files(client):
    from django.contrib.staticfiles import finders

    assert finders.find("vendor/signature_pad/signature_pad.umd.min.js")
