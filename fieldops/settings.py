"""Settings, read from the environment (twelve-factor).

Without any environment the product runs embedded: SQLite in ``var/`` and a
filesystem Celery broker, so ``python dev.py run`` needs nothing but Python.
Set ``DATABASE_URL`` and ``CELERY_BROKER_URL`` to run on PostgreSQL and Redis.
See ``.env.example`` for every variable.
"""

from pathlib import Path
from typing import Any

import environ
import phonenumbers
from django.core.exceptions import ImproperlyConfigured
from django.utils.translation import gettext_lazy as _

from fieldops import npm

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(environ.Env().str("FIELDOPS_VAR_DIR", default=str(BASE_DIR / "var")))

env = environ.Env(
    DEBUG=(bool, False),
    ALLOWED_HOSTS=(list, ["localhost", "127.0.0.1", "[::1]"]),
    CSRF_TRUSTED_ORIGINS=(list, []),
    SECURE_SSL_REDIRECT=(bool, True),
    SECURE_HSTS_SECONDS=(int, 60 * 60 * 24 * 365),
)

DEBUG = env("DEBUG")
# The development key is refused outside DEBUG: production must set a real SECRET_KEY.
_DEV_SECRET = "django-insecure-fieldops-development-only-key-do-not-use-in-production"
#: Words of the placeholders shipped in .env.example and the docs: never a real key.
_PLACEHOLDER_MARKS = ("change-me", "changeme", "placeholder", "django-insecure")


def _refused_secret_key(key: str) -> str:
    """Why ``key`` can't sign production sessions and links, or "" when it can (the
    same floor as Django's security.W009: 50 characters, 5 distinct, no known text)."""
    if not key:
        return "SECRET_KEY is not set"
    if any(mark in key.lower() for mark in _PLACEHOLDER_MARKS):
        return "SECRET_KEY is a placeholder"
    if len(key) < 50 or len(set(key)) < 5:
        return "SECRET_KEY is too short (at least 50 characters, 5 different)"
    return ""


SECRET_KEY = env.str("SECRET_KEY", default=_DEV_SECRET if DEBUG else "")
if not DEBUG and (_why := _refused_secret_key(SECRET_KEY)):
    raise ImproperlyConfigured(
        f"{_why}. Make one with: python3 -c \"import secrets; "
        f"print(secrets.token_urlsafe(64))\" and set it as SECRET_KEY in the environment "
        f"(or .env for docker compose). DEBUG=1 runs with a development key.")

ALLOWED_HOSTS = env("ALLOWED_HOSTS")
CSRF_TRUSTED_ORIGINS = env("CSRF_TRUSTED_ORIGINS")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "fieldops",
    "technicians",
    "workorders",
    "appointments",
    "surveys",
    "inventory",
    "visits",
    "charges",
    "sla",
    "complaints",
    "quality",
    "notifications",
    "api",
    "dashboards",
    "planning",
    "assessment",
    "outages",
    "reports",  # the customer's copy of the signed report and its PDF (R26, R45-R48)
    # The faces: the dispatcher's desk, the technician's pages, the customer's link pages.
    "console",
    "fieldapp",
    "portal",
    # Demo office and benchmark data (manage.py demo_data).
    "demo",
    "chartkick.django",  # Chart.js and chartkick.js as our own static files (no CDN)
    "django_htmx",  # htmx as our own static file (the console's live pages)
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "fieldops.middleware.RefuseNulMiddleware",  # a NUL in a search: 400, not a 500
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # R52: where each request came from, as keyed hashes (fieldops/origin.py), and the
    # technician phone's device id cookie (fieldapp/device.py)
    "fieldops.origin.RequestOriginMiddleware",
    "fieldapp.device.DeviceCookieMiddleware",
]

ROOT_URLCONF = "fieldops.urls"
WSGI_APPLICATION = "fieldops.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "django.template.context_processors.i18n",
            ],
        },
    },
]

