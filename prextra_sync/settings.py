"""Settings for Prextra Sync, read from environment variables with embedded defaults.

Nothing set: SQLite under var/, an embedded Celery broker (kombu's SQLAlchemy transport on its own
SQLite file), the Graph emulator. Production: PREXTRA_ENV=production plus DATABASE_URL,
CELERY_BROKER_URL, REDIS_URL (cache and locks) and DJANGO_SECRET_KEY; see the README.
"""

from __future__ import annotations

from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured
from django.utils.translation import gettext_lazy as _

from .env import env_bool, env_int, env_list, env_offsets, env_secret, env_str

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(env_str("PREXTRA_VAR_DIR", str(BASE_DIR / "var"))).resolve()
VAR_DIR.mkdir(parents=True, exist_ok=True)

PREXTRA_ENV = env_str("PREXTRA_ENV", "development")
if PREXTRA_ENV not in {"development", "production"}:
    raise ImproperlyConfigured(f"PREXTRA_ENV must be development or production, not {PREXTRA_ENV!r}")
PRODUCTION = PREXTRA_ENV == "production"

DEBUG = env_bool("DJANGO_DEBUG", default=not PRODUCTION)
SECRET_KEY = env_secret("DJANGO_SECRET_KEY")
if not SECRET_KEY:
    if PRODUCTION:
        raise ImproperlyConfigured("DJANGO_SECRET_KEY (or DJANGO_SECRET_KEY_FILE) is required in production")
    # Development only: production refuses to start without a key.
    SECRET_KEY = "django-insecure-development-only-key-never-use-in-production-0123456789"  # nosec B105

# Key that encrypts secrets at rest (the Microsoft 365 client secret): a Fernet key.
PREXTRA_ENCRYPTION_KEY = env_secret("PREXTRA_ENCRYPTION_KEY")
if PRODUCTION and not PREXTRA_ENCRYPTION_KEY:
    raise ImproperlyConfigured("PREXTRA_ENCRYPTION_KEY (or PREXTRA_ENCRYPTION_KEY_FILE) is required in production")

ALLOWED_HOSTS = env_list("DJANGO_ALLOWED_HOSTS", [] if PRODUCTION else ["localhost", "127.0.0.1", "[::1]"])
CSRF_TRUSTED_ORIGINS = env_list("DJANGO_CSRF_TRUSTED_ORIGINS")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django_htmx",
    "django_tables2",
    "template_partials",
    "accounts",
    "crm",
    "exchange",
]
# The demo data and the benchmark (devtools/) exist in development and under the tests only.
if not PRODUCTION:
    INSTALLED_APPS.append("devtools")

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "prextra_sync.csp.ContentSecurityPolicyMiddleware",
    # Below the security headers (a 405 carries them too), before anything reads the request.
    "prextra_sync.request_checks.AllowedMethodsMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.auth.middleware.LoginRequiredMiddleware",
    "accounts.middleware.UserLanguageMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    # After the messages: it says why it ended a session (R2 « Expiration de la connexion », « Actif »).
    "accounts.middleware.SessionSecurityMiddleware",
    # A NUL in a parameter is a 400 before any view can hand it to PostgreSQL.
    "prextra_sync.request_checks.NullCharacterMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
]

ROOT_URLCONF = "prextra_sync.urls"
WSGI_APPLICATION = "prextra_sync.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            # {% partialdef %} everywhere without {% load %} (built into Django from 6.0).
            "builtins": ["template_partials.templatetags.partials"],
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "django.template.context_processors.i18n",
                "prextra_sync.menu.menu",
            ],
        },
    },
]

DATABASES = {
    "default": dj_database_url.parse(
        env_str("DATABASE_URL", f"sqlite:///{VAR_DIR / 'prextra.sqlite3'}"),
        conn_max_age=env_int("DATABASE_CONN_MAX_AGE", 60, minimum=0),
        conn_health_checks=True,
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # Several processes (web, worker, beat) share the file: wait for locks instead of failing.
    # WAL lets the pages read while the worker writes, and with synchronous=NORMAL a commit no
    # longer waits for the disk (a power cut can lose the last commits, never corrupt the file;
    # the sync then replays them from its last stored delta link).
    DATABASES["default"]["OPTIONS"] = {
        "timeout": 30,
        "transaction_mode": "IMMEDIATE",
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
    }
    DATABASES["default"]["CONN_MAX_AGE"] = 0

REDIS_URL = env_str("REDIS_URL")
if REDIS_URL:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL}}
else:
    # Shared by every process of the embedded set-up (web, worker, beat), unlike local memory.
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.db.DatabaseCache", "LOCATION": "prextra_cache"}}

