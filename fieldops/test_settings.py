"""Settings for the test suite: production settings with test-only secrets and no TLS."""

import os

os.environ.setdefault("SECRET_KEY", "test-only-secret-key-not-for-any-deployment-0123456789")
os.environ.setdefault("SECURE_SSL_REDIRECT", "0")

from .settings import *  # noqa: F403

STORAGES["staticfiles"] = {  # noqa: F405
    "BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"}
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]  # fast logins in tests
STATIC_ROOT.mkdir(parents=True, exist_ok=True)  # noqa: F405  (whitenoise warns otherwise)
SMS_BACKEND = "notifications.backends.LocmemSmsBackend"
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"

# A second alias, a test mirror of "default", so the dashboards' replica routing runs in
# tests (tests/dashboards/test_replica.py); the dashboards read "default" unless a test
# points DASHBOARDS_DATABASE at it.
if DATABASES["default"]["ENGINE"] != "django.db.backends.sqlite3" and "replica" not in DATABASES:  # noqa: F405
    DATABASES["replica"] = {**DATABASES["default"], "TEST": {"MIRROR": "default"}}  # noqa: F405

# A test left waiting for a row or table lock (a live-server thread's transaction that
# never ended, say) gets PostgreSQL's lock_timeout error after two minutes instead of
# waiting for ever; the tests that take locks on purpose wait seconds at most.
if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":  # noqa: F405
    _options = DATABASES["default"].setdefault("OPTIONS", {})  # noqa: F405
    _options["options"] = (_options.get("options", "") + " -c lock_timeout=120s").strip()
