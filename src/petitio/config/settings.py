"""Every setting, read from the environment in one place.

The embedded default (no environment at all) runs on SQLite with the console
email backend and no Redis, so one command starts the site on a fresh machine.
A deployment sets ``PETITIO_ENV=production``, which refuses to start without
the secret settings.
"""

from __future__ import annotations

import os
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent
PROJECT_DIR = Path(os.environ.get("PETITIO_HOME", Path.cwd()))
VAR_DIR = Path(os.environ.get("PETITIO_VAR_DIR", PROJECT_DIR / "var"))


def env_bool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def env_list(name: str, default: str) -> list[str]:
    return [item.strip() for item in os.environ.get(name, default).split(",") if item.strip()]


PRODUCTION = os.environ.get("PETITIO_ENV", "embedded") == "production"

SECRET_KEY = os.environ.get("SECRET_KEY", "")
if not SECRET_KEY:
    if PRODUCTION:
        raise ImproperlyConfigured("SECRET_KEY must be set when PETITIO_ENV=production.")
    SECRET_KEY = "embedded-mode-only-not-secret"  # noqa: S105 - refused in production above

DEBUG = env_bool("DEBUG", False)
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", "localhost,127.0.0.1,[::1],testserver")
SITE_URL = os.environ.get("SITE_URL", "http://127.0.0.1:8000").rstrip("/")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "django_countries",
    "django_otp",
    "django_otp.plugins.otp_totp",
    "csp",
    "petitio.authorities",
    "petitio.petitions",
    "petitio.signatures",
    "petitio.responses",
    "petitio.moderation",
    "petitio.notifications",
    "petitio.api",
    "ninja",
]

MIDDLEWARE = [
    "petitio.config.observability.RequestLogMiddleware",
    "petitio.config.routers.ReadOnlyRequestsUseReplica",
    "django.middleware.security.SecurityMiddleware",
    "petitio.config.middleware.ContentSecurityPolicyMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "petitio.config.middleware.DatabaseUnavailableMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django_otp.middleware.OTPMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "petitio.config.urls"
WSGI_APPLICATION = "petitio.config.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "config" / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

_sqlite_path = VAR_DIR / "petitio.sqlite3"
DATABASES = {
    "default": dj_database_url.parse(
        os.environ.get("DATABASE_URL", f"sqlite:///{_sqlite_path}"),
        conn_max_age=int(os.environ.get("DB_CONN_MAX_AGE", "60")),
        conn_health_checks=True,
    )
}
if os.environ.get("DATABASE_REPLICA_URL"):
    # Read-only pages and the API read from a replica (see config/routers.py).
    DATABASES["replica"] = dj_database_url.parse(
        os.environ["DATABASE_REPLICA_URL"], conn_max_age=0, conn_health_checks=True
    )
    DATABASES["replica"]["TEST"] = {"MIRROR": "default"}
DATABASE_ROUTERS = ["petitio.config.routers.ReplicaRouter"]
if env_bool("DB_POOL", PRODUCTION) and DATABASES["default"]["ENGINE"].endswith("postgresql"):
    # psycopg 3's connection pool, per process; it replaces persistent connections.
    # No health check when a connection is taken from the pool: it is a round
    # trip on every request, as costly as the signing INSERT itself. A pooled
    # connection broken by a database restart fails one request instead (the
    # 503 "try again" page) and the pool replaces it (docs/deploy.md).
    DATABASES["default"]["CONN_MAX_AGE"] = 0
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = env_bool("DB_POOL_CHECK", False)
    DATABASES["default"].setdefault("OPTIONS", {})["pool"] = {
        "min_size": int(os.environ.get("DB_POOL_MIN", "2")),
        "max_size": int(os.environ.get("DB_POOL_MAX", "10")),
        "timeout": float(os.environ.get("DB_POOL_TIMEOUT", "10")),
    }
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # IMMEDIATE transactions take the write lock at BEGIN, so two writers wait
    # for each other instead of failing with "database is locked" on upgrade.
    DATABASES["default"]["OPTIONS"] = {
        "transaction_mode": "IMMEDIATE",
        "timeout": 20,
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
    }
    DATABASES["default"]["CONN_MAX_AGE"] = 0
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = False
DATABASES["default"]["TEST"] = {"NAME": os.environ.get("TEST_DATABASE_NAME") or None}
# The signing and confirming statements run as prepared statements
# (signatures/sql.py). Behind PgBouncer in transaction mode that needs
# PgBouncer 1.21+ with max_prepared_statements set, or DB_PREPARE=off.
DB_PREPARE = env_bool("DB_PREPARE", True)
if DATABASES["default"]["ENGINE"].endswith("postgresql"):
    # Django opens psycopg connections with prepare_threshold=None, which turns
    # preparing off altogether: even a statement executed with prepare=True is
    # then parsed and planned on every call (it was: half the database's CPU
    # on the signing path). The ORM's cursors bind on the client and never
    # prepare, so this lets only signatures/sql.py's statements be prepared.
    DATABASES["default"].setdefault("OPTIONS", {})["prepare_threshold"] = 5 if DB_PREPARE else None
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "home"

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
STATIC_ROOT = VAR_DIR / "static"
WHITENOISE_AUTOREFRESH = DEBUG
STATICFILES_DIRS = [BASE_DIR / "config" / "static"]
WHITENOISE_USE_FINDERS = not PRODUCTION
try:  # whitenoise serves STATIC_ROOT too; it exists once collectstatic has run
    STATIC_ROOT.mkdir(parents=True, exist_ok=True)
except OSError:
    pass
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        # Hashed names and long cache headers in production (after collectstatic).
        "BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"
        if PRODUCTION
        else "django.contrib.staticfiles.storage.StaticFilesStorage"
    },
}