# --- Database -------------------------------------------------------------
DATABASES = {
    "default": env.db("DATABASE_URL", default=f"sqlite:///{VAR_DIR / 'fieldops.sqlite3'}"),
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # Web, worker and beat share one SQLite file in the embedded mode: WAL lets
    # readers run beside the writer, IMMEDIATE takes the write lock at BEGIN so
    # two writers queue instead of failing with "database is locked".
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {
            "timeout": 30,
            "transaction_mode": "IMMEDIATE",
            "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        }
    )
else:
    DATABASES["default"].setdefault("CONN_MAX_AGE", env.int("CONN_MAX_AGE", default=60))
    DATABASES["default"].setdefault("CONN_HEALTH_CHECKS", True)
    if env.bool("PGBOUNCER_TRANSACTION_POOLING", default=False):
        # Behind PgBouncer in transaction mode (docs/scaling.md): no cursor outlives its
        # transaction, and PgBouncer holds the server connections.
        DATABASES["default"]["DISABLE_SERVER_SIDE_CURSORS"] = True
        DATABASES["default"]["CONN_MAX_AGE"] = 0
# PostgreSQL's JIT compiles a query whose estimated cost is high, which costs 0.3-0.9 s of
# compiling on the queue's and the dashboards' queries over a million orders, far more than
# it saves on queries that run in milliseconds. Off on the app's connections unless
# POSTGRES_JIT is set; behind PgBouncer (which does not pass connection options) set it on
# the database instead: ALTER DATABASE fieldops SET jit = off (docs/scaling.md).
POSTGRES_JIT = env.bool("POSTGRES_JIT", default=False)


def _without_jit(database: dict[str, Any]) -> None:
    if POSTGRES_JIT or database["ENGINE"] == "django.db.backends.sqlite3" or env.bool(
            "PGBOUNCER_TRANSACTION_POOLING", default=False):
        return
    options = database.setdefault("OPTIONS", {})
    options["options"] = (options.get("options", "") + " -c jit=off").strip()


_without_jit(DATABASES["default"])
if DATABASES["default"]["ENGINE"] != "django.db.backends.sqlite3":
    # SQLite tests use an in-memory database; servers get a named one (override to run
    # two suites against one server at once).
    DATABASES["default"]["TEST"] = {
        "NAME": env.str("TEST_DATABASE_NAME", default="test_fieldops")}

# A PostgreSQL read replica for the supervisors' dashboards (docs/scaling.md): their pages
# and exports read there (fieldops.routers); every write and every other read stays on
# "default".
DATABASE_REPLICA_URL = env.str("DATABASE_REPLICA_URL", default="")
if DATABASE_REPLICA_URL:
    DATABASES["replica"] = env.db_url_config(DATABASE_REPLICA_URL)
    DATABASES["replica"].setdefault("CONN_MAX_AGE", env.int("CONN_MAX_AGE", default=60))
    DATABASES["replica"].setdefault("CONN_HEALTH_CHECKS", True)
    DATABASES["replica"]["TEST"] = {"MIRROR": "default"}
    _without_jit(DATABASES["replica"])
DASHBOARDS_DATABASE = "replica" if DATABASE_REPLICA_URL else "default"
DATABASE_ROUTERS = ["fieldops.routers.ReplicaRouter"]

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

# --- Cache (Redis when configured; used for rate limits and locks later) ---
REDIS_URL = env.str("REDIS_URL", default="")
if REDIS_URL:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache",
                          "LOCATION": REDIS_URL}}
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

# --- Internationalisation -------------------------------------------------
LANGUAGE_CODE = env.str("LANGUAGE_CODE", default="zh-hans")
LANGUAGES = [("zh-hans", _("Simplified Chinese")), ("en", _("English"))]
#: ISO dates first in every language's form input formats: ``<input type="date">`` takes
#: only ``2026-12-06`` (zh-Hans's own first format, ``2026/12/06``, was dropped).
FORMAT_MODULE_PATH = ["fieldops.formats"]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = env.str("TIME_ZONE", default="Asia/Shanghai")
# Numbers written without a country code are of this region (fieldops/phones.py).
PHONE_REGION = env.str("PHONE_REGION", default="CN").upper()
if PHONE_REGION not in phonenumbers.SUPPORTED_REGIONS:
    raise ImproperlyConfigured(
        f"PHONE_REGION={PHONE_REGION!r} is not a region libphonenumber knows: give a two-letter "
        "ISO 3166 code such as CN, HK or SG.")
USE_I18N = True
USE_TZ = True

# --- Static and media -----------------------------------------------------
STATIC_URL = "static/"
STATIC_ROOT = Path(env.str("STATIC_ROOT", default=str(VAR_DIR / "static")))
# Front-end packages pinned in npm.toml, served as vendor/NAME/ (fieldops/npm.py; the check
# fieldops.E001 says how to fetch one that is missing).
STATICFILES_DIRS = npm.static_dirs(BASE_DIR)
MEDIA_URL = "media/"
MEDIA_ROOT = Path(env.str("MEDIA_ROOT", default=str(VAR_DIR / "media")))
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "django.contrib.staticfiles.storage.StaticFilesStorage"
            if DEBUG
            else "whitenoise.storage.CompressedManifestStaticFilesStorage"
        )
    },
}

# --- Security (strict unless DEBUG; a TLS-terminating proxy is assumed) ----
SESSION_COOKIE_SECURE = not DEBUG
CSRF_COOKIE_SECURE = not DEBUG
SECURE_SSL_REDIRECT = env("SECURE_SSL_REDIRECT") and not DEBUG
SECURE_HSTS_SECONDS = 0 if DEBUG else env("SECURE_HSTS_SECONDS")
SECURE_HSTS_INCLUDE_SUBDOMAINS = not DEBUG
SECURE_HSTS_PRELOAD = not DEBUG
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_CONTENT_TYPE_NOSNIFF = True
X_FRAME_OPTIONS = "DENY"
SILENCED_SYSTEM_CHECKS: list[str] = []
if not env("SECURE_SSL_REDIRECT"):
    # Only for a production-like stack on a trusted local network without TLS
    # (docker compose on a laptop); the deploy check is told why.
    SILENCED_SYSTEM_CHECKS.append("security.W008")
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # The dashboards' covering indexes (INCLUDE columns) are a PostgreSQL speed-up; the
    # embedded SQLite mode keeps the plain index and needs no warning on every start.
    SILENCED_SYSTEM_CHECKS.append("models.W040")

