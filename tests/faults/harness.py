"""The services a fault drill starts, breaks and starts again.

Everything here runs on 127.0.0.1 on free ports, in temporary directories:
a PostgreSQL cluster made with initdb, a redis-server, an SMTP server
(aiosmtpd) that can refuse chosen recipients, and the project's own processes
(web, Celery worker and beat, one-off jobs). The machine's shared
PostgreSQL (5432) and Redis (6379) are never used.

Every process is started in its own process group and killed in teardown;
every wait polls a condition against a deadline.
"""

from __future__ import annotations

import contextlib
import email.parser
import email.policy
import glob
import json
import os
import pwd
import re
import secrets
import shutil
import signal
import socket
import subprocess
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

PROJECT_DIR = Path(__file__).resolve().parents[2]
VENV_BIN = PROJECT_DIR / ".venv" / "bin"
HOST = "127.0.0.1"

T = TypeVar("T")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind((HOST, 0))
        return probe.getsockname()[1]


def wait_until(
    condition: Callable[[], T],
    *,
    timeout: float,
    what: str,
    interval: float = 0.05,
    state: Callable[[], object] | None = None,
) -> T:
    """Poll ``condition`` until it returns something true; fail after ``timeout`` seconds
    (saying what ``state()`` returns then)."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() >= deadline:
            seen = f"; state: {state()}" if state else ""
            raise AssertionError(f"timed out after {timeout:.0f}s waiting for {what}{seen}")
        time.sleep(interval)


def holds(condition: Callable[[], object], *, seconds: float, what: str) -> None:
    """Check that ``condition`` stays true for a window of ``seconds`` (polled)."""
    until = time.monotonic() + seconds
    while time.monotonic() < until:
        assert condition(), f"no longer true: {what}"
        time.sleep(0.1)


def port_open(port: int) -> bool:
    with socket.socket() as probe:
        probe.settimeout(0.5)
        return probe.connect_ex((HOST, port)) == 0


# -- processes ---------------------------------------------------------------------------


def log_tail(path: Path, lines: int = 40) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return ""


class Process:
    """A child in its own process group (so its children die with it), logging to a file."""

    def __init__(self, name: str, command: list[str], *, env: dict[str, str], log: Path) -> None:
        self.name = name
        self.command = command
        self.log = log
        self._log_file = log.open("ab")
        self.popen = subprocess.Popen(
            command,
            cwd=PROJECT_DIR,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=self._log_file,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    @property
    def pid(self) -> int:
        return self.popen.pid

    def signal_group(self, sig: int = signal.SIGKILL) -> None:
        """Signal the process group without waiting (safe from any thread)."""
        if self.alive():
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.popen.pid, sig)

    def alive(self) -> bool:
        return self.popen.poll() is None

    def kill(self, sig: int = signal.SIGKILL, *, timeout: float = 20) -> None:
        """Send ``sig`` to the whole process group and wait for the leader to exit."""
        if getattr(self, "_killed", False):  # once only: a process group id can be reused
            return
        self._killed = True
        if self.alive():
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.popen.pid, sig)
            try:
                self.popen.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(self.popen.pid, signal.SIGKILL)
                self.popen.wait(timeout=10)
        # Children of the group that outlived the leader (e.g. prefork children).
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.popen.pid, signal.SIGKILL)
        self._log_file.close()

    def tail(self, lines: int = 40) -> str:
        return log_tail(self.log, lines)


# -- PostgreSQL --------------------------------------------------------------------------


def postgres_bindir() -> Path | None:
    found = glob.glob("/usr/lib/postgresql/*/bin/initdb")
    if not found:
        return None
    newest = max(found, key=lambda path: int(Path(path).parts[-3]))
    return Path(newest).parent


class PostgresCluster:
    """A throw-away cluster: initdb in a temporary directory, trust auth, a free port."""

    def __init__(self, root: Path) -> None:
        bindir = postgres_bindir()
        assert bindir is not None, "no PostgreSQL server binaries in /usr/lib/postgresql"
        self.bindir = bindir
        self.root = root
        self.data = root / "data"
        self.logfile = root / "postgres.log"
        self.port = free_port()
        self._as_root = os.geteuid() == 0
        if self._as_root:  # initdb refuses to run as root: the cluster belongs to postgres
            user = pwd.getpwnam("postgres")
            os.chown(root, user.pw_uid, user.pw_gid)

    def _run(self, *args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
        command = [str(self.bindir / args[0]), *args[1:]]
        if self._as_root:
            command = ["runuser", "-u", "postgres", "--", *command]
        done = subprocess.run(command, capture_output=True, text=True, timeout=timeout)
        if done.returncode != 0:
            raise RuntimeError(
                f"{args[0]} failed ({done.returncode}): {done.stdout}\n{done.stderr}\n"
                + self.log_tail()
            )
        return done

    def init(self) -> None:
        self._run(
            "initdb", "-D", str(self.data), "-A", "trust", "-U", "postgres", "-E", "UTF8",
            "--locale=C", "--no-sync",
        )  # fmt: skip
        with (self.data / "postgresql.conf").open("a") as conf:
            conf.write(
                f"\n# petitio fault drills\nport = {self.port}\n"
                f"listen_addresses = '{HOST}'\nunix_socket_directories = '{self.root}'\n"
                "max_connections = 200\n"
                # The drills kill processes, never the machine: the page cache
                # survives, so skipping fsync changes nothing they test.
                "fsync = off\nfull_page_writes = off\nsynchronous_commit = on\n"
                "log_min_messages = warning\n"
            )

    def start(self) -> None:
        self._run(
            "pg_ctl", "start", "-D", str(self.data), "-l", str(self.logfile), "-w", "-t", "60"
        )

    def stop(self, mode: str = "fast") -> None:
        self._run("pg_ctl", "stop", "-D", str(self.data), "-m", mode, "-w", "-t", "60")

    def restart(self, mode: str = "fast") -> None:
        """``fast``: clean shutdown; ``immediate``: like a crash, with recovery at start."""
        self._run(
            "pg_ctl", "restart", "-D", str(self.data), "-m", mode, "-l", str(self.logfile),
            "-w", "-t", "60",
        )  # fmt: skip

    def running(self) -> bool:
        command = [str(self.bindir / "pg_ctl"), "status", "-D", str(self.data)]
        if self._as_root:
            command = ["runuser", "-u", "postgres", "--", *command]
        return subprocess.run(command, capture_output=True, timeout=30).returncode == 0

    def url(self, dbname: str = "postgres", **query: str) -> str:
        tail = ("?" + "&".join(f"{k}={v}" for k, v in query.items())) if query else ""
        return f"postgresql://postgres@{HOST}:{self.port}/{dbname}{tail}"

    def connect(self, dbname: str = "postgres"):  # -> psycopg.Connection
        import psycopg

        return psycopg.connect(self.url(dbname), autocommit=True, connect_timeout=5)

    def sql(self, dbname: str, query: str, params: Any = None) -> list[tuple[Any, ...]]:
        with self.connect(dbname) as conn:
            cursor = conn.execute(query, params)
            return cursor.fetchall() if cursor.description else []

    def create_database(self, name: str, *, template: str | None = None) -> None:
        clause = f" TEMPLATE {template}" if template else ""
        self.sql("postgres", f"CREATE DATABASE {name}{clause}")

    def terminate_backends(self) -> int:
        """End every client connection (pg_terminate_backend); the count of those ended."""
        rows = self.sql(
            "postgres",
            "SELECT count(*) FILTER (WHERE pg_terminate_backend(pid)) FROM pg_stat_activity"
            " WHERE pid <> pg_backend_pid() AND backend_type = 'client backend'",
        )
        return int(rows[0][0])

    def destroy(self) -> None:
        if self.data.exists():
            with contextlib.suppress(Exception):
                self.stop("immediate")
            pidfile = self.data / "postmaster.pid"
            if pidfile.exists():  # pg_ctl did not stop it: kill the postmaster
                with contextlib.suppress(Exception):
                    os.kill(int(pidfile.read_text().split()[0]), signal.SIGKILL)
        shutil.rmtree(self.root, ignore_errors=True)

    def log_tail(self, lines: int = 30) -> str:
        return log_tail(self.logfile, lines)


# -- Redis -------------------------------------------------------------------------------


class RedisServer:
    """Our own redis-server on a free port, without persistence."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.port = free_port()
        self.url = f"redis://{HOST}:{self.port}/0"
        self.process: Process | None = None

    def start(self) -> None:
        assert self.process is None or not self.process.alive()
        self.process = Process(
            "redis",
            [
                shutil.which("redis-server") or "redis-server",
                "--port", str(self.port), "--bind", HOST, "--save", "", "--appendonly", "no",
                "--daemonize", "no", "--dir", str(self.root),
            ],
            env={"PATH": os.environ.get("PATH", "/usr/bin:/bin")},
            log=self.root / "redis.log",
        )  # fmt: skip
        wait_until(self.ping, timeout=15, what="redis-server to answer PING")

    def stop(self) -> None:
        """Stop it the hard way (SIGKILL): connections drop, queued tasks are lost."""
        if self.process is not None:
            self.process.kill(signal.SIGKILL)
        wait_until(lambda: not port_open(self.port), timeout=10, what="redis to stop listening")

    def ping(self) -> bool:
        import redis

        try:
            return bool(redis.Redis(host=HOST, port=self.port, socket_timeout=1).ping())
        except redis.RedisError:
            return False

    def client(self):  # -> redis.Redis
        import redis

        return redis.Redis(host=HOST, port=self.port, socket_timeout=5)