# Request size: petitions and signatures are small; anything larger is refused.
DATA_UPLOAD_MAX_MEMORY_SIZE = int(os.environ.get("DATA_UPLOAD_MAX_MEMORY_SIZE", str(64 * 1024)))
DATA_UPLOAD_MAX_NUMBER_FIELDS = 100

CSRF_FAILURE_VIEW = "petitio.config.errors.csrf_failure"
# Sessions live in a signed cookie: web processes keep no state and read no
# session row (only staff and flash messages use sessions).
SESSION_ENGINE = "django.contrib.sessions.backends.signed_cookies"
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_SAMESITE = "Lax"
SESSION_COOKIE_SECURE = env_bool("SECURE_COOKIES", PRODUCTION)
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
X_FRAME_OPTIONS = "DENY"
SECURE_PROXY_SSL_HEADER = (
    ("HTTP_X_FORWARDED_PROTO", "https") if env_bool("BEHIND_HTTPS_PROXY", PRODUCTION) else None
)
SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", PRODUCTION)
SECURE_HSTS_SECONDS = int(os.environ.get("SECURE_HSTS_SECONDS", "31536000" if PRODUCTION else "0"))
SECURE_HSTS_INCLUDE_SUBDOMAINS = PRODUCTION
SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", PRODUCTION)
SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^readyz$", r"^metrics$"]
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", "")
# Pages pass this policy without inline scripts or styles.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        "img-src": ["'self'", "data:"],
        "connect-src": ["'self'"],
        "form-action": ["'self'"],
        "frame-ancestors": ["'none'"],
        "base-uri": ["'self'"],
        "object-src": ["'none'"],
    }
}
ADMIN_PATH = os.environ.get("ADMIN_PATH", "admin/").strip("/") + "/"
# Staff must pass a TOTP second step to use the admin in production.
ADMIN_REQUIRES_OTP = env_bool("ADMIN_REQUIRES_OTP", PRODUCTION)
METRICS_TOKEN = os.environ.get("METRICS_TOKEN", "")
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"