AUTH_USER_MODEL = "accounts.User"
# Django's model back end, also refusing users whose expiry date has passed (R2), at sign-in and
# on every request of an open session.
AUTHENTICATION_BACKENDS = ["accounts.backends.UserBackend"]
AUTH_PASSWORD_VALIDATORS = [
    {
        "NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator",
        "OPTIONS": {"user_attributes": ("code", "name", "email")},
    },
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"

# Email: the one-time sign-in codes (R2 « Authentification par courriel »). In development each
# message is written as a file under var/mail/ (read the code there; it is never in a log); in
# production it goes out through SMTP. EMAIL_BACKEND overrides either (the tests use Django's
# local-memory outbox).
EMAIL_BACKEND = env_str(
    "EMAIL_BACKEND",
    "django.core.mail.backends.smtp.EmailBackend" if PRODUCTION else "django.core.mail.backends.filebased.EmailBackend",
)
EMAIL_FILE_PATH = env_str("EMAIL_FILE_PATH", str(VAR_DIR / "mail"))
EMAIL_HOST = env_str("EMAIL_HOST", "localhost")
EMAIL_PORT = env_int("EMAIL_PORT", 25, minimum=1)
EMAIL_HOST_USER = env_str("EMAIL_HOST_USER")
EMAIL_HOST_PASSWORD = env_secret("EMAIL_HOST_PASSWORD") or ""
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", False)
EMAIL_USE_SSL = env_bool("EMAIL_USE_SSL", False)
if EMAIL_USE_TLS and EMAIL_USE_SSL:
    raise ImproperlyConfigured("EMAIL_USE_TLS and EMAIL_USE_SSL cannot both be true")
EMAIL_TIMEOUT = env_int("EMAIL_TIMEOUT", 15, minimum=1)
DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL", "Prextra <prextra@localhost>")

LANGUAGE_CODE = "fr-ca"
LANGUAGES = [("fr-ca", _("Français")), ("en", _("English"))]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = "America/Toronto"
USE_I18N = True
USE_TZ = True
FIRST_DAY_OF_WEEK = 0  # Sunday, as in the customer's calendars
# jj/mm/aaaa on every screen, in both languages (prextra_sync/formats/).
FORMAT_MODULE_PATH = ["prextra_sync.formats"]

STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = VAR_DIR / "staticfiles"
STATIC_ROOT.mkdir(exist_ok=True)
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"
        if PRODUCTION
        else "django.contrib.staticfiles.storage.StaticFilesStorage"
    },
}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# Every table of the product renders with the Prextra look (templates/django_tables2/).
DJANGO_TABLES2_TEMPLATE = "django_tables2/prextra_table.html"

# How many reverse proxies stand in front of the app, each appending its peer to X-Forwarded-For
# (the deploy files' nginx: 1). The client's address is read through them, and only through them
# (prextra_sync/client_address.py); 0 trusts no forwarded header at all.
PREXTRA_TRUSTED_PROXY_HOPS = env_int("PREXTRA_TRUSTED_PROXY_HOPS", 0, minimum=0)

# Security. Production sits behind a TLS-terminating proxy: HTTPS-only cookies, HSTS, redirect.
SESSION_COOKIE_HTTPONLY = True
# No script reads the CSRF or language cookies (htmx sends the page's token: templates/base.html),
# so neither is readable by one either (bin/scan's cookieflags findings).
CSRF_COOKIE_HTTPONLY = True
LANGUAGE_COOKIE_HTTPONLY = True
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
if PRODUCTION:
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_SSL_REDIRECT = env_bool("DJANGO_SECURE_SSL_REDIRECT", True)
    SECURE_HSTS_SECONDS = env_int("DJANGO_HSTS_SECONDS", 31536000, minimum=0)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = env_bool("DJANGO_HSTS_PRELOAD", False)
