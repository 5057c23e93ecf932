"""Summarise py-spy's raw (collapsed) stacks of the web server's workers.

Three views of the same samples: the functions on top of the stack (self
time), the functions anywhere on the stack (inclusive time), and each sample
attributed to one part of the request path by its deepest recognisable frame.
"""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path
from typing import Any

FRAME = re.compile(r"^(?P<name>.*?) \((?P<file>[^()]*?)(?::(?P<line>\d+))?\)$")

# (part of the request path, patterns matched against "name (file)"), checked
# in this order on each frame from the top of the stack down.
PARTS: list[tuple[str, tuple[str, ...]]] = [
    ("logging (JSON log lines)", ("JsonFormatter", "logging/", "gunicorn/glogging")),
    ("request log + metrics middleware", ("config/observability.py", "prometheus_client")),
    ("psycopg (driver, waits on PostgreSQL)", ("psycopg",)),
    ("transactions (atomic, savepoints)", ("django/db/transaction",)),
    ("ORM (queries, models)", ("django/db/",)),
    ("templates", ("django/template",)),
    ("CSP middleware", ("csp/",)),
    ("whitenoise middleware", ("whitenoise/",)),
    (
        "other middleware (security, session, csrf, auth, otp, messages, common)",
        (
            "django/middleware",
            "django/contrib/sessions",
            "django/contrib/messages",
            "django/contrib/auth",
            "django_otp",
            "config/routers.py",
            "config/middleware.py",
            "django/core/signing",
        ),
    ),
    (
        "form and validation",
        ("django/forms", "petitions/forms.py", "django/core/validators", "django_countries"),
    ),
    ("petitio signing code", ("petitio/",)),
    (
        "Django request/response handling (URLs, HttpRequest, handlers)",
        ("django/core/handlers", "django/urls", "django/http", "django/utils", "django/dispatch"),
    ),
    ("web server (accept, parse, write)", ("gunicorn/", "granian/")),
]


def _frames(stack: str) -> list[str]:
    frames = []
    for frame in stack.split(";"):
        if frame.startswith(("process ", "thread ")):
            continue
        match = FRAME.match(frame)
        if match:
            frames.append(f"{match.group('name')} ({_short(match.group('file'))})")
        else:
            frames.append(frame)
    return frames


def _short(path: str) -> str:
    for marker in ("site-packages/", "src/", "lib/python3.11/"):
        if marker in path:
            return path.split(marker, 1)[1]
    return path


def _part(frames: list[str]) -> str:
    for frame in reversed(frames):
        for part, patterns in PARTS:
            if any(pattern in frame for pattern in patterns):
                return part
    return "other (interpreter, threads, selectors)"


def summarize(raw: Path, top: int = 25, exclude_pids: set[int] | None = None) -> dict[str, Any]:
    """``exclude_pids``: processes left out (the server's main process, which only supervises)."""
    self_time: Counter[str] = Counter()
    inclusive: Counter[str] = Counter()
    parts: Counter[str] = Counter()
    total = 0
    for line in raw.read_text(errors="replace").splitlines():
        stack, _, count = line.rpartition(" ")
        if not stack or not count.isdigit():
            continue
        # stacks start with the chain of processes (parent first): the last is the owner
        owners = re.findall(r"(?:^|;)process (\d+):", stack)
        if owners and int(owners[-1]) in (exclude_pids or set()):
            continue
        frames = _frames(stack)
        if not frames:
            continue
        n = int(count)
        total += n
        self_time[frames[-1]] += n
        for frame in set(frames):
            inclusive[frame] += n
        parts[_part(frames)] += n

    def table(counter: Counter[str]) -> list[dict[str, Any]]:
        return [
            {"frame": frame, "samples": n, "percent": round(100.0 * n / max(1, total), 1)}
            for frame, n in counter.most_common(top)
        ]

    return {
        "samples": total,
        "rate_hz": 100,
        "self": table(self_time),
        "inclusive": table(inclusive),
        "parts": [
            {"part": part, "samples": n, "percent": round(100.0 * n / max(1, total), 1)}
            for part, n in parts.most_common()
        ],
    }


if __name__ == "__main__":
    import json
    import sys

    print(json.dumps(summarize(Path(sys.argv[1])), indent=2))
