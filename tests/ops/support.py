"""Helpers for the operations tests: a clean environment for subprocesses that
import the production settings, and free local ports."""

from __future__ import annotations

import json
import os
import secrets
import string
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def procfile_command(name: str) -> str:
    """The command line the Procfile (what bin/production runs) gives process ``name``."""
    for line in (ROOT / "Procfile").read_text().splitlines():
        if line.startswith(f"{name}:"):
            return line.split(":", 1)[1].strip()
    raise AssertionError(f"no {name} process in the Procfile")


# Every variable the settings read, so the outer test run's own environment
# (DATABASE_URL, TEST_DATABASE_NAME, ...) cannot leak into a subprocess.
_SETTINGS_PREFIXES = (
    "PETITIO_",
    "DJANGO_",
    "DATABASE_",
    "TEST_DATABASE",
    "DB_",
    "REDIS_",
    "CELERY_",
    "EMAIL_",
    "SECURE_",
    "SECRET_KEY",
    "DEBUG",
    "ALLOWED_HOSTS",
    "SITE_URL",
    "CSRF_",
    "ADMIN_",
    "METRICS_",
    "LOG_",
    "JOB_LOG",
    "BEHIND_HTTPS_PROXY",
    "VERIFICATION_",
    "OUTBOX_",
    "TALLY_",
    "DATA_UPLOAD",
    "DEFAULT_FROM_EMAIL",
)


def random_secret_key(length: int = 50) -> str:
    alphabet = string.ascii_letters + string.digits + "!@#%^&*(-_=+)"
    return "".join(secrets.choice(alphabet) for _ in range(length))


def production_env(tmp_path: Path, **overrides: str | None) -> dict[str, str]:
    """The environment of a production process: nothing inherited that the
    settings read, var/ in a temporary directory, then ``overrides`` (a value
    of None removes the variable)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(_SETTINGS_PREFIXES)}
    env |= {
        "PETITIO_ENV": "production",
        "PETITIO_VAR_DIR": str(tmp_path / "var"),
        "SECRET_KEY": random_secret_key(),
        "ALLOWED_HOSTS": "petitio.example.org",
        "DJANGO_SETTINGS_MODULE": "petitio.config.settings",
    }
    for key, value in overrides.items():
        if value is None:
            env.pop(key, None)
        else:
            env[key] = value
    return env


def run_petitio(args: list[str], env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "petitio", *args],
        env=env,
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def python_json(code: str, env: dict[str, str], cwd: Path) -> dict:
    """Run ``code`` (after django.setup()) in a fresh interpreter; it must
    print one JSON object as its last line of output."""
    script = "import django, json\ndjango.setup()\n" + code
    done = subprocess.run(
        [sys.executable, "-c", script],
        env=env,
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])
