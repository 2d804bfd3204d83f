"""Both catalogues (zh-Hans and English) are complete and up to date with the code."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from babel.messages.pofile import read_po
from django.conf import settings
from django.utils import translation

from tests.conftest import REQUIRE_SERVICES

LOCALES = ("zh_Hans", "en")
#: The one command that refreshes the catalogues (also in the README).
MAKEMESSAGES = ["makemessages", "-l", "zh_Hans", "-l", "en", "--ignore", ".venv/*",
                "--ignore", "var/*", "--ignore", "tests/*", "--ignore", "bench/*",
                "--no-location"]


def _catalog(locale: str, root: Path | None = None):
    path = (root or Path(settings.BASE_DIR)) / "locale" / locale / "LC_MESSAGES" / "django.po"
    with path.open("rb") as f:
        return read_po(f)


@pytest.mark.parametrize("locale", LOCALES)
def test_every_message_is_translated(locale):
    catalog = _catalog(locale)
    missing = [m.id for m in catalog if m.id and (not m.string or (
        isinstance(m.string, tuple) and not all(m.string)))]
    fuzzy = [m.id for m in catalog if m.id and m.fuzzy]
    assert not missing, f"untranslated in {locale}: {missing[:20]}"
    assert not fuzzy, f"fuzzy in {locale}: {fuzzy[:20]}"


def test_the_catalogues_hold_every_string_in_the_code(tmp_path):
    if not shutil.which("xgettext"):
        if REQUIRE_SERVICES:
            pytest.fail("GNU gettext (xgettext) is required to check the catalogues")
        pytest.skip("GNU gettext (xgettext) not installed")
    work = tmp_path / "tree"
    shutil.copytree(settings.BASE_DIR, work, ignore=shutil.ignore_patterns(
        ".venv", "var", ".git", "__pycache__", "*.mo", "test-artifacts", ".hypothesis"))
    subprocess.run([sys.executable, "manage.py", *MAKEMESSAGES], cwd=work, check=True,
                   capture_output=True, env={**__import__("os").environ, "DEBUG": "1"})
    for locale in LOCALES:
        fresh = {m.id for m in _catalog(locale, work) if m.id}
        committed = {m.id for m in _catalog(locale) if m.id}
        assert fresh == committed, (
            f"locale/{locale} is stale; run `python manage.py "
            f"{' '.join(MAKEMESSAGES)}` and translate. "
            f"New: {sorted(map(str, fresh - committed))[:10]} "
            f"gone: {sorted(map(str, committed - fresh))[:10]}")


def test_chinese_is_the_default_and_english_is_served_on_request(client, reference_data):
    from workorders.models import State

    assert settings.LANGUAGE_CODE == "zh-hans"
    with translation.override("zh-hans"):
        assert str(State.DISPATCHED.label) != "Dispatched"
    page = client.get("/admin/login/", HTTP_ACCEPT_LANGUAGE="en")
    assert page.status_code == 200 and 'lang="en"' in page.content.decode()
