"""Production settings (issue 5, sections 1 and 4): ``check --deploy`` passes,
the settings refuse to start without a secret key, and the security and
pooling settings have their production values.

Each test imports the settings in a fresh interpreter with a clean
environment, as ``bin/production`` does, because settings are read once at
import."""

from __future__ import annotations

import urllib.parse

import pytest
from django.db import connection

from tests.ops.support import ROOT, production_env, python_json, run_petitio

DEPLOY_CHECK = ["check", "--deploy", "--fail-level", "WARNING"]


def test_check_deploy_passes_with_production_settings(tmp_path):
    done = run_petitio(DEPLOY_CHECK, production_env(tmp_path, DATABASE_URL=None), cwd=ROOT)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "no issues" in done.stdout


@pytest.mark.parametrize("secret_key", [None, ""], ids=["unset", "empty"])
def test_production_refuses_to_start_without_secret_key(tmp_path, secret_key):
    env = production_env(tmp_path, DATABASE_URL=None, SECRET_KEY=secret_key)
    done = run_petitio(DEPLOY_CHECK, env, cwd=ROOT)
    assert done.returncode != 0
    assert "SECRET_KEY" in done.stderr


def test_embedded_default_starts_without_secret_key(tmp_path):
    """The refusal is for production only: the embedded default needs no environment."""
    env = production_env(tmp_path, PETITIO_ENV=None, SECRET_KEY=None, DATABASE_URL=None)
    assert run_petitio(["check"], env, cwd=ROOT).returncode == 0


PRODUCTION_VALUES = """
from django.conf import settings
from django.contrib import admin
from django.urls import resolve, reverse
from django_otp.admin import OTPAdminSite

admin_index = reverse("admin:index")  # imports the URLconf, which sets up the admin site
login_form = resolve("/accounts/login/").func.view_initkwargs.get("authentication_form")
default = settings.DATABASES["default"]
print(json.dumps({
    "DEBUG": settings.DEBUG,
    "SESSION_COOKIE_SECURE": settings.SESSION_COOKIE_SECURE,
    "CSRF_COOKIE_SECURE": settings.CSRF_COOKIE_SECURE,
    "SESSION_COOKIE_HTTPONLY": settings.SESSION_COOKIE_HTTPONLY,
    "SESSION_COOKIE_SAMESITE": settings.SESSION_COOKIE_SAMESITE,
    "CSRF_COOKIE_SAMESITE": settings.CSRF_COOKIE_SAMESITE,
    "SECURE_HSTS_SECONDS": settings.SECURE_HSTS_SECONDS,
    "SECURE_SSL_REDIRECT": settings.SECURE_SSL_REDIRECT,
    "SECURE_PROXY_SSL_HEADER": settings.SECURE_PROXY_SSL_HEADER,
    "ALLOWED_HOSTS": settings.ALLOWED_HOSTS,
    "staticfiles": settings.STORAGES["staticfiles"]["BACKEND"],
    "middleware": settings.MIDDLEWARE,
    "db_engine": default["ENGINE"],
    "db_options": default.get("OPTIONS", {}),
    "db_conn_max_age": default["CONN_MAX_AGE"],
    "ADMIN_PATH": settings.ADMIN_PATH,
    "admin_index": admin_index,
    "ADMIN_REQUIRES_OTP": settings.ADMIN_REQUIRES_OTP,
    "admin_site_is_otp": isinstance(admin.site, OTPAdminSite),
    "login_form": f"{login_form.__module__}.{login_form.__qualname__}" if login_form else None,
    "LOG_FORMAT": settings.LOG_FORMAT,
    "request_log_level": settings.LOGGING["loggers"]["petitio.requests"]["level"],
    "job_log_level": settings.LOGGING["loggers"]["petitio.jobs"]["level"],
}))
"""


@pytest.fixture(scope="module")
def production(tmp_path_factory) -> dict:
    tmp_path = tmp_path_factory.mktemp("production")
    env = production_env(
        tmp_path,
        DATABASE_URL="postgresql://petitio:secret@db.internal.example:5432/petitio",
        ADMIN_PATH="staff-only/",
    )
    return python_json(PRODUCTION_VALUES, env, cwd=ROOT)


def test_production_is_not_debug(production):
    assert production["DEBUG"] is False
    assert production["ALLOWED_HOSTS"] == ["petitio.example.org"]


def test_production_cookies_are_secure_httponly_and_samesite(production):
    assert production["SESSION_COOKIE_SECURE"] is True
    assert production["CSRF_COOKIE_SECURE"] is True
    assert production["SESSION_COOKIE_HTTPONLY"] is True
    assert production["SESSION_COOKIE_SAMESITE"] == "Lax"
    assert production["CSRF_COOKIE_SAMESITE"] == "Lax"
    assert "django.middleware.csrf.CsrfViewMiddleware" in production["middleware"]


def test_production_sends_hsts_and_redirects_to_https_behind_the_proxy(production):
    assert production["SECURE_HSTS_SECONDS"] > 0
    assert production["SECURE_SSL_REDIRECT"] is True
    assert production["SECURE_PROXY_SSL_HEADER"] == ["HTTP_X_FORWARDED_PROTO", "https"]


def test_production_static_files_have_hashed_names(production):
    assert production["staticfiles"] == "whitenoise.storage.CompressedManifestStaticFilesStorage"
    assert "whitenoise.middleware.WhiteNoiseMiddleware" in production["middleware"]


def test_production_postgresql_uses_a_connection_pool(production):
    assert production["db_engine"] == "django.db.backends.postgresql"
    pool = production["db_options"]["pool"]
    assert pool["min_size"] >= 1
    assert pool["max_size"] >= pool["min_size"]
    # Django refuses a pool together with persistent connections.
    assert production["db_conn_max_age"] == 0


def test_production_admin_lives_at_the_configured_path_behind_2_step_login(production):
    assert production["ADMIN_PATH"] == "staff-only/"
    assert production["admin_index"] == "/staff-only/"
    assert production["ADMIN_REQUIRES_OTP"] is True
    assert production["admin_site_is_otp"] is True
    assert production["login_form"] == "django_otp.forms.OTPAuthenticationForm"


def test_production_logs_json_lines_per_request_and_job(production):
    assert production["LOG_FORMAT"] == "json"
    assert production["request_log_level"] == "INFO"
    assert production["job_log_level"] == "INFO"


POOL_QUERY = """
from django.db import connection
from psycopg_pool import ConnectionPool

with connection.cursor() as cursor:
    cursor.execute("SELECT 1")
    one = cursor.fetchone()[0]
print(json.dumps({"one": one, "pooled": isinstance(connection.pool, ConnectionPool)}))
connection.close_pool()
"""


@pytest.mark.django_db
@pytest.mark.postgres_only
def test_production_pool_serves_queries_on_postgresql(tmp_path):
    """With a real PostgreSQL server the pool opens and answers a query."""
    if connection.vendor != "postgresql":
        pytest.fail("needs the PostgreSQL pass of bin/test (DATABASE_URL=postgresql://...)")
    db = connection.settings_dict
    credentials = urllib.parse.quote(db["USER"] or "", safe="")
    if db["PASSWORD"]:
        credentials += ":" + urllib.parse.quote(db["PASSWORD"], safe="")
    url = (
        f"postgresql://{credentials}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"
    )
    env = production_env(tmp_path, DATABASE_URL=url, DB_POOL_MIN="1", DB_POOL_MAX="2")
    assert python_json(POOL_QUERY, env, cwd=ROOT) == {"one": 1, "pooled": True}