if PREXTRA_TRUSTED_PROXY_HOPS:
    # Only a trusted proxy may say the visitor's connection was HTTPS (nginx sets the header, it
    # does not pass the visitor's on). X-Forwarded-Host stays ignored (USE_X_FORWARDED_HOST is
    # off): the proxy passes the Host header itself, checked against ALLOWED_HOSTS.
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SILENCED_SYSTEM_CHECKS = [] if env_bool("DJANGO_HSTS_PRELOAD", False) or not PRODUCTION else ["security.W021"]

# Microsoft 365 defaults offered for a new connection: the bundled Graph emulator in development,
# Microsoft's services in production. Each connection stores its own values (R1).
GRAPH_EMULATOR_PORT = env_int("PREXTRA_EMULATOR_PORT", 8443, minimum=1)
GRAPH_AUTHORITY_HOST = env_str(
    "GRAPH_AUTHORITY_HOST",
    "https://login.microsoftonline.com" if PRODUCTION else f"https://127.0.0.1:{GRAPH_EMULATOR_PORT}",
)
GRAPH_URL = env_str(
    "GRAPH_URL",
    "https://graph.microsoft.com/v1.0" if PRODUCTION else f"https://127.0.0.1:{GRAPH_EMULATOR_PORT}/v1.0",
)
GRAPH_CA_FILE = env_str("GRAPH_CA_FILE", "" if PRODUCTION else str(VAR_DIR / "emulator" / "ca.pem"))
# The outbound proxy to Microsoft 365 (token and Graph), e.g. http://proxy.example.com:3128; it wins
# over HTTPS_PROXY / HTTP_PROXY / NO_PROXY, which are honoured when it is empty.
PREXTRA_GRAPH_PROXY = env_str("PREXTRA_GRAPH_PROXY")

# Celery: embedded broker by default (kombu SQLAlchemy transport on its own SQLite file; see
# docs/recipes/celery-embedded.md), Redis in production through CELERY_BROKER_URL.
CELERY_BROKER_URL = env_str("CELERY_BROKER_URL") or f"sqla+sqlite:///{VAR_DIR / 'celery-broker.sqlite3'}"
CELERY_TASK_TIME_LIMIT = env_int("CELERY_TASK_TIME_LIMIT", 30 * 60, minimum=10)
CELERY_TASK_SOFT_TIME_LIMIT = CELERY_TASK_TIME_LIMIT - 5
if CELERY_BROKER_URL.startswith("sqla+"):
    # These options go straight to sqlalchemy.create_engine(): engine arguments only.
    CELERY_BROKER_TRANSPORT_OPTIONS = {"connect_args": {"timeout": 30}}
elif CELERY_BROKER_URL.startswith(("redis://", "rediss://")):
    # With late acks Redis redelivers a task still running after this: keep it above the limit.
    # The tasks a killed worker held come back once it has passed: each worker looks for them
    # every 10 s (kombu's unacked_restore_interval) and, with a throttle of 1, on every look
    # instead of every tenth (kombu 5.7's default, 100 s), for one Redis query per look.
    CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": CELERY_TASK_TIME_LIMIT * 2, "unacked_restore_throttle": 1}
