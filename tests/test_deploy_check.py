"""Production settings pass Django's deployment checklist with no warning at all."""

import os
import secrets
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def test_check_deploy_passes_with_production_settings() -> None:
    env = dict(os.environ)
    # The test run's own settings put these in the environment; production has none of them.
    for name in ("DEBUG", "SECRET_KEY", "SECURE_SSL_REDIRECT", "SECURE_HSTS_SECONDS",
                 "ALLOWED_HOSTS", "CSRF_TRUSTED_ORIGINS"):
        env.pop(name, None)
    env.update({
        "DJANGO_SETTINGS_MODULE": "fieldops.settings",
        "DEBUG": "0",
        "SECRET_KEY": secrets.token_urlsafe(64),  # 86 random characters
        "ALLOWED_HOSTS": "fieldops.example.com",
    })
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=120,
    )
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    assert "WARNINGS" not in output and "?: (" not in output, output
    assert "System check identified no issues" in output, output


@pytest.mark.parametrize(("key", "why"), [
    ("", "not set"),
    ("CHANGE-ME-placeholder-secret-key-generate-a-real-one-0123456789", "placeholder"),
    ("django-insecure-fieldops-development-only-key-do-not-use-in-production", "placeholder"),
    ("short-but-random-9f8e7d", "too short"),
    ("a" * 60, "too short"),
])
def test_production_refuses_to_start_on_a_weak_secret_key(key: str, why: str) -> None:
    env = {k: v for k, v in os.environ.items() if k not in ("SECRET_KEY", "DEBUG")}
    env.update({"DJANGO_SETTINGS_MODULE": "fieldops.settings", "DEBUG": "0",
                "SECRET_KEY": key, "ALLOWED_HOSTS": "fieldops.example.com"})
    result = subprocess.run([sys.executable, "manage.py", "check"], cwd=ROOT, env=env,
                            capture_output=True, text=True, timeout=120)
    assert result.returncode != 0
    assert why in result.stderr and "secrets.token_urlsafe" in result.stderr, result.stderr


def test_the_shipped_configuration_carries_no_usable_key() -> None:
    # docker compose refuses to start until .env sets SECRET_KEY; .env.example leaves it empty.
    assert "SECRET_KEY=\n" in (ROOT / ".env.example").read_text()
    assert "${SECRET_KEY:?" in (ROOT / "docker-compose.yml").read_text()


def test_an_unknown_phone_region_stops_the_start_with_what_to_set() -> None:
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "fieldops.settings", "DEBUG": "1",
           "PHONE_REGION": "China"}
    result = subprocess.run([sys.executable, "manage.py", "check"], cwd=ROOT, env=env,
                            capture_output=True, text=True, timeout=120)
    assert result.returncode != 0
    assert "PHONE_REGION='CHINA'" in result.stderr and "ISO 3166" in result.stderr
