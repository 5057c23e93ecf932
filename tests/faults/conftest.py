"""Fixtures of the fault drills: a PostgreSQL cluster of their own (one per session,
a fresh database per drill from a migrated template), a Redis server and an SMTP
server per drill, and the drill's production processes, all killed in teardown.
"""

from __future__ import annotations

import contextlib
import itertools
import logging
import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.faults.harness import (
    PROJECT_DIR,
    VENV_BIN,
    PostgresCluster,
    RedisServer,
    SmtpServer,
    Stack,
    postgres_bindir,
)

TEMPLATE = "petitio_template"
_serial = itertools.count(1)


def pytest_configure(config: pytest.Config) -> None:
    # aiosmtpd logs every SMTP command at INFO: thousands of lines per drill.
    logging.getLogger("mail.log").setLevel(logging.WARNING)


def _missing() -> str | None:
    if postgres_bindir() is None:
        return "no PostgreSQL server binaries in /usr/lib/postgresql/*/bin"
    if shutil.which("redis-server") is None:
        return "no redis-server on PATH"
    if os.geteuid() == 0 and shutil.which("runuser") is None:
        return "running as root without runuser: initdb cannot run as postgres"
    for tool in ("granian", "celery", "petitio"):
        if not (VENV_BIN / tool).exists():
            return f"no .venv/bin/{tool}"
    return None


@pytest.fixture(scope="session")
def cluster() -> Iterator[PostgresCluster]:
    """A PostgreSQL cluster made with initdb for this session, with a migrated template."""
    if reason := _missing():
        pytest.fail(f"the fault drills need their own services: {reason}")
    cluster = PostgresCluster(Path(tempfile.mkdtemp(prefix="petitio-faults-pg-")))
    try:
        cluster.init()
        cluster.start()
        cluster.create_database(TEMPLATE)
        yield cluster
    finally:
        cluster.destroy()


@pytest.fixture(scope="session")
def var_dir(cluster: PostgresCluster) -> Iterator[Path]:
    """The production var directory: collected static files (hashed names, manifest),
    and the template database migrated with the authority registry loaded."""
    path = Path(tempfile.mkdtemp(prefix="petitio-faults-var-"))
    env = {
        name: os.environ[name] for name in ("PATH", "HOME", "LANG", "TZ") if name in os.environ
    } | {
        "PETITIO_ENV": "production",
        "SECRET_KEY": "fault-drill-setup-only",
        "DATABASE_URL": cluster.url(TEMPLATE),
        "PETITIO_VAR_DIR": str(path),
        "PETITIO_HOME": str(PROJECT_DIR),
        "LOG_LEVEL": "WARNING",
    }
    petitio = str(VENV_BIN / "petitio")
    try:
        for command in (
            [petitio, "migrate", "--no-input", "-v", "0"],
            [petitio, "authorities", "load"],
            [petitio, "collectstatic", "--no-input", "-v", "0"],
        ):
            done = subprocess.run(
                command, cwd=PROJECT_DIR, env=env, capture_output=True, text=True, timeout=180
            )
            assert done.returncode == 0, f"{command[1:]} failed:\n{done.stdout}\n{done.stderr}"
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


@pytest.fixture
def stack(cluster: PostgresCluster, var_dir: Path, tmp_path: Path) -> Iterator[Stack]:
    """One drill's world: a fresh database copied from the template, its own Redis and
    SMTP server; whatever the drill starts is killed afterwards."""
    if not cluster.running():  # a drill that failed while the server was down
        cluster.start()
    dbname = f"drill_{os.getpid()}_{next(_serial)}"
    cluster.create_database(dbname, template=TEMPLATE)
    logs = tmp_path / "logs"
    logs.mkdir()
    redis_dir = tmp_path / "redis"
    redis_dir.mkdir()
    redis = RedisServer(redis_dir)
    smtp = SmtpServer()
    drill = Stack(
        cluster=cluster, dbname=dbname, redis=redis, smtp=smtp, var_dir=var_dir, logs=logs
    )
    try:
        redis.start()
        smtp.start()
        yield drill
    finally:
        drill.stop_all()
        if redis.process is not None:
            redis.process.kill()
        with contextlib.suppress(Exception):
            smtp.stop()
