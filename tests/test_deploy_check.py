"""Production settings pass Django's deployment checklist with no warning at all."""

import os
import secrets
import subprocess
import sys
from pathlib import Path

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
