"""The production stack the benchmark runs against, and its teardown.

Everything listens on 127.0.0.1. The benchmark uses the machine's PostgreSQL
(a database of its own, created and dropped here) and one Redis database
number (flushed at start and end; Redis itself is never stopped). Every
process it starts gets its own process group and is ended by its id.
"""

from __future__ import annotations

import contextlib
import http.client
import os
import re
import secrets
import shlex
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

BENCH_DIR = Path(__file__).resolve().parent
PROJECT_DIR = BENCH_DIR.parent
VENV_BIN = PROJECT_DIR / ".venv" / "bin"
HOST = "127.0.0.1"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind((HOST, 0))
        return probe.getsockname()[1]


def wait_until(condition: Callable[[], Any], *, timeout: float, what: str, every=0.1) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise RuntimeError(f"timed out after {timeout:.0f}s waiting for {what}")
        time.sleep(every)


def http_get(port: int, path: str, headers: dict[str, str] | None = None, timeout: float = 10):
    """(status, headers, body) of one GET, or (0, {}, b"") when nothing answers."""
    conn = http.client.HTTPConnection(HOST, port, timeout=timeout)
    try:
        conn.request("GET", path, headers=headers or {})
        response = conn.getresponse()
        body = response.read()
        return response.status, response.getheaders(), body
    except OSError:
        return 0, [], b""
    finally:
        conn.close()


class Process:
    """A child in its own process group, logging to a file; ended by its id only."""

    def __init__(self, name: str, argv: list[str], *, env: dict[str, str], cwd: Path, log: Path):
        self.name = name
        self.log = log
        self._log_file = log.open("ab")
        self.popen = subprocess.Popen(  # noqa: S603 - commands of the Procfile and bench
            argv,
            cwd=cwd,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=self._log_file,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    @property
    def pid(self) -> int:
        return self.popen.pid

    def alive(self) -> bool:
        return self.popen.poll() is None

    def stop(self, timeout: float = 20, *, leader_first: bool = False) -> None:
        """SIGTERM to the group (or, with ``leader_first``, to the leader alone so
        that it can shut down its children itself), then SIGKILL what is left."""
        if getattr(self, "_stopped", False):
            return
        self._stopped = True
        if self.alive():
            with contextlib.suppress(ProcessLookupError):
                if leader_first:
                    os.kill(self.popen.pid, signal.SIGTERM)
                else:
                    os.killpg(self.popen.pid, signal.SIGTERM)
            try:
                self.popen.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(self.popen.pid, signal.SIGKILL)
                self.popen.wait(timeout=10)
        # children of the group that outlived its leader (prefork children)
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.popen.pid, signal.SIGKILL)
        self._log_file.close()

    def tail(self, lines: int = 30) -> str:
        try:
            return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""


def procfile() -> dict[str, str]:
    """The Procfile's commands by process name (what bin/production runs)."""
    commands = {}
    for line in (PROJECT_DIR / "Procfile").read_text().splitlines():
        if ":" in line and not line.lstrip().startswith("#"):
            name, command = line.split(":", 1)
            commands[name.strip()] = command.strip()
    return commands


