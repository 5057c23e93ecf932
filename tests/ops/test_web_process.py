"""The production web process as the Procfile starts it (granian): its output
holds one JSON line per request and no tokens (issue 5, section 1), and a
worker that crashes is replaced."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from tests.conftest import free_port
from tests.ops.support import ROOT, procfile_command, production_env

TOKEN = "Zq7mXw2V-token-that-must-never-be-logged-4f9c"


def wait_for_port(port: int, process: subprocess.Popen, seconds: float = 30) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        assert process.poll() is None, "the web process exited"
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.1)
    raise AssertionError("the web process did not start listening")


def fetch(port: int, path: str) -> int:
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}{path}",
        headers={"Host": "petitio.example.org", "X-Forwarded-Proto": "https"},
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
            return response.status
    except urllib.error.HTTPError as refused:
        return refused.code


def web_start(home: Path, *, output: int) -> tuple[subprocess.Popen, int]:
    """``web`` from the Procfile, one worker, on a free port with production
    settings (a copy of the prepared SQLite database and static files), in its
    own process group; returned once it listens."""
    port = free_port()
    env = production_env(home, DATABASE_URL=None, PORT=str(port), WEB_WORKERS="1", WEB_THREADS="2")
    process = subprocess.Popen(
        ["bash", "-c", "exec " + procfile_command("web")],
        cwd=ROOT,
        env=env,
        stdout=output,
        stderr=output,
        text=True,
        start_new_session=True,
    )
    wait_for_port(port, process)
    return process, port


def web_stop(process: subprocess.Popen) -> tuple[str, str]:
    """Stop it (SIGTERM to its group, SIGKILL after 30 s); what it wrote, if piped."""
    os.killpg(process.pid, signal.SIGTERM)  # our own process group
    try:
        return process.communicate(timeout=30)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        return process.communicate()


@pytest.fixture(scope="module")
def web_output(production_home) -> dict[str, str]:
    """Start ``web``, make a few requests, stop it, and return what it wrote."""
    process, port = web_start(production_home(), output=subprocess.PIPE)
    try:
        statuses = {
            "healthz": fetch(port, "/healthz"),
            "confirm": fetch(port, f"/petitions/1/confirm/{TOKEN}/"),
            "unsubscribe": fetch(port, f"/unsubscribe/{TOKEN}/"),
            "quote": fetch(port, "/petitions/%22quoted%22/"),
        }
        time.sleep(0.5)  # let the worker flush its lines
    finally:
        stdout, stderr = web_stop(process)
    return {"stdout": stdout, "stderr": stderr, "statuses": statuses}


def test_web_process_answers(web_output):
    assert web_output["statuses"] == {
        "healthz": 200,
        "confirm": 404,
        "unsubscribe": 404,
        "quote": 404,
    }


def request_lines(output: str) -> list[str]:
    return [line for line in output.splitlines() if line.startswith("{")]


def test_web_process_logs_requests_as_json_with_request_ids(web_output):
    lines = [json.loads(line) for line in request_lines(web_output["stderr"])]
    requests = [line for line in lines if line.get("logger") == "petitio.requests"]
    assert [line["path"] for line in requests] == [
        "/healthz",
        "/petitions/1/confirm/[redacted]/",
        "/unsubscribe/[redacted]/",
        '/petitions/"quoted"/',
    ]
    assert all(len(line["request_id"]) == 32 for line in requests)


def test_web_process_never_writes_a_token(web_output):
    assert TOKEN not in web_output["stdout"] + web_output["stderr"]


def test_web_process_writes_one_json_line_per_request(web_output):
    output = web_output["stdout"] + web_output["stderr"]
    healthz_lines = [line for line in output.splitlines() if "/healthz" in line]
    assert len(healthz_lines) == 1
    for line in request_lines(output):
        json.loads(line)


def worker_pids(main_pid: int) -> set[int]:
    """The web server's worker processes: the children of its main process."""
    children = Path(f"/proc/{main_pid}/task/{main_pid}/children")
    return {int(pid) for pid in children.read_text().split()} if children.exists() else set()


def test_a_worker_that_crashes_is_replaced_and_the_site_answers_again(production_home):
    """A web worker killed outright (out of memory, a segfault in a C library)
    is started again by the server; the visitor after it gets the page."""
    process, port = web_start(production_home(), output=subprocess.DEVNULL)
    try:
        assert fetch(port, "/healthz") == 200
        (worker,) = worker_pids(process.pid)
        os.kill(worker, signal.SIGKILL)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            replacement = worker_pids(process.pid) - {worker}
            if replacement:
                try:
                    if fetch(port, "/healthz") == 200:
                        break
                except OSError:
                    pass
            time.sleep(0.2)
        else:
            raise AssertionError("no worker answered within 30 s of the crash")
        assert process.poll() is None, "the web server exited instead of replacing its worker"
    finally:
        web_stop(process)