# -- SMTP --------------------------------------------------------------------------------


@dataclass
class Refusal:
    code: int
    times: int | None  # None: always
    phase: str  # "rcpt": at RCPT TO; "data": after the message's final dot
    used: int = 0


@dataclass
class SmtpHandler:
    """An MTA for tests: accepts everything except what it was told to refuse, and
    counts every message it accepted per recipient and per X-Petitio-Message key.

    It does not deduplicate anything: a message handed to it twice counts twice.
    """

    delivered: Counter[str] = field(default_factory=Counter)
    keys: Counter[str] = field(default_factory=Counter)
    kinds: Counter[str] = field(default_factory=Counter)
    rcpt_attempts: Counter[str] = field(default_factory=Counter)
    refused: Counter[str] = field(default_factory=Counter)
    rules: dict[str, Refusal] = field(default_factory=dict)
    trips: dict[tuple[str, int], Callable[[], None]] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def on_accepting(self, kind: str, nth: int, action: Callable[[], None]) -> None:
        """Run ``action`` when the ``nth`` message of ``kind`` has been taken, before the
        server answers "250" for it."""
        with self.lock:
            self.trips[(kind, nth)] = action

    def refuse(self, address: str, code: int, *, times: int | None = None, phase: str = "rcpt"):
        self.rules[address.lower()] = Refusal(code, times, phase)

    def _refusal(self, address: str, phase: str) -> int | None:
        rule = self.rules.get(address.lower())
        if rule is None or rule.phase != phase:
            return None
        if rule.times is not None and rule.used >= rule.times:
            return None
        rule.used += 1
        return rule.code

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        with self.lock:
            self.rcpt_attempts[address.lower()] += 1
            code = self._refusal(address, "rcpt")
            if code is not None:
                self.refused[address.lower()] += 1
        if code is not None:
            return f"{code} {'4.2.1 Try again later' if code < 500 else '5.1.1 No such user'}"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        headers = email.parser.BytesHeaderParser(policy=email.policy.compat32).parsebytes(
            envelope.content
        )
        key = str(headers.get("X-Petitio-Message", ""))
        with self.lock:
            for address in envelope.rcpt_tos:
                code = self._refusal(address, "data")
                if code is not None:
                    self.refused[address.lower()] += 1
                    return f"{code} {'4.3.0 Try again later' if code < 500 else '5.6.0 Refused'}"
            for address in envelope.rcpt_tos:
                self.delivered[address.lower()] += 1
            self.keys[key] += 1
            kind = key.split(":", 1)[0]
            self.kinds[kind] += 1
            trip = self.trips.pop((kind, self.kinds[kind]), None)
        if trip is not None:
            trip()  # e.g. kill the sender now: it will never see this "250"
        return "250 OK: queued"

    def reset(self) -> None:
        """Forget what was delivered so far (the rules stay)."""
        with self.lock:
            for counter in (self.delivered, self.keys, self.kinds, self.rcpt_attempts):
                counter.clear()
            self.refused.clear()

    def total(self) -> int:
        with self.lock:
            return sum(self.delivered.values())

    def count(self, kind: str) -> int:
        """Messages accepted whose X-Petitio-Message key starts with ``kind:``."""
        with self.lock:
            return self.kinds[kind]

    def snapshot(self) -> tuple[Counter[str], Counter[str]]:
        with self.lock:
            return Counter(self.delivered), Counter(self.keys)