LOGIN_URL = "admin:login"

# --- Celery ---------------------------------------------------------------
CELERY_BROKER_URL = env.str("CELERY_BROKER_URL", default="filesystem://")
if CELERY_BROKER_URL.startswith("filesystem://"):
    _broker_dir = VAR_DIR / "broker"
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(_broker_dir / "queue"),
        "data_folder_out": str(_broker_dir / "queue"),
        "processed_folder": str(_broker_dir / "processed"),
        # Exchange bindings (fanout for worker remote control). kombu's default is a
        # "control" folder relative to the current directory, so pin it under var/.
        "control_folder": str(_broker_dir / "control"),
        "store_processed": False,
    }
    # Any process may queue a task before a worker ever started: the folders must exist.
    for _folder in ("queue", "processed", "control"):
        (_broker_dir / _folder).mkdir(parents=True, exist_ok=True)
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TIMEZONE = TIME_ZONE
CELERY_BEAT_SCHEDULE_FILENAME = str(VAR_DIR / "celerybeat-schedule")
# Scale-out (docs/scaling.md): with CELERY_QUEUES_BY_KIND=1 each kind of work has its own
# queue, so a breach storm never waits behind a webhook backlog, and each queue gets its own
# workers (`celery -A fieldops worker -Q sla`). Off, every task uses the one default queue
# and any worker runs everything (the embedded mode, a single-machine stack).
QUEUES_BY_KIND = env.bool("CELERY_QUEUES_BY_KIND", default=False)
QUEUE_OF_TASKS = {
    "sla.tasks.*": "sla",
    "notifications.tasks.deliver_webhook": "webhooks",
    "notifications.tasks.*": "notifications",
    "dashboards.tasks.*": "facts",
}
if QUEUES_BY_KIND:
    CELERY_TASK_ROUTES = {name: {"queue": queue} for name, queue in QUEUE_OF_TASKS.items()}
# Periodic tasks; each is thin and safe to run twice (see fieldops/tasks.py).
CELERY_BEAT_SCHEDULE = {
    "heartbeat": {
        "task": "fieldops.tasks.heartbeat",
        "schedule": env.float("HEARTBEAT_SECONDS", default=30.0),
    },
}

# --- Dispatch planning (docs/console.md, "Ranked technicians") -------------------
# The geocoder (a dotted path): the demo one places addresses in the demo city offline;
# planning.geocoding.NominatimGeocoder asks NOMINATIM_URL after the order is saved.
GEOCODER = env.str("GEOCODER", default="planning.geocoding.DemoGeocoder")
# The line test (R48, docs/visit.md): a dotted path to a class reading the ONU's optical
# power and registration from the network; the demo one simulates it from the address.
LINE_TEST_BACKEND = env.str("LINE_TEST_BACKEND", default="visits.linetest.DemoLineTest")
NOMINATIM_URL = env.str("NOMINATIM_URL", default="https://nominatim.openstreetmap.org")
NOMINATIM_USER_AGENT = env.str("NOMINATIM_USER_AGENT", default="fieldops dispatch")
# The ranking's weights and figures (planning/ranking.py), as JSON; missing keys keep
# their defaults: {"weights": {"load": 10, "km": 2, "busy": 50, "promise": 100},
# "speed_kmh": 20, "unknown_km": 10, "position_max_age_hours": 12, "day": ["08:00", "20:00"]}
DISPATCH_RANKING = env.json("DISPATCH_RANKING", default={})
# The console's map (/admin/workorders/workorder/map/): the tile server (Leaflet's URL
# template) and the attribution its licence asks for. The page may load images from it
# (Content-Security-Policy img-src, below); without tiles the markers still draw.
MAP_TILE_URL = env.str("MAP_TILE_URL", default="https://tile.openstreetmap.org/{z}/{x}/{y}.png")
MAP_TILE_ATTRIBUTION = env.str("MAP_TILE_ATTRIBUTION",
                               default="© OpenStreetMap contributors")