class Stack:
    def __init__(self, *, pg_url: str, redis_url: str, keep: bool = False) -> None:
        self.pid = os.getpid()
        self.dbname = f"petitio_bench_{self.pid}"
        self.pg_admin_url = pg_url
        parts = urlsplit(pg_url)
        self.database_url = parts._replace(path=f"/{self.dbname}").geturl()
        self.redis_url = redis_url
        redis_db = urlsplit(redis_url).path.strip("/") or "0"
        if not redis_db.isdigit():
            raise SystemExit(f"BENCH_REDIS_URL must name a database number: {redis_url}")
        self.keep = keep
        self.root = Path(tempfile.mkdtemp(prefix=f"petitio_bench_{self.pid}_"))
        (self.root / "var").mkdir()
        self.logs = self.root / "logs"
        self.logs.mkdir()
        self.web_port = free_port()
        self.baseline_port = free_port()
        self.smtp_port = free_port()
        self.sink_file = self.root / "sink.tsv"
        self.processes: list[Process] = []
        self.web: Process | None = None
        self.baseline: Process | None = None
        self.sink: Process | None = None
        self.celery: list[Process] = []
        self.db_created = False
        self.env = self._environment()

    # -- environment -------------------------------------------------------------

    def _environment(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "BENCH_"))}
        env.update(
            {
                "PETITIO_ENV": "production",
                "SECRET_KEY": secrets.token_urlsafe(50),
                "SECURE_SSL_REDIRECT": "false",
                "ALLOWED_HOSTS": HOST,
                "SITE_URL": f"http://{HOST}:{self.web_port}",
                "DATABASE_URL": self.database_url,
                "REDIS_URL": self.redis_url,
                "EMAIL_HOST": HOST,
                "EMAIL_PORT": str(self.smtp_port),
                "EMAIL_USE_TLS": "false",
                "PETITIO_HOME": str(self.root),
                "PETITIO_VAR_DIR": str(self.root / "var"),
                "DJANGO_SETTINGS_MODULE": "petitio.config.settings",
                "PYTHONUNBUFFERED": "1",
            }
        )
        for name in ("EMAIL_HOST_USER", "EMAIL_HOST_PASSWORD", "DATABASE_REPLICA_URL"):
            env.pop(name, None)
        return env

    def _start(self, name: str, argv: list[str], env: dict[str, str] | None = None) -> Process:
        process = Process(
            name, argv, env=env or self.env, cwd=self.root, log=self.logs / f"{name}.log"
        )
        self.processes.append(process)
        return process

    def _procfile_argv(self, name: str, **replace: str) -> list[str]:
        command = procfile()[name].replace(".venv/bin/", f"{VENV_BIN}/")
        for old, new in replace.items():
            command = command.replace(old, new)
        return ["bash", "-c", "exec " + command]

    def petitio(self, *args: str, timeout: float = 300) -> str:
        done = subprocess.run(  # noqa: S603 - the project's own command
            [str(VENV_BIN / "petitio"), *args],
            cwd=self.root,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=timeout,
        )
        if done.returncode != 0:
            raise RuntimeError(f"petitio {' '.join(args)} failed:\n{done.stdout}\n{done.stderr}")
        return done.stdout

    # -- database and redis ---------------------------------------------------------

    def _admin(self, sql: str) -> None:
        import psycopg

        with psycopg.connect(self.pg_admin_url, autocommit=True, connect_timeout=10) as conn:
            conn.execute(sql)

    def database_create(self) -> None:
        self._admin(f'CREATE DATABASE "{self.dbname}"')
        self.db_created = True

    def database_drop(self) -> None:
        if self.db_created and not self.keep:
            self._admin(f'DROP DATABASE IF EXISTS "{self.dbname}" WITH (FORCE)')
            self.db_created = False

    def redis_flush(self) -> None:
        import redis

        redis.Redis.from_url(self.redis_url, socket_timeout=10).flushdb()

    # -- processes -------------------------------------------------------------------

    def prepare(self) -> None:
        """What bin/production does before it starts the Procfile."""
        self.petitio("check", "--deploy", "--fail-level", "ERROR")
        self.petitio("migrate", "--no-input", "-v", "0")
        self.petitio("collectstatic", "--no-input", "-v", "0")
        self.petitio("authorities", "load")

    def sink_start(self) -> None:
        self.sink = self._start(
            "sink",
            [
                str(VENV_BIN / "python"),
                str(BENCH_DIR / "sink.py"),
                "--port",
                str(self.smtp_port),
                "--out",
                str(self.sink_file),
            ],
        )
        wait_until(
            lambda: "sink ready" in self.sink.tail(5) or not self.sink.alive(),
            timeout=30,
            what="the SMTP sink",
        )
        if not self.sink.alive():
            raise RuntimeError("the SMTP sink did not start:\n" + self.sink.tail())

    def web_start(self) -> None:
        env = dict(self.env, HOST=HOST, PORT=str(self.web_port))
        self.web = self._start("web", self._procfile_argv("web"), env)
        baseline_env = dict(
            self.env,
            HOST=HOST,
            PORT=str(self.baseline_port),
            DJANGO_SETTINGS_MODULE="baseline_settings",
            PYTHONPATH=os.pathsep.join(filter(None, [str(BENCH_DIR), self.env.get("PYTHONPATH")])),
        )
        self.baseline = self._start(
            "baseline",
            self._procfile_argv(
                "web",
                **{"petitio.config.wsgi:application": "baselines:application"},
            ),
            baseline_env,
        )
        for process, port, path in (
            (self.web, self.web_port, "/healthz"),
            (self.baseline, self.baseline_port, "/floor/0/sign/"),
        ):
            wait_until(
                lambda p=port, q=path, proc=process: (
                    (http_get(p, q, timeout=2)[0] != 0) or not proc.alive()
                ),
                timeout=90,
                what=f"{process.name} on port {port}",
                every=0.3,
            )
            if not process.alive():
                raise RuntimeError(f"{process.name} did not start:\n{process.tail()}")

    def web_workers(self) -> dict[str, Any]:
        argv = shlex.split(procfile()["web"])
        found = {"server": Path(argv[0]).name, "workers": "2", "threads": "4"}
        text = " ".join(argv)
        for key, pattern in (
            ("workers", r"--workers \$\{WEB_WORKERS:-(\d+)\}"),
            ("threads", r"--blocking-threads \$\{WEB_THREADS:-(\d+)\}"),
        ):
            match = re.search(pattern, text)
            if match:
                found[key] = os.environ.get(f"WEB_{key.upper()}", match.group(1))
        return found

    def celery_start(self) -> None:
        if self.celery and all(p.alive() for p in self.celery):
            return
        worker = self._start("celery-worker", self._procfile_argv("worker"))
        # cwd is the run's own directory: beat's var/celerybeat-schedule lands there
        beat = self._start("celery-beat", self._procfile_argv("scheduler"))
        self.celery = [worker, beat]
        time.sleep(1.0)
        for process in self.celery:
            if not process.alive():
                raise RuntimeError(f"{process.name} did not start:\n{process.tail()}")

    def celery_stop(self) -> None:
        """Beat first (no new tasks), then a warm shutdown of the worker: it finishes
        the batch in hand, so no message is left half sent."""
        for process in reversed(self.celery):
            process.stop(timeout=60, leader_first=True)
        self.celery = []

    def teardown(self) -> None:
        for process in reversed(self.processes):
            with contextlib.suppress(Exception):
                process.stop()
        with contextlib.suppress(Exception):
            from django.db import connections

            connections.close_all()
        with contextlib.suppress(Exception):
            self.database_drop()
        with contextlib.suppress(Exception):
            self.redis_flush()
        if not self.keep:
            import shutil

            shutil.rmtree(self.root, ignore_errors=True)