def _mta_controller(handler: SmtpHandler, port: int):
    """An aiosmtpd Controller whose sessions read what the client sent before hanging up.

    Out of the box aiosmtpd cancels a session the moment the client's end of
    stream arrives, even when a complete message, final "." included, is still
    in its read buffer: it would lose a message a client sent and then died.
    A real MTA (Postfix, Exim) reads the stream in order and queues that
    message. Here the end of stream is fed to the reader instead, so the
    session reads on: a message whose "." arrived is delivered, one whose "."
    never arrived ends in an incomplete read and is discarded, as anywhere.
    Nothing is deduplicated.
    """
    import asyncio

    from aiosmtpd.controller import Controller
    from aiosmtpd.smtp import SMTP

    class ReadToTheEnd(SMTP):
        def eof_received(self) -> bool:
            self._reader.feed_eof()
            return True  # keep the session until it has read what arrived

        async def handle_exception(self, error: Exception) -> str:
            if isinstance(error, asyncio.IncompleteReadError):  # nothing more will come
                if self.transport is not None:
                    self.transport.close()
                return "421 4.4.2 Connection closed"
            return await super().handle_exception(error)

    class MtaController(Controller):
        def factory(self) -> SMTP:
            return ReadToTheEnd(self.handler, **self.SMTP_kwargs)

    return MtaController(handler, hostname=HOST, port=port)