# --- Notifications (outbox) ------------------------------------------------
# SMS: a gateway class with send(to=, text=, message_id=); the embedded default writes
# each message as a JSON line to var/sms.log. Email: Django's mail (EMAIL_URL).
SMS_BACKEND = env.str("SMS_BACKEND", default="notifications.backends.FileSmsBackend")
SMS_FILE_PATH = env.str("SMS_FILE_PATH", default=str(VAR_DIR / "sms.log"))
# The template gateways (notifications/backends/aliyun.py, tencent.py, docs/sms-gateways.md):
# an approved signature, and each SMS kind's approved template, as JSON:
# {"survey": {"template": "SMS_123", "params": ["number", "url"]}, ...}.
SMS_SIGN_NAME = env.str("SMS_SIGN_NAME", default="")
SMS_TEMPLATES = env.json("SMS_TEMPLATES", default={})
ALIYUN_SMS_ACCESS_KEY_ID = env.str("ALIYUN_SMS_ACCESS_KEY_ID", default="")
ALIYUN_SMS_ACCESS_KEY_SECRET = env.str("ALIYUN_SMS_ACCESS_KEY_SECRET", default="")
ALIYUN_SMS_ENDPOINT = env.str("ALIYUN_SMS_ENDPOINT", default="dysmsapi.aliyuncs.com")
TENCENT_SMS_SECRET_ID = env.str("TENCENT_SMS_SECRET_ID", default="")
TENCENT_SMS_SECRET_KEY = env.str("TENCENT_SMS_SECRET_KEY", default="")
TENCENT_SMS_SDK_APP_ID = env.str("TENCENT_SMS_SDK_APP_ID", default="")
TENCENT_SMS_REGION = env.str("TENCENT_SMS_REGION", default="ap-guangzhou")
TENCENT_SMS_ENDPOINT = env.str("TENCENT_SMS_ENDPOINT", default="sms.tencentcloudapi.com")
# Delivery receipts: the secret in the callback URL /sms/receipts/<gateway>/<token>/ (empty:
# no callback), and/or how often beat pulls them from the gateway (0: never).
SMS_RECEIPT_TOKEN = env.str("SMS_RECEIPT_TOKEN", default="")
SMS_RECEIPT_PULL_SECONDS = env.float("SMS_RECEIPT_PULL_SECONDS", default=0.0)
_email = env.email_url("EMAIL_URL", default="consolemail://")
EMAIL_BACKEND = _email["EMAIL_BACKEND"]
EMAIL_HOST = _email.get("EMAIL_HOST", "")
EMAIL_PORT = _email.get("EMAIL_PORT", 25)
EMAIL_HOST_USER = _email.get("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = _email.get("EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = _email.get("EMAIL_USE_TLS", False)
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="fieldops <noreply@localhost>")
CELERY_BEAT_SCHEDULE["sla-sweep"] = {
    "task": "sla.tasks.sweep_timers",
    "schedule": env.float("SLA_SWEEP_SECONDS", default=5.0),
}
# R50: the longest force-majeure range a declaration may cover (hours).
SLA_EXEMPTION_MAX_HOURS = env.int("SLA_EXEMPTION_MAX_HOURS", default=72)
CELERY_BEAT_SCHEDULE["sla-exempt-late-breaches"] = {
    "task": "sla.tasks.exempt_late_breaches",
    "schedule": env.float("SLA_EXEMPTION_SECONDS", default=60.0),
}
# R54: the outages' repair promise and the customers who did not answer after a repair.
CELERY_BEAT_SCHEDULE["outages-sweep"] = {
    "task": "outages.tasks.sweep_outages",
    "schedule": env.float("OUTAGE_SWEEP_SECONDS", default=60.0),
}
# R51: complaint deadlines (warn, breach, escalate), swept like the SLA timers.
CELERY_BEAT_SCHEDULE["complaints-sweep"] = {
    "task": "complaints.tasks.sweep_deadlines",
    "schedule": env.float("COMPLAINT_SWEEP_SECONDS", default=30.0),
}
CELERY_BEAT_SCHEDULE["purge-idempotency-keys"] = {
    "task": "api.tasks.purge_idempotency_keys",
    "schedule": 3600.0,
}
CELERY_BEAT_SCHEDULE["flush-outbox"] = {
    "task": "notifications.tasks.flush_outbox",
    "schedule": env.float("OUTBOX_FLUSH_SECONDS", default=30.0),
}
if SMS_RECEIPT_PULL_SECONDS > 0:
    CELERY_BEAT_SCHEDULE["pull-sms-receipts"] = {
        "task": "notifications.tasks.pull_sms_receipts",
        "schedule": SMS_RECEIPT_PULL_SECONDS,
    }