# Email: the console in the embedded default (the confirmation links appear in
# the terminal that runs the site), SMTP everywhere else.
EMAIL_BACKEND = os.environ.get(
    "EMAIL_BACKEND",
    "django.core.mail.backends.smtp.EmailBackend"
    # Production never prints emails (addresses and tokens) to a log.
    if os.environ.get("EMAIL_HOST") or PRODUCTION
    else "django.core.mail.backends.console.EmailBackend",
)
EMAIL_HOST = os.environ.get("EMAIL_HOST", "127.0.0.1")
EMAIL_PORT = int(os.environ.get("EMAIL_PORT", "25"))
EMAIL_HOST_USER = os.environ.get("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = os.environ.get("EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", False)
EMAIL_TIMEOUT = int(os.environ.get("EMAIL_TIMEOUT", "20"))
DEFAULT_FROM_EMAIL = os.environ.get("DEFAULT_FROM_EMAIL", "Petitio <no-reply@petitio.invalid>")

REDIS_URL = os.environ.get("REDIS_URL", "")
CELERY_BROKER_URL = os.environ.get("CELERY_BROKER_URL", REDIS_URL)
CELERY_TASK_ACKS_LATE = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_IGNORE_RESULT = True
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_WORKER_HIJACK_ROOT_LOGGER = False

CACHES = {
    "default": (
        {
            "BACKEND": "petitio.config.cache.FailOpenRedisCache",
            "LOCATION": os.environ["REDIS_URL"],
        }
        if os.environ.get("REDIS_URL")
        else {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}
    )
}

# How long a public petition page or count.json is served from memory
# (config/pagecache.py); 0 turns the copy off.
PAGE_CACHE_SECONDS = float(os.environ.get("PAGE_CACHE_SECONDS", "1"))

# A valid signature's POST skips the middleware it does not need
# (config/signroute.py); off sends every signature through the whole stack.
SIGNING_ROUTE = env_bool("SIGNING_ROUTE", True)

# Business timings that are deployment settings rather than policy data.
PETITIO = {
    "VERIFICATION_TOKEN_DAYS": int(os.environ.get("VERIFICATION_TOKEN_DAYS", "7")),
    "VERIFICATION_RESEND_MINUTES": int(os.environ.get("VERIFICATION_RESEND_MINUTES", "10")),
    "OUTBOX_BATCH": int(os.environ.get("OUTBOX_BATCH", "200")),
    "OUTBOX_MAX_ATTEMPTS": int(os.environ.get("OUTBOX_MAX_ATTEMPTS", "8")),
    "OUTBOX_LEASE_SECONDS": int(os.environ.get("OUTBOX_LEASE_SECONDS", "300")),
    "TALLY_BATCH": int(os.environ.get("TALLY_BATCH", "20000")),
    # How old the signing path's copy of a petition may be (petitions/snapshots.py).
    "SIGNING_COPY_SECONDS": float(os.environ.get("SIGNING_COPY_SECONDS", "1")),
}

# One JSON line per request and per job in production; plain lines in the
# embedded default. Neither carries addresses, names or tokens.
LOG_FORMAT = os.environ.get("LOG_FORMAT", "json" if PRODUCTION else "plain")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {
        "request_id": {"()": "petitio.config.observability.RequestIdFilter"},
        "redact": {"()": "petitio.config.observability.RedactFilter"},
    },
    "formatters": {
        "plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"},
        "json": {"()": "petitio.config.observability.JsonFormatter"},
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": LOG_FORMAT,
            "filters": ["request_id", "redact"],
        }
    },
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "INFO")},
    "loggers": {
        "django.request": {"level": "ERROR"},
        # Celery logs every task twice at INFO; the job's own line says enough.
        "celery.app.trace": {"level": "WARNING"},
        "celery.worker.strategy": {"level": "WARNING"},
        "celery.beat": {"level": "WARNING"},
        "django.server": {"level": "ERROR" if PRODUCTION else "INFO"},
        "petitio.requests": {"level": "INFO" if PRODUCTION else "WARNING"},
        "petitio.jobs": {
            "level": os.environ.get("JOB_LOG_LEVEL", "INFO" if PRODUCTION else "WARNING")
        },
    },
}