class SmtpServer:
    def __init__(self) -> None:
        self.handler = SmtpHandler()
        self.port = free_port()
        self.controller = _mta_controller(self.handler, self.port)

    def start(self) -> None:
        self.controller.start()

    def stop(self) -> None:
        self.controller.stop()


# -- the project's processes ---------------------------------------------------------------


@dataclass
class Stack:
    """The environment of one drill's production processes, and what it started."""

    cluster: PostgresCluster
    dbname: str
    redis: RedisServer
    smtp: SmtpServer
    var_dir: Path
    logs: Path
    web_port: int = field(default_factory=free_port)
    extra_env: dict[str, str] = field(default_factory=dict)
    processes: list[Process] = field(default_factory=list)
    secret_key: str = field(default_factory=lambda: secrets.token_urlsafe(50))
    _celery: Any = None
    _redis: Any = None

    def env(self, **extra: str) -> dict[str, str]:
        # Built from scratch: nothing of the caller's DATABASE_URL, REDIS_URL etc. leaks in.
        keep = ("PATH", "HOME", "LANG", "LC_ALL", "TZ", "TMPDIR")
        env = {name: os.environ[name] for name in keep if name in os.environ}
        env |= {
            "PETITIO_ENV": "production",
            "SECRET_KEY": self.secret_key,
            "DATABASE_URL": self.cluster.url(self.dbname),
            "REDIS_URL": self.redis.url,
            "EMAIL_HOST": HOST,
            "EMAIL_PORT": str(self.smtp.port),
            "EMAIL_TIMEOUT": "10",
            "SECURE_SSL_REDIRECT": "false",
            "ALLOWED_HOSTS": "127.0.0.1,localhost",
            "SITE_URL": f"http://{HOST}:{self.web_port}",
            "PETITIO_VAR_DIR": str(self.var_dir),
            "PETITIO_HOME": str(PROJECT_DIR),
            "DB_POOL_TIMEOUT": "5",
            "PYTHONUNBUFFERED": "1",
            "LOG_LEVEL": "WARNING",
        }
        return env | self.extra_env | extra

    def start(self, name: str, command: list[str], **extra_env: str) -> Process:
        process = Process(name, command, env=self.env(**extra_env), log=self.logs / f"{name}.log")
        self.processes.append(process)
        return process

    def start_web(self) -> Process:
        """The web process exactly as the Procfile (production) starts it."""
        from tests.ops.support import procfile_command

        web = self.start(
            "web",
            ["bash", "-c", "exec " + procfile_command("web")],
            HOST=HOST,
            PORT=str(self.web_port),
            WEB_WORKERS="2",
        )
        import requests

        def up() -> bool:
            if not web.alive():
                raise AssertionError("the web process exited:\n" + web.tail())
            try:
                return requests.get(self.web_url("/healthz"), timeout=2).status_code == 200
            except requests.RequestException:
                return False

        wait_until(up, timeout=30, what="the web process to answer /healthz")
        return web

    def start_worker(self, name: str = "worker") -> Process:
        return self.start(
            name,
            [
                str(VENV_BIN / "celery"), "-A", "petitio.config.celery", "worker",
                "--concurrency", "2", "--without-gossip", "--without-mingle",
                "--without-heartbeat", "--loglevel", "WARNING", "--hostname", f"{name}@faults",
            ],
        )  # fmt: skip

    def start_beat(self) -> Process:
        return self.start(
            "beat",
            [
                str(VENV_BIN / "celery"), "-A", "petitio.config.celery", "beat",
                "--loglevel", "WARNING", "--schedule", str(self.logs / "celerybeat-schedule"),
            ],
        )  # fmt: skip

    def web_url(self, path: str) -> str:
        return f"http://{HOST}:{self.web_port}{path}"

    def scenario(self, *args: str, timeout: float = 120, **extra_env: str) -> Any:
        """Run ``tests/faults/scenario.py`` against this drill's database; its JSON answer."""
        done = subprocess.run(
            [str(VENV_BIN / "python"), "-m", "tests.faults.scenario", *args],
            cwd=PROJECT_DIR,
            env=self.env(**extra_env),
            capture_output=True,
            text=True,
            timeout=timeout,
        )
        if done.returncode != 0:
            raise AssertionError(f"scenario {args} failed:\n{done.stdout}\n{done.stderr}")
        return json.loads(done.stdout.strip().splitlines()[-1])

    def job_runner(self) -> JobRunner:
        runner = JobRunner(self)
        self.processes.append(runner.process)
        return runner

    def sql(self, query: str, params: Any = None) -> list[tuple[Any, ...]]:
        return self.cluster.sql(self.dbname, query, params)

    def send_jobs(self, name: str, *, count: int = 1) -> None:
        """Queue ``petitio.run_job(name)`` for the Celery workers, as beat would."""
        if self._celery is None:
            from celery import Celery

            self._celery = Celery("faults", broker=self.redis.url, set_as_current=False)
        for _ in range(count):
            self._celery.send_task("petitio.run_job", args=[name], ignore_result=True)

    def queued(self) -> int:
        """Tasks waiting in the Celery queue."""
        if self._redis is None:
            self._redis = self.redis.client()
        return int(self._redis.llen("celery"))

    def feed(self, name: str, *, depth: int = 2) -> None:
        """Keep ``depth`` runs of job ``name`` queued: what beat does every second."""
        if self.queued() < depth:
            self.send_jobs(name, count=depth)

    def stop_all(self) -> None:
        for process in reversed(self.processes):
            process.kill()
        self.processes.clear()
        if self._celery is not None:
            self._celery.close()
        if self._redis is not None:
            self._redis.close()