# --- REST framework -------------------------------------------------------
# The call-centre API (api/, docs/api.md): client tokens or a staff session, strict JSON,
# per-client rate limits, problem+json errors, OpenAPI schema at /api/v1/schema/.
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "api.authentication.TokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_PARSER_CLASSES": ["api.parsers.JSONParser"],
    "DEFAULT_RENDERER_CLASSES": ["api.renderers.JSONRenderer"],  # DRF's JSON, by orjson
    "DEFAULT_THROTTLE_CLASSES": ["api.throttling.ClientRateThrottle"],
    "EXCEPTION_HANDLER": "api.errors.exception_handler",
    "DEFAULT_SCHEMA_CLASS": "api.schema.ApiAutoSchema",
    "TEST_REQUEST_DEFAULT_FORMAT": "json",
    "UNICODE_JSON": True,
}
SPECTACULAR_SETTINGS = {
    "TITLE": "fieldops call-centre API",
    "DESCRIPTION": "Intake, tracking and callbacks for telecom field-service work orders. "
                   "Errors are application/problem+json; see docs/api.md.",
    "VERSION": "1.0.0",
    "LICENSE": {"name": "MIT", "url": "https://opensource.org/license/mit"},
    # Relative: the API is served by each deployment's own host.
    "SERVERS": [{"url": "/", "description": "The host that serves this document."}],
    "SERVE_INCLUDE_SCHEMA": False,
    "SERVE_PERMISSIONS": ["rest_framework.permissions.AllowAny"],
    "SERVE_AUTHENTICATION": [],
    "SCHEMA_PATH_PREFIX": "/api/v1",
    "COMPONENT_SPLIT_REQUEST": True,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "ENUM_NAME_OVERRIDES": {"StateEnum": "workorders.models.State",
                            "WorkKindEnum": "workorders.models.Kind",
                            "FollowUpKindEnum": "surveys.models.FollowUpKind",
                            # R45, R46: the stock register's vocabularies.
                            "DeviceKindEnum": "inventory.models.DeviceKind",
                            "DeviceActionEnum": "inventory.models.MovementAction",
                            "DeviceOwnerEnum": "inventory.models.Owner",
                            "ActionEnum": "workorders.events.OrderAction",
                            "SourceEnum": "appointments.models.ChangeRequest.Source",
                            "ReadingSourceEnum": "visits.models.Source",
                            # R51: complaints' vocabularies.
                            "ChannelEnum": "workorders.models.Channel",
                            "ComplaintTierEnum": "complaints.models.Tier",
                            "ComplaintChannelEnum": "complaints.models.ComplaintChannel",
                            "ComplaintStatusEnum": "complaints.models.ComplaintStatus",
                            "ComplaintContactKindEnum": "complaints.models.ContactKind",
                            # R26: the sign-off's method keeps its name beside R52's.
                            "MethodEnum": "workorders.models.SignOffMethod",
                            # R50, R52: force majeure and inspections.
                            "ExemptionKindEnum": "sla.exemptions.ExemptionKind",
                            "ExemptionStateEnum": "sla.exemptions.ExemptionState",
                            "InspectionStatusEnum": "quality.models.InspectionStatus",
                            "InspectionReasonEnum": "quality.models.InspectionReason",
                            "InspectionMethodEnum": "quality.models.InspectionMethod"},
    "POSTPROCESSING_HOOKS": ["drf_spectacular.hooks.postprocess_schema_enums",
                             "api.schema.postprocess"],
}

# --- Logging --------------------------------------------------------------
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
    # Per-tick and per-task chatter of Celery stays out of the INFO log; fieldops.jobs
    # (fieldops/celery.py) says what each periodic job did. Errors still show.
    "loggers": {name: {"level": env.str("CELERY_CHATTER_LEVEL", default="WARNING")}
                for name in ("celery.beat", "celery.app.trace", "celery.worker.strategy")},
}

# --- Technician pages, uploads and customer links (appointments, R13-R19, R23, R26) ---
# The base of the links sent to customers by SMS (their signed appointment pages).
PUBLIC_URL = env.str("PUBLIC_URL", default="http://127.0.0.1:8000").rstrip("/")
CUSTOMER_LINK_MAX_AGE_HOURS = env.int("CUSTOMER_LINK_MAX_AGE_HOURS", default=72)
# The customer's copy of the signed report (reports.links): the document an inspector or a
# warranty claim asks for, so its link lives much longer than a booking's.
REPORT_LINK_MAX_AGE_DAYS = env.int("REPORT_LINK_MAX_AGE_DAYS", default=400)
# Photos (R17, R23): refused above this size or when not an image; stored resized.
PHOTO_MAX_UPLOAD_BYTES = env.int("PHOTO_MAX_UPLOAD_BYTES", default=12 * 1024 * 1024)
PHOTO_MAX_SIDE = env.int("PHOTO_MAX_SIDE", default=1600)
FILE_UPLOAD_MAX_MEMORY_SIZE = 4 * 1024 * 1024
DATA_UPLOAD_MAX_MEMORY_SIZE = 4 * 1024 * 1024  # a drawn signature travels as a data URL
# R26: require the SMS code (the strong form) on every sign-off, not only a drawing.
SIGN_OFF_REQUIRE_SMS_CODE = env.bool("SIGN_OFF_REQUIRE_SMS_CODE", default=False)
# Steps done offline and sent later (workorders.offline): the phone's time of a step is
# used when it is at most this many hours before its arrival, and not later than the
# arrival by more than this many seconds (the phones' clocks are corrected first).
FIELD_OFFLINE_MAX_AGE = env.int("FIELD_OFFLINE_MAX_AGE", default=24)
FIELD_OFFLINE_FUTURE_TOLERANCE = env.int("FIELD_OFFLINE_FUTURE_TOLERANCE", default=120)
# R46: an order's use of a material above this many times its kind's norm is flagged.
MATERIAL_NORM_FACTOR = env.float("MATERIAL_NORM_FACTOR", default=2.0)
# R47, docs/charges.md: the payment backend (a dotted path). The demo one's QR code opens
# the customer's signed payment page here; a provider's adapter (WeChat Pay, Alipay) has
# the same interface and verifies its callbacks' signatures. Generic signed callbacks to
# /pay/callback/ are HMAC-SHA256 under PAYMENT_CALLBACK_SECRET (empty: none trusted).
PAYMENT_BACKEND = env.str("PAYMENT_BACKEND", default="charges.payments.DemoPayments")
PAYMENT_CALLBACK_SECRET = env.str("PAYMENT_CALLBACK_SECRET", default="")
PAYMENT_PROVIDER_URL = env.str("PAYMENT_PROVIDER_URL", default="")
# Appointment promises (policy defaults from DOMAIN.md): R14 tolerance, R15 notice.
APPOINTMENT_LATE_AFTER_MINUTES = env.int("APPOINTMENT_LATE_AFTER_MINUTES", default=10)
APPOINTMENT_MOVE_NOTICE_MINUTES = env.int("APPOINTMENT_MOVE_NOTICE_MINUTES", default=120)
APPOINTMENT_MOVE_NOTICE_SAME_HALF_DAY_MINUTES = env.int(
    "APPOINTMENT_MOVE_NOTICE_SAME_HALF_DAY_MINUTES", default=30)