CELERY_RESULT_BACKEND = env_str("CELERY_RESULT_BACKEND") or None
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_TASK_ALWAYS_EAGER = env_bool("CELERY_TASK_ALWAYS_EAGER", False)
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_BEAT_SCHEDULE_FILENAME = str(VAR_DIR / "celerybeat-schedule")
CELERY_TIMEZONE = TIME_ZONE
PREXTRA_HEARTBEAT_SECONDS = env_int("PREXTRA_HEARTBEAT_SECONDS", 60, minimum=1)
# R6: a change appears on the other side within about thirty seconds. A quiet poll costs one
# delta request per reading direction and no database write, so polling every 10 s keeps the
# p95 latency near 10 s for 1.2 % of a mailbox's Graph budget (docs/benchmarks.md, sizing).
PREXTRA_SYNC_INTERVAL = env_int("PREXTRA_SYNC_INTERVAL", 10, minimum=5)
# The ERP import (crm/erp/): the largest file the screen accepts (the command has no limit), and
# up to which size a file is previewed during the upload rather than in the worker.
PREXTRA_IMPORT_MAX_BYTES = env_int("PREXTRA_IMPORT_MAX_MB", 50, minimum=1) * 1024 * 1024
PREXTRA_IMPORT_INLINE_BYTES = 256 * 1024
# A sync that has not succeeded for this long while switched on is flagged in red.
PREXTRA_STALE_AFTER = env_int("PREXTRA_STALE_AFTER", 15 * 60, minimum=60)
# A quiet scheduled run (nothing changed) moves its "last sync" stamps at most this often, so an
# idle cycle writes nothing to the database; any run that changed something moves them at once.
PREXTRA_STAMP_REFRESH = env_int("PREXTRA_STAMP_REFRESH", 5 * 60, minimum=0)
if PREXTRA_STAMP_REFRESH >= PREXTRA_STALE_AFTER:
    # Otherwise a healthy quiet sync would look stopped on the status screen.
    raise ImproperlyConfigured("PREXTRA_STAMP_REFRESH must be shorter than PREXTRA_STALE_AFTER")
# Every this many seconds, a user's calendar pull also reads the whole window and compares it
# with the linked activities: it catches an Outlook deletion calendarView/delta never reported
# (microsoft-graph-docs issue 11728). One full round per user every 6 hours by default.
PREXTRA_RECONCILE_INTERVAL = env_int("PREXTRA_RECONCILE_INTERVAL", 6 * 3600, minimum=60)
# Change notifications (exchange/subscriptions.py): the product's address as Microsoft 365 reaches
# it, HTTPS only (e.g. https://prextra.example.com); Graph POSTs to its /exchange/notifications/.
# Empty: no subscription, every mailbox is polled every PREXTRA_SYNC_INTERVAL as before.
PREXTRA_PUBLIC_URL = env_str("PREXTRA_PUBLIC_URL").strip().rstrip("/")
if PREXTRA_PUBLIC_URL and not PREXTRA_PUBLIC_URL.lower().startswith("https://"):
    raise ImproperlyConfigured("PREXTRA_PUBLIC_URL must be an https:// address (Microsoft Graph refuses any other)")
# With healthy subscriptions a mailbox is still read every this many seconds (the safety poll: a
# lost notification costs at most this much latency); without, every PREXTRA_SYNC_INTERVAL.
PREXTRA_SAFETY_POLL = env_int("PREXTRA_SAFETY_POLL", 5 * 60, minimum=10)
# A notified sync looks again this many seconds after its first look, once per value ("3,20";
# empty: never). Graph's delta may show a change some time after its notification ("Expect varying
# delays ... Retry the @odata.deltaLink after some time": delta-query-overview, Processing delays):
# without a second look, such a change would wait for the safety poll.
PREXTRA_NOTIFIED_RECHECKS = env_offsets("PREXTRA_NOTIFIED_RECHECKS", [3, 20], maximum=PREXTRA_SAFETY_POLL)
CELERY_BEAT_SCHEDULE = {
    "every-sync-interval-enqueue-due-syncs": {
        "task": "exchange.tasks.enqueue_due_syncs",
        "schedule": float(PREXTRA_SYNC_INTERVAL),
        "options": {"expires": float(PREXTRA_SYNC_INTERVAL)},
    },
    "every-minute-maintain-subscriptions": {
        "task": "exchange.tasks.maintain_subscriptions",
        "schedule": 60.0,
        "options": {"expires": 60.0},
    },
    "every-minute-release-stuck-syncs": {
        "task": "exchange.tasks.release_stuck_syncs",
        "schedule": 60.0,
    },
    "every-minute-record-worker-heartbeat": {
        "task": "exchange.tasks.record_heartbeat",
        "schedule": float(PREXTRA_HEARTBEAT_SECONDS),
    },
    "every-hour-purge-delivered-broker-messages": {
        "task": "exchange.tasks.purge_delivered_broker_messages",
        "schedule": 3600.0,
    },
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env_str("PREXTRA_LOG_LEVEL", "INFO")},
    "loggers": {"django.db.backends": {"level": "WARNING"}},
}