class JobRunner:
    """One long-lived process that runs jobs on request (``job_run(name)``), so a drill
    can run the outbox or the tally many times without starting Django each time."""

    def __init__(self, stack: Stack) -> None:
        self.log = stack.logs / "jobs.log"
        self._log_file = self.log.open("ab")
        self.popen = subprocess.Popen(
            [str(VENV_BIN / "python"), "-m", "tests.faults.scenario", "serve"],
            cwd=PROJECT_DIR,
            env=stack.env(),
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self._log_file,
            text=True,
            start_new_session=True,
        )
        self.process = _Adopted(self.popen, self.log)
        self._lines: list[str] = []
        self._ready = threading.Condition()
        threading.Thread(target=self._read, daemon=True).start()
        assert self._next(timeout=60) == {"ready": True}

    def _read(self) -> None:
        assert self.popen.stdout is not None
        for line in self.popen.stdout:
            with self._ready:
                self._lines.append(line)
                self._ready.notify_all()

    def _next(self, *, timeout: float) -> Any:
        with self._ready:
            if not self._ready.wait_for(lambda: self._lines, timeout=timeout):
                raise AssertionError("the job runner did not answer:\n" + self.process.tail())
            return json.loads(self._lines.pop(0))

    def run(self, job: str, *, timeout: float = 120) -> dict[str, Any]:
        assert self.popen.stdin is not None
        self.popen.stdin.write(job + "\n")
        self.popen.stdin.flush()
        answer = self._next(timeout=timeout)
        assert "error" not in answer, answer
        return answer