# R16: a booking nobody checked in to this long after its window is missed by us.
APPOINTMENT_MISSED_AFTER_MINUTES = env.int("APPOINTMENT_MISSED_AFTER_MINUTES", default=60)
CELERY_BEAT_SCHEDULE["parked-orders-resume"] = {  # R12
    "task": "appointments.tasks.resume_parked_orders",
    "schedule": env.float("PARKED_RESUME_SECONDS", default=600.0),
}
CELERY_BEAT_SCHEDULE["appointments-missed"] = {
    "task": "appointments.tasks.sweep_missed_appointments",
    "schedule": env.float("APPOINTMENT_SWEEP_SECONDS", default=300.0),
}
# --- Callback surveys and the rework loop (surveys, R29-R33) ---
# R29: no survey SMS inside these local hours ("HH:MM-HH:MM", may wrap midnight; empty: none).
SURVEY_QUIET_HOURS = env.str("SURVEY_QUIET_HOURS", default="21:00-08:00")
# R30: no answer this long after the SMS went out and the call-centre calls back.
SURVEY_CALLBACK_AFTER_HOURS = env.float("SURVEY_CALLBACK_AFTER_HOURS", default=24.0)
# How long a survey link works after its SMS went out.
SURVEY_LINK_MAX_AGE_HOURS = env.int("SURVEY_LINK_MAX_AGE_HOURS", default=72)
CELERY_BEAT_SCHEDULE["survey-callbacks"] = {
    "task": "surveys.tasks.open_due_callbacks",
    "schedule": env.float("SURVEY_CALLBACK_SWEEP_SECONDS", default=300.0),
}
# Photos and signatures go through Django's storage API: local files by default, an
# S3-compatible bucket when MEDIA_S3_BUCKET is set (pip install "fieldops[s3]").
if env.str("MEDIA_S3_BUCKET", default=""):
    _s3_storage: dict = {
        "BACKEND": "storages.backends.s3.S3Storage",
        "OPTIONS": {
            "bucket_name": env.str("MEDIA_S3_BUCKET"),
            "endpoint_url": env.str("MEDIA_S3_ENDPOINT_URL", default="") or None,
            "region_name": env.str("MEDIA_S3_REGION", default="") or None,
            "default_acl": "private",
            "querystring_auth": True,
            "file_overwrite": False,
        },
    }
    STORAGES["default"] = _s3_storage

# --- Supervisors' dashboards (R39) ---------------------------------------------------
# How often the "Now" panel asks the server for open breaches and orders at risk.
DASHBOARD_POLL_SECONDS = env.int("DASHBOARD_POLL_SECONDS", default=15)
# First-time fix: no repeat visit to the same account within this many days of completion.
DASHBOARD_FIRST_FIX_DAYS = env.int("DASHBOARD_FIRST_FIX_DAYS", default=7)
# Order events reach the compliance figures within this many seconds: every event marks
# its order, and this task recomputes the marked orders' facts in batches.
CELERY_BEAT_SCHEDULE["dashboard-facts"] = {
    "task": "dashboards.tasks.refresh_stale_facts",
    "schedule": env.float("DASHBOARD_REFRESH_SECONDS", default=5.0),
}
# Breaches recorded by the SLA sweep are marked for that refresh within this many seconds.
CELERY_BEAT_SCHEDULE["dashboard-breaches"] = {
    "task": "dashboards.tasks.catch_up_breaches",
    "schedule": env.float("DASHBOARD_BREACH_SECONDS", default=60.0),
}

# --- The assessment ledger (R53) ---
# The positive entries of the month that ended (safe to run again: once per technician).
CELERY_BEAT_SCHEDULE["assessment-close-month"] = {
    "task": "assessment.tasks.close_last_month",
    "schedule": env.float("ASSESSMENT_CLOSE_MONTH_SECONDS", default=86400.0),
}

# --- Quality inspection (R52) ---
# Each finished day's sample and suspicion signals (once per day; missed days caught up).
CELERY_BEAT_SCHEDULE["quality-sample"] = {
    "task": "quality.tasks.sample_due_days",
    "schedule": env.float("QUALITY_SAMPLE_SECONDS", default=3600.0),
}
# Where steps and survey answers came from (keyed hashes) is deleted once no comparison can
# need it: the widest survey-origin window plus the sampling lag (quality/retention.py).
CELERY_BEAT_SCHEDULE["quality-purge-request-origins"] = {
    "task": "quality.tasks.purge_request_origins",
    "schedule": env.float("QUALITY_ORIGIN_PURGE_SECONDS", default=3600.0),
}

# --- The dispatcher's console -------------------------------------------------------
# The queue page asks for its table again this often (a change shows within this time).
CONSOLE_REFRESH_SECONDS = env.int("CONSOLE_REFRESH_SECONDS", default=5)
#: The alerts inbox shows (and counts) the alerts of this many days.
ALERTS_INBOX_DAYS = env.int("ALERTS_INBOX_DAYS", default=7)
# The day board: travel drawn before each visit, a visit's length inside a window wider
# than it (a day, a half day), and the hours shown (a day booking starts at the first).
BOARD_TRAVEL_MINUTES = env.int("BOARD_TRAVEL_MINUTES", default=30)
BOARD_VISIT_MINUTES = env.int("BOARD_VISIT_MINUTES", default=60)
BOARD_FIRST_HOUR = env.int("BOARD_FIRST_HOUR", default=8)
BOARD_LAST_HOUR = env.int("BOARD_LAST_HOUR", default=20)

# Web Push to browsers (notifications.push): alerts reach staff with the page closed, and a
# technician hears of a new assignment. No keys: push is off. Make keys with
# ``python3 dev.py manage webpush_keys``.
WEBPUSH_VAPID_PRIVATE_KEY = env.str("WEBPUSH_VAPID_PRIVATE_KEY", default="")
WEBPUSH_VAPID_PUBLIC_KEY = env.str("WEBPUSH_VAPID_PUBLIC_KEY", default="")
WEBPUSH_SUBJECT = env.str("WEBPUSH_SUBJECT", default="mailto:ops@fieldops.example")
#: The push services a browser's subscription may name (the server posts there).
WEBPUSH_ALLOWED_HOSTS = env.list("WEBPUSH_ALLOWED_HOSTS", default=[
    "fcm.googleapis.com", "push.services.mozilla.com", "push.apple.com",
    "notify.windows.com"])
WEBPUSH_ALLOW_HTTP = env.bool("WEBPUSH_ALLOW_HTTP", default=False)
WEBPUSH_TTL = env.int("WEBPUSH_TTL", default=3600)
WEBPUSH_USE_ENV_PROXY = env.bool("WEBPUSH_USE_ENV_PROXY", default=False)

# --- Login throttling and Redis outages (fieldops/logins.py, docs/operations.md) ------------
# After LOGIN_FAILURE_LIMIT failed logins within LOGIN_COOLOFF_MINUTES, the user name and the
# address are each locked out until LOGIN_COOLOFF_MINUTES after the last failure (admin and
# technician logins; django-axes, counted in the database so a Redis outage changes nothing).
LOGIN_FAILURE_LIMIT = env.int("LOGIN_FAILURE_LIMIT", default=5)
LOGIN_COOLOFF_MINUTES = env.int("LOGIN_COOLOFF_MINUTES", default=15)
# Proxies in front that append to X-Forwarded-For (0: the peer address is the client's).
TRUSTED_PROXY_COUNT = env.int("TRUSTED_PROXY_COUNT", default=0)
# API keys are not passwords: bad keys from one address beyond this per minute get 429.
API_KEY_FAILURES_PER_MINUTE = env.int("API_KEY_FAILURES_PER_MINUTE", default=20)
for _name, _least in (("LOGIN_FAILURE_LIMIT", 1), ("LOGIN_COOLOFF_MINUTES", 1),
                      ("TRUSTED_PROXY_COUNT", 0), ("API_KEY_FAILURES_PER_MINUTE", 1)):
    if globals()[_name] < _least:
        raise ImproperlyConfigured(f"{_name} must be {_least} or more, not {globals()[_name]}")
INSTALLED_APPS.append("axes")
MIDDLEWARE.append("axes.middleware.AxesMiddleware")  # last: turns the failure into a lockout
# ModelBackend whose permission sets are shared through Redis (fieldops/permcache.py); a set
# is at most PERMISSIONS_CACHE_SECONDS old, and a change of roles reaches it at once.
AUTHENTICATION_BACKENDS = ["axes.backends.AxesStandaloneBackend",
                           "fieldops.permcache.CachedModelBackend"]