class _Adopted(Process):
    """A Process made elsewhere (the job runner needs pipes)."""

    def __init__(self, popen: subprocess.Popen[str], log: Path) -> None:
        self.name = "jobs"
        self.command = list(map(str, popen.args))  # type: ignore[arg-type]
        self.log = log
        self._log_file = log.open("ab")
        self.popen = popen  # type: ignore[assignment]


# -- HTTP as a browser behind the HTTPS proxy ----------------------------------------------

CSRF_FIELD = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')


@dataclass
class Submission:
    email: str
    started: float = field(default_factory=time.monotonic)
    page_status: int | None = None
    sign_status: int | None = None
    location: str = ""
    error: str = ""
    try_again_page: bool = False  # a 503 that says "please try again"

    @property
    def accepted(self) -> bool:
        return self.sign_status == 302 and "/check-your-email/" in self.location


class Browser:
    """A visitor with a cookie jar, talking to the web process as the TLS-terminating proxy
    would (``X-Forwarded-Proto: https``), so production's Secure cookies and CSRF
    origin checks apply unchanged."""

    def __init__(self, stack: Stack) -> None:
        import requests

        self.stack = stack
        self.session = requests.Session()
        self.cookies: dict[str, str] = {}
        self.form_token = ""
        self.headers = {
            "X-Forwarded-Proto": "https",
            "Origin": f"https://{HOST}:{stack.web_port}",
            "User-Agent": "petitio-fault-drill",
        }

    def _remember(self, response) -> None:
        # requests will not send Secure cookies over plain HTTP; the proxy would.
        for cookie in response.cookies:
            self.cookies[cookie.name] = cookie.value or ""

    def get(self, path: str, timeout: float = 30):
        response = self.session.get(
            self.stack.web_url(path),
            headers={**self.headers, "Referer": f"https://{HOST}:{self.stack.web_port}{path}"},
            cookies=self.cookies,
            allow_redirects=False,
            timeout=timeout,
        )
        self._remember(response)
        return response

    def sign(
        self, petition_id: int, address: str, *, name: str = "Fault Drill", reuse_form: bool = False
    ) -> Submission:
        """Open the petition page and send its form; with ``reuse_form``, send the form
        of the page opened last again (as a visitor signing for someone else would)."""
        import requests

        submission = Submission(email=address)
        path = f"/petitions/{petition_id}/"
        try:
            if not (reuse_form and self.form_token):
                page = self.get(path)
                submission.page_status = page.status_code
                if page.status_code != 200:
                    submission.try_again_page = _says_try_again(page)
                    return submission
                found = CSRF_FIELD.search(page.text)
                assert found, "no CSRF token on the petition page"
                self.form_token = found.group(1)
            answer = self.session.post(
                self.stack.web_url(f"/petitions/{petition_id}/sign/"),
                data={
                    "csrfmiddlewaretoken": self.form_token,
                    "name": name,
                    "email": address,
                    "postal_code": "53703",
                    "country": "US",
                    "eligible": "on",
                },
                headers={
                    **self.headers,
                    "Referer": f"https://{HOST}:{self.stack.web_port}{path}",
                },
                cookies=self.cookies,
                allow_redirects=False,
                timeout=30,
            )
            self._remember(answer)
            submission.sign_status = answer.status_code
            submission.location = answer.headers.get("Location", "")
            submission.try_again_page = _says_try_again(answer)
        except requests.RequestException as exc:
            submission.error = type(exc).__name__
        return submission


def _says_try_again(response) -> bool:
    return (
        response.status_code == 503
        and "Please try again" in response.text
        and response.headers.get("Retry-After") is not None
    )


@contextlib.contextmanager
def kept_on_failure(stack: Stack) -> Iterator[None]:
    """On an assertion failure, append the tails of the drill's logs to the message."""
    try:
        yield
    except AssertionError as exc:
        tails = "\n".join(
            f"--- {path.name}\n{log_tail(path)}" for path in sorted(stack.logs.glob("*.log"))
        )
        postgres = stack.cluster.log_tail()
        raise AssertionError(f"{exc}\n\nlogs:\n{tails}\n--- postgres\n{postgres}") from None