PERMISSIONS_CACHE_SECONDS = env.int("PERMISSIONS_CACHE_SECONDS", default=300)
AXES_FAILURE_LIMIT = "fieldops.logins.failure_limit"
AXES_COOLOFF_TIME = "fieldops.logins.cool_off"
AXES_LOCKOUT_PARAMETERS = ["username", "ip_address"]  # either one locks
AXES_RESET_COOL_OFF_ON_FAILURE_DURING_LOCKOUT = False  # the retry time shown stays true
AXES_LOCKOUT_CALLABLE = "fieldops.logins.lockout_response"
AXES_CLIENT_IP_CALLABLE = "fieldops.logins.client_address"
_loggers: dict = LOGGING["loggers"]  # type: ignore[assignment]
_loggers["axes"] = {"level": "WARNING"}  # fieldops.security says who, where and until when
if REDIS_URL:  # a dead Redis must answer fast: rate limits fall back to a local count
    # (api/throttling.py), /health/ says "degraded: redis", Celery jobs wait in the outbox.
    CACHES["default"]["OPTIONS"] = {"socket_connect_timeout": 1, "socket_timeout": 1}
CELERY_BEAT_SCHEDULE["flush-queued-tasks"] = {
    "task": "fieldops.tasks.flush_queued_tasks",
    "schedule": env.float("OUTBOX_FLUSH_SECONDS", default=30.0),
}

# --- Content-Security-Policy and session lifetimes (issue 18) --------------------------------
# The pages load nothing from elsewhere. Scripts: our own static files, or an inline script
# carrying the request's nonce ({{ request.csp_nonce }}); never 'unsafe-inline'. Styles may
# be inline (the admin's and Swagger UI's style attributes); images also as data: and blob:
# URLs (the drawn signature, photo previews).
from urllib.parse import urlsplit  # noqa: E402

from csp.constants import NONCE, NONE, SELF  # noqa: E402

INSTALLED_APPS.append("csp")
MIDDLEWARE.insert(MIDDLEWARE.index("django.middleware.security.SecurityMiddleware") + 1,
                  "csp.middleware.CSPMiddleware")
_context_processors: list[str] = TEMPLATES[0]["OPTIONS"]["context_processors"]  # type: ignore[index]
_context_processors.append("csp.context_processors.nonce")


def _tile_origin(url: str) -> list[str]:
    """The map's tile server as a CSP source: scheme and host, a ``{s}`` subdomain as *."""
    parts = urlsplit(url.replace("{s}", "*"))
    return [f"{parts.scheme}://{parts.netloc}"] if parts.scheme and parts.netloc else []


CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        # 'wasm-unsafe-eval': WebAssembly only (the barcode reader, R45), not eval().
        "script-src": [SELF, NONCE, "'wasm-unsafe-eval'"],
        "style-src": [SELF, "'unsafe-inline'"],
        "img-src": [SELF, "data:", "blob:", *_tile_origin(MAP_TILE_URL)],
        "font-src": [SELF, "data:"],
        "connect-src": [SELF],
        "worker-src": [SELF],
        "manifest-src": [SELF],
        "object-src": [NONE],
        "base-uri": [NONE],
        "form-action": [SELF],
        "frame-ancestors": [NONE],
    },
}
# Sessions end when idle and after a maximum age, sooner for staff (shared desks, customer
# data, R40) than for technicians (their own phone, a whole working day): fieldops/sessions.py.
SESSION_STAFF_IDLE_MINUTES = env.int("SESSION_STAFF_IDLE_MINUTES", default=30)
SESSION_STAFF_MAX_HOURS = env.int("SESSION_STAFF_MAX_HOURS", default=10)
SESSION_IDLE_MINUTES = env.int("SESSION_IDLE_MINUTES", default=12 * 60)
SESSION_MAX_HOURS = env.int("SESSION_MAX_HOURS", default=7 * 24)
SESSION_COOKIE_AGE = max(SESSION_STAFF_MAX_HOURS, SESSION_MAX_HOURS) * 3600
MIDDLEWARE.insert(
    MIDDLEWARE.index("django.contrib.auth.middleware.AuthenticationMiddleware") + 1,
    "fieldops.sessions.IdleTimeoutMiddleware")

# --- Untrusted input: image work, login landing (issue 18) ---------------------------
# Photos and signatures: at most this many pixels are ever decoded. A JPEG is scaled down
# while it is decoded (a phone's 48 MP photo decodes at 1/4 side); a PNG or WebP is decoded
# at full size, so a larger one is refused before decoding (a 150 KB PNG can say 48 MP).
IMAGE_MAX_PIXELS = env.int("IMAGE_MAX_PIXELS", default=12_000_000)
# Image decodes at once on each machine, across its web processes and workers (a lease each
# in Redis under the host name, fieldops/semaphores.py; per process while Redis is down);
# the others wait this long, then get a "try again" answer (503) instead of growing a
# process. A lease a killed process never gave back ends by itself after
# IMAGE_WORK_LEASE_SECONDS.
IMAGE_WORK_CONCURRENCY = env.int("IMAGE_WORK_CONCURRENCY", default=2)
IMAGE_WORK_WAIT_SECONDS = env.float("IMAGE_WORK_WAIT_SECONDS", default=20.0)
IMAGE_WORK_LEASE_SECONDS = env.float("IMAGE_WORK_LEASE_SECONDS", default=60.0)
# A login without ?next= lands on the office's desk, not Django's /accounts/profile/.
LOGIN_REDIRECT_URL = "admin:index"
