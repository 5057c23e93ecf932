"""The signing-path benchmark: one command, every scenario, books checked, results written.

Run it with ``bench/run`` (see bench/README.md). It starts the production stack
(stack.py) against a database of its own, drives it with wrk and load.lua from
a separate process, checks the books after each scenario, and writes
bench/results/<date>-<commit>.{json,md,png} (report.py).
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import random
import re
import shutil
import signal
import string
import subprocess
import sys
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from stack import BENCH_DIR, HOST, VENV_BIN, Stack, http_get, wait_until

RESULTS_DIR = BENCH_DIR / "results"


# -- wrk runs ---------------------------------------------------------------------------


@dataclass
class Run:
    name: str
    mode: str
    started: float  # epoch seconds, just before wrk started
    duration: float
    threads: int
    rate: float = 0.0
    wrk: dict[str, Any] = field(default_factory=dict)
    samples: list[tuple[float, float, int, str]] = field(default_factory=list)  # end s, lat ms
    ok: list[str] = field(default_factory=list)
    bad: list[tuple[int, str]] = field(default_factory=list)
    lost: list[str] = field(default_factory=list)


def wrk_run(
    name: str,
    mode: str,
    *,
    port: int,
    duration: float,
    threads: int,
    workdir: Path,
    rate: float = 0.0,
    **bench_env: str,
) -> Run:
    out = workdir / f"wrk-{name}.txt"
    env = dict(os.environ)
    env.update({f"BENCH_{k.upper()}": str(v) for k, v in bench_env.items()})
    env.update(
        BENCH_MODE=mode,
        BENCH_THREADS=str(threads),
        BENCH_RATE=str(rate),
        BENCH_OUT=str(out),
    )
    argv = [
        shutil.which("wrk") or "wrk",
        "-t", str(threads), "-c", str(threads), "-d", f"{max(1, round(duration))}s",
        "--timeout", "10s", "-s", str(BENCH_DIR / "load.lua"), f"http://{HOST}:{port}/",
    ]  # fmt: skip
    started = time.time()
    done = subprocess.run(  # noqa: S603 - our own wrk command line
        argv, env=env, capture_output=True, text=True, timeout=duration + 120
    )
    if done.returncode < 0 and mode == "read":
        # wrk 4.1 now and then crashes in its response parser when a script
        # reads responses (wg/wrk#96). Reads change nothing, so a read run is
        # made again once; a signing run that crashed fails, as its books would.
        print(f"wrk crashed (signal {-done.returncode}) during {name}; running it again")
        started = time.time()
        done = subprocess.run(  # noqa: S603 - as above
            argv, env=env, capture_output=True, text=True, timeout=duration + 120
        )
    if done.returncode != 0 or not out.exists():
        raise RuntimeError(f"wrk failed ({done.returncode}):\n{done.stdout}\n{done.stderr}")
    run = Run(name, mode, started, max(1, round(duration)), threads, rate)
    percentiles = {}
    for line in out.read_text(errors="replace").splitlines():
        tag, _, rest = line.partition(" ")
        if tag == "S":
            end, lat, status, kind = rest.split(" ")
            run.samples.append((float(end) / 1000.0, float(lat), int(status), kind))
        elif tag == "A":
            run.ok.append(rest)
        elif tag == "B":
            status, item = rest.split(" ", 1)
            run.bad.append((int(status), item))
        elif tag == "L":
            run.lost.append(rest)
        elif tag == "P":
            p, value = rest.split(" ")
            percentiles[p] = float(value)
        elif tag == "W":
            d, reqs, conn, read, write, status, timeout = (int(x) for x in rest.split(" "))
            run.wrk = {
                "duration_us": d,
                "requests": reqs,
                "errors": {
                    "connect": conn,
                    "read": read,
                    "write": write,
                    "status": status,
                    "timeout": timeout,
                },
            }
    run.wrk["latency_ms"] = percentiles
    return run


def percentile(values: list[float], p: float) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    rank = max(0, min(len(ordered) - 1, round(p / 100.0 * len(ordered) + 0.5) - 1))
    return ordered[rank]


def summarize(run: Run, ok_status: set[int], kinds: set[str] | None = None) -> dict[str, Any]:
    samples = [s for s in run.samples if kinds is None or s[3] in kinds]
    latencies = [s[1] for s in samples]
    statuses = Counter(s[2] for s in samples)
    last_end = max((s[0] for s in run.samples), default=run.started + run.duration)
    elapsed = max(0.001, min(run.duration, last_end - run.started))
    if kinds is None or kinds & {"sign", "confirm"}:
        accepted = len([s for s in samples if s[3] in ("sign", "confirm") and s[2] == 302])
    else:
        accepted = 0
    series = []
    buckets: dict[int, list[float]] = {}
    accepted_buckets: Counter[int] = Counter()
    for end, lat, status, kind in samples:
        second = int(end - run.started)
        buckets.setdefault(second, []).append(lat)
        if kind in ("sign", "confirm") and status == 302:
            accepted_buckets[second] += 1
    for second in sorted(buckets):
        if second >= run.duration:
            continue
        series.append(
            {
                "t": second,
                "requests": len(buckets[second]),
                "accepted": accepted_buckets[second],
                "p99_ms": round(percentile(buckets[second], 99), 1),
            }
        )
    errors = {str(k): v for k, v in sorted(statuses.items()) if k not in ok_status}
    socket_errors = {k: v for k, v in run.wrk.get("errors", {}).items() if v and k != "status"}
    return {
        "duration_s": round(elapsed, 2),
        "connections": run.threads,
        "offered_rate": run.rate or None,
        "requests": len(samples),
        "requests_per_s": round(len(samples) / elapsed, 1),
        "accepted": accepted,
        "accepted_per_s": round(accepted / elapsed, 1) if accepted else None,
        "latency_ms": {
            "p50": round(percentile(latencies, 50), 1),
            "p95": round(percentile(latencies, 95), 1),
            "p99": round(percentile(latencies, 99), 1),
            "max": round(max(latencies, default=0.0), 1),
        },
        "statuses": {str(k): v for k, v in sorted(statuses.items())},
        "errors_by_status": errors,
        "socket_errors": socket_errors,
        "unanswered": len(run.lost),
        "5xx": sum(v for k, v in statuses.items() if k >= 500),
        "series": series,
        "wrk_latency_ms": run.wrk.get("latency_ms", {}),
    }


def merge_runs(runs: list[Run]) -> Run:
    """Warm-up and measured runs together, for the books (never for the figures)."""
    merged = Run(runs[-1].name, runs[-1].mode, runs[0].started, 0, runs[-1].threads)
    for run in runs:
        merged.ok += run.ok
        merged.bad += run.bad
        merged.lost += run.lost
    return merged


# -- the data -----------------------------------------------------------------------------


def sql(query: str, params: list[Any] | None = None) -> list[tuple[Any, ...]]:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(query, params or [])
        return cursor.fetchall() if cursor.description else []


# The tables the scenarios write.
SETTLED_TABLES = (
    "signatures_signature",
    "signatures_signaturetoken",
    "notifications_outboxmessage",
    "petitions_petition",
)


def checkpoints_done() -> int:
    """Checkpoints the server has made since its statistics were reset."""
    return int(sql("SELECT checkpoints_timed + checkpoints_req FROM pg_stat_bgwriter")[0][0])


def petition_make(authority: str, action: str, key: str) -> int:
    from petitio.authorities.models import Authority
    from petitio.petitions.services import petition_create
    from petitio.signatures.models import Signature
    from petitio.signatures.services import signature_confirm, signature_token_issue

    petition = petition_create(
        action=action,
        background="A petition made by the benchmark; it measures the signing path.",
        authority=Authority.objects.get(slug=authority),
        request_declined=True,
        creator_name="Bench Creator",
        creator_email=f"creator.{key}@bench.example.org",
        postal_code="53703",
        country="US",
        eligible=True,
    )
    creator = Signature.objects.get(petition=petition, is_creator=True)
    signature_confirm(petition=petition, token=signature_token_issue(signature=creator))
    return petition.pk


def response_petition_make(signers: int) -> tuple[int, int]:
    """A petition to Madison's council with ``signers`` verified signers, owed a response."""
    from django.contrib.auth.models import User
    from django.utils import timezone

    from petitio.authorities.models import Authority, Official
    from petitio.petitions.models import Addressee, Petition
    from petitio.signatures.canonical import email_canonicalize
    from petitio.signatures.services import Signer, signatures_import_verified
    from petitio.signatures.tally import tally_run

    pk = petition_make("madison-council", "Benchmark: answer every signer", "response")
    petition = Petition.objects.get(pk=pk)
    signatures_import_verified(
        petition=petition,
        signers=(
            Signer(
                name=f"Reader {i}",
                email=f"reader{i}@example.org",
                email_canonical=email_canonicalize(f"reader{i}@example.org"),
                postal_code="53703",
                country="US",
                region="",
            )
            for i in range(signers)
        ),
        verified_at=timezone.now(),
    )
    while tally_run().counted:
        pass
    addressee = Addressee.objects.get(petition_id=pk)
    if addressee.response_due_at is None:
        raise RuntimeError("the response petition did not reach its response milestone")
    user = User.objects.create(username="bench-official", first_name="Bench", is_staff=True)
    Official.objects.create(user=user, authority=Authority.objects.get(slug="madison-council"))
    return pk, user.pk


def signing_queries(petition_id: int, email: str) -> list[str]:
    """The SQL one signature costs: one POST through the product's whole stack, in-process."""
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    client = Client(HTTP_HOST=HOST)
    with CaptureQueriesContext(connection) as captured:
        response = client.post(
            f"/petitions/{petition_id}/sign/",
            {
                "name": "Query Counter",
                "email": email,
                "postal_code": "53703",
                "country": "US",
                "eligible": "on",
            },
        )
    if response.status_code != 302:
        return [f"(the POST answered {response.status_code})"]
    return [" ".join(q["sql"].split())[:300] for q in captured.captured_queries]


def csrf_fetch(port: int, petition_id: int) -> tuple[str, str]:
    status, headers, body = http_get(port, f"/petitions/{petition_id}/")
    if status != 200:
        raise RuntimeError(f"the petition page answered {status}")
    cookie = ""
    for name, value in headers:
        if name.lower() == "set-cookie" and value.startswith("csrftoken="):
            cookie = value.split(";", 1)[0]
    token = re.search(rb'name="csrfmiddlewaretoken" value="([^"]+)"', body)
    if not cookie or not token:
        raise RuntimeError("no CSRF cookie or form token on the petition page")
    return cookie, token.group(1).decode()


def settle(query: str, params: list[Any], *, quiet: float = 1.0, timeout: float = 60) -> Any:
    """Wait until a query's answer stops changing (requests still in the server finish)."""
    last = sql(query, params)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        time.sleep(quiet)
        now = sql(query, params)
        if now == last:
            return now
        last = now
    return last


# -- books --------------------------------------------------------------------------------


class SigningLedger:
    """What the load generator asked and was told, per petition, for the books."""

    def __init__(self) -> None:
        self.attempted: dict[int, set[str]] = {}
        self.accepted: dict[int, set[str]] = {}
        self.unanswered: dict[int, set[str]] = {}
        self.accepted_requests: dict[int, int] = {}

    def record(self, petition_id: int, run: Run) -> None:
        from petitio.signatures.canonical import email_canonicalize

        attempted = self.attempted.setdefault(petition_id, set())
        accepted = self.accepted.setdefault(petition_id, set())
        for email in run.ok:
            accepted.add(email_canonicalize(email))
        self.accepted_requests[petition_id] = self.accepted_requests.get(petition_id, 0) + len(
            run.ok
        )
        attempted |= accepted
        attempted.update(email_canonicalize(item) for _, item in run.bad)
        unanswered = self.unanswered.setdefault(petition_id, set())
        for item in run.lost:
            kind, _, email = item.partition(" ")
            if kind == "sign":
                attempted.add(email_canonicalize(email))
                unanswered.add(email_canonicalize(email))

    def check(self, petition_id: int, *, product: bool, naive: bool = False) -> dict[str, Any]:
        rows = settle(
            "SELECT count(*) FROM signatures_signature WHERE petition_id = %s", [petition_id]
        )
        canon = sql(
            "SELECT email_canonical, count(*) FROM signatures_signature"
            " WHERE petition_id = %s AND NOT is_creator GROUP BY email_canonical",
            [petition_id],
        )
        in_db = {row[0] for row in canon}
        duplicated = sum(row[1] - 1 for row in canon if row[1] > 1)
        accepted = self.accepted.get(petition_id, set())
        attempted = self.attempted.get(petition_id, set())
        lost = accepted - in_db
        phantom = in_db - attempted
        # Stored, yet every answer said it was not: only a request still
        # unanswered when wrk stopped may be stored without an acceptance.
        refused_but_stored = in_db - accepted - self.unanswered.get(petition_id, set())
        books: dict[str, Any] = {
            "signatures_in_db": rows[0][0] - 1,  # less the creator's
            "accepted_submissions": self.accepted_requests.get(petition_id, 0),
            "unique_accepted_emails": len(accepted),
            "unique_attempted_emails": len(attempted),
            "in_doubt_stored": len(in_db - accepted),
            "lost": len(lost),
            "duplicated": duplicated,
            "phantom": len(phantom),
            "stored_though_refused": len(refused_but_stored),
        }
        ok = not lost and not phantom and not refused_but_stored and duplicated == 0
        if product:
            # one confirmation email queued per signature, none twice
            queued = sql(
                "SELECT count(*), count(DISTINCT payload->>'signature_id')"
                " FROM notifications_outboxmessage"
                " WHERE kind = 'signature_confirm' AND petition_id = %s",
                [petition_id],
            )[0]
            books["confirmations_queued"] = queued[0] - 1
            books["confirmations_queued_twice"] = queued[0] - queued[1]
            ok = ok and queued[0] == rows[0][0] and queued[0] == queued[1]
        if naive:
            shown = sql(
                "SELECT signature_count FROM petitions_petition WHERE id = %s", [petition_id]
            )[0][0]
            books["naive_count"] = shown - 1
            ok = ok and shown == rows[0][0]
        if lost:
            books["lost_examples"] = sorted(lost)[:5]
        if phantom:
            books["phantom_examples"] = sorted(phantom)[:5]
        if refused_but_stored:
            books["stored_though_refused_examples"] = sorted(refused_but_stored)[:5]
        books["balanced"] = ok
        return books


def sink_lines(path: Path) -> list[tuple[float, str, str, str]]:
    if not path.exists():
        return []
    lines = []
    with path.open() as handle:
        for line in handle:
            parts = line.rstrip("\n").split("\t")
            if len(parts) == 4:
                lines.append((float(parts[0]), parts[1], parts[2], parts[3]))
    return lines


# -- the benchmark ------------------------------------------------------------------------


class Bench:
    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self.stack = Stack(pg_url=args.pg_url, redis_url=args.redis_url, keep=args.keep)
        self.ledger = SigningLedger()
        self.results: dict[str, Any] = {"scenarios": {}, "books": {}, "phases": {}}
        self.failures: list[str] = []
        self.tag_serial = 0
        self.rng = random.Random()
        self.profile: dict[str, Any] | None = None

    def log(self, message: str) -> None:
        print(f"[bench {time.strftime('%H:%M:%S')}] {message}", flush=True)

    def tag(self) -> str:
        self.tag_serial += 1
        letters = "".join(self.rng.choice(string.ascii_lowercase) for _ in range(5))
        return f"{letters}{string.ascii_lowercase[self.tag_serial % 26]}"

    # -- setup ----------------------------------------------------------------------

    def setup(self) -> None:
        stack = self.stack
        self.log(f"database {stack.dbname}, redis {stack.redis_url}, run dir {stack.root}")
        stack.database_create()
        stack.redis_flush()
        stack.prepare()
        os.environ.update(stack.env)
        import django

        django.setup()
        self.log("creating the petitions")
        self.p_sign = petition_make("us-president", "Benchmark: the signing path", "sign")
        self.p_naive = petition_make("us-president", "Benchmark: the naive baseline", "naive")
        self.p_floor = petition_make("us-president", "Benchmark: the floor baseline", "floor")
        from petitio.signatures.tally import tally_run

        while tally_run().counted:
            pass
        if "delivery" in self.args.scenarios:
            self.log(f"importing {self.args.signers:,} verified signers for the delivery scenario")
            started = time.monotonic()
            self.p_resp, self.official = response_petition_make(self.args.signers)
            self.results["phases"]["delivery_setup_s"] = round(time.monotonic() - started, 1)
        stack.sink_start()
        stack.web_start()
        self.cookie, self.csrf = csrf_fetch(stack.web_port, self.p_sign)
        self.log(f"stack up: web :{stack.web_port}, baselines :{stack.baseline_port}")

    # -- signing scenarios --------------------------------------------------------------

    def sign_paths(self, which: str, petition_id: int) -> tuple[int, str]:
        if which == "product":
            return self.stack.web_port, f"/petitions/{petition_id}/sign/"
        return self.stack.baseline_port, f"/{which}/{petition_id}/sign/"

    def load(self, name: str, mode: str, *, duration: float, rate: float = 0.0, **env) -> Run:
        return wrk_run(
            name,
            mode,
            port=env.pop("port"),
            duration=duration,
            threads=self.args.connections,
            workdir=self.stack.root,
            rate=rate,
            cookie=self.cookie,
            csrf=self.csrf,
            tag=self.tag(),
            dup=self.args.dup_every,
            **env,
        )

    def settle(self) -> None:
        """Start a scenario with the database's housekeeping for the ones before
        it done: VACUUM ANALYZE of the tables they wrote, then a checkpoint.

        Otherwise autovacuum, woken by one scenario's rows, may run in the next
        one's window, and a checkpoint
        (the server makes one every 1 GB of WAL, a couple of minutes of
        signing) falling in one window and not another, with the full-page
        writes after it, could move a scenario by a third."""
        started = time.monotonic()
        try:
            for table in SETTLED_TABLES:
                sql(f"VACUUM (ANALYZE) {table}")
            sql("CHECKPOINT")
        except Exception as exc:  # not a superuser: measure without it, and say so
            self.log(f"housekeeping refused ({exc}); windows may include it")
        self.log(f"vacuumed and checkpointed in {time.monotonic() - started:.1f}s")

    def measured(self, name: str, mode: str, **env) -> tuple[Run, list[Run]]:
        self.settle()
        runs = []
        if self.args.warmup > 0:
            runs.append(self.load(f"{name}-warmup", mode, duration=self.args.warmup, **dict(env)))
        before = checkpoints_done()
        runs.append(self.load(name, mode, duration=self.args.duration, **dict(env)))
        if (during := checkpoints_done() - before) > 0:
            self.log(f"{name}: {during} checkpoint(s) inside the measured window")
        return runs[-1], runs

    def scenario_sign(self, name: str, which: str, petition_id: int, rate: float = 0.0) -> None:
        port, path = self.sign_paths(which, petition_id)
        pace = f"{rate:g}/s offered" if rate else "closed loop"
        self.log(f"{name}: POST {path} ({pace})")
        run, runs = self.measured(
            name,
            "sign",
            port=port,
            sign=path,
            page=f"/petitions/{petition_id}/",
            count=f"/petitions/{petition_id}/count.json",
            rate=rate,
        )
        self.results["scenarios"][name] = summarize(run, {302})
        self.results["scenarios"][name]["path"] = path
        self.ledger.record(petition_id, merge_runs(runs))
        books = self.ledger.check(petition_id, product=which == "product", naive=which == "naive")
        self.books(name, books)
        self.log(self.line(name))

    def scenario_mix(self) -> None:
        petition_id = self.p_sign
        self.log("mix: 80% page/count reads, 20% signatures")
        run, runs = self.measured(
            "mix",
            "mix",
            port=self.stack.web_port,
            sign=f"/petitions/{petition_id}/sign/",
            page=f"/petitions/{petition_id}/",
            count=f"/petitions/{petition_id}/count.json",
        )
        result = summarize(run, {200, 302, 304})
        result["headline"] = "requests"
        result["reads"] = summarize(run, {200, 304}, {"page", "count"})
        result["signatures"] = summarize(run, {302}, {"sign"})
        for part in ("reads", "signatures"):
            result[part].pop("series")
        self.results["scenarios"]["mix"] = result
        self.ledger.record(petition_id, merge_runs(runs))
        self.books("mix", self.ledger.check(petition_id, product=True))
        self.log(self.line("mix"))

    def scenario_read(self) -> None:
        petition_id = self.p_sign
        before = sql(
            "SELECT (SELECT count(*) FROM signatures_signature WHERE petition_id = %s),"
            " (SELECT signature_count FROM petitions_petition WHERE id = %s)",
            [petition_id, petition_id],
        )
        self.log("read: the petition page and count.json, half each")
        run, _ = self.measured(
            "read",
            "read",
            port=self.stack.web_port,
            page=f"/petitions/{petition_id}/",
            count=f"/petitions/{petition_id}/count.json",
        )
        result = summarize(run, {200, 304})
        result["page"] = summarize(run, {200, 304}, {"page"})
        result["count_json"] = summarize(run, {200, 304}, {"count"})
        for part in ("page", "count_json"):
            result[part].pop("series")
        self.results["scenarios"]["read"] = result
        after = sql(
            "SELECT (SELECT count(*) FROM signatures_signature WHERE petition_id = %s),"
            " (SELECT signature_count FROM petitions_petition WHERE id = %s)",
            [petition_id, petition_id],
        )
        self.books(
            "read",
            {"unchanged": before == after, "balanced": before == after, "rows_and_count": after},
        )
        self.log(self.line("read"))

    # -- confirmation emails and confirm --------------------------------------------------

    def confirmation_emails(self) -> list[str]:
        """Deliver the queued confirmation emails to the sink; the links they carry."""
        stack = self.stack
        pending = {
            row[0]: row[1]
            for row in sql(
                "SELECT id, lower(email) FROM signatures_signature"
                " WHERE petition_id = %s AND state = 'pending'",
                [self.p_sign],
            )
        }
        queued = sql(
            "SELECT count(*) FROM notifications_outboxmessage WHERE state IN ('pending', 'sending')"
        )[0][0]
        self.log(f"confirmation emails: delivering {queued:,} queued messages to the sink")
        offset = len(sink_lines(stack.sink_file))
        started = time.time()
        stack.celery_start()
        cap = max(180.0, queued / 20.0)
        wait_until(
            lambda: (
                sql(
                    "SELECT count(*) FROM notifications_outboxmessage"
                    " WHERE state IN ('pending', 'sending')"
                )[0][0]
                == 0
            ),
            timeout=cap,
            what="the confirmation emails to be delivered",
            every=0.5,
        )
        time.sleep(0.5)  # the sink flushes every 0.2 s
        lines = [
            line for line in sink_lines(stack.sink_file)[offset:] if line[2].startswith("confirm:")
        ]
        by_signature: Counter[int] = Counter(int(line[2].split(":")[1]) for line in lines)
        links = {int(line[2].split(":")[1]): line[3] for line in lines if line[3] != "-"}
        last = max((line[0] for line in lines), default=started)
        missing = [sid for sid in pending if by_signature[sid] == 0]
        twice = [sid for sid, n in by_signature.items() if n > 1]
        wrong_recipient = [
            line for line in lines
            if int(line[2].split(":")[1]) in pending
            and line[1] != pending[int(line[2].split(":")[1])]
        ]  # fmt: skip
        books = {
            "pending_signatures": len(pending),
            "confirmation_emails_at_sink": len(lines),
            "missing": len(missing),
            "sent_twice": len(twice),
            "wrong_recipient": len(wrong_recipient),
            "balanced": not missing and not twice and not wrong_recipient,
        }
        self.books("confirmation_emails", books)
        elapsed = max(0.001, last - started)
        self.results["phases"]["confirmation_emails"] = {
            "emails": len(lines),
            "seconds": round(elapsed, 1),
            "emails_per_s": round(len(lines) / elapsed, 1),
        }
        self.log(
            f"confirmation emails: {len(lines):,} in {elapsed:.1f}s"
            f" ({len(lines) / elapsed:.0f}/s), books {'ok' if books['balanced'] else 'WRONG'}"
        )
        self.stack.celery_stop()
        return {links[sid]: sid for sid in sorted(links) if sid in pending}

    def tokens_issue(self) -> dict[str, int]:
        """Tokens for the pending signatures, issued as the confirmation email would
        (signature_token_issue); the emails themselves stay queued, unsent."""
        from django.db import transaction

        from petitio.signatures.models import Signature
        from petitio.signatures.services import signature_token_issue

        started = time.monotonic()
        pending = Signature.objects.filter(
            petition_id=self.p_sign, state=Signature.State.PENDING, is_creator=False
        ).order_by("id")[: self.args.max_tokens]
        paths = {}
        with transaction.atomic():
            for signature in pending:
                token = signature_token_issue(signature=signature)
                paths[f"/petitions/{self.p_sign}/confirm/{token}/"] = signature.pk
        self.results["phases"]["tokens_issued"] = {
            "tokens": len(paths),
            "seconds": round(time.monotonic() - started, 1),
        }
        self.log(f"confirm: {len(paths):,} tokens issued in {time.monotonic() - started:.1f}s")
        return paths

    def scenario_confirm(self, token_signature: dict[str, int]) -> None:
        stack = self.stack
        petition_id = self.p_sign
        links = list(token_signature)
        self.rng.shuffle(links)
        share = self.args.warmup / (self.args.warmup + self.args.duration)
        cut = int(len(links) * share) if self.args.warmup > 0 else 0
        pools = []
        for name, chunk in (("confirm-warmup", links[:cut]), ("confirm", links[cut:])):
            path = stack.root / f"tokens-{name}.txt"
            path.write_text("".join(f"{link}\n" for link in chunk))
            pools.append((name, path, len(chunk)))
        base = sql("SELECT signature_count FROM petitions_petition WHERE id = %s", [petition_id])
        base_count = base[0][0]
        polls: list[tuple[float, int]] = []
        stop = threading.Event()

        def poll() -> None:
            import http.client

            conn = http.client.HTTPConnection(HOST, stack.web_port, timeout=10)
            while not stop.is_set():
                try:
                    conn.request("GET", f"/petitions/{petition_id}/count.json")
                    response = conn.getresponse()
                    data = json.loads(response.read())
                    polls.append((time.time(), int(data["signature_count"])))
                except (OSError, ValueError, KeyError):
                    conn.close()
                    conn = http.client.HTTPConnection(HOST, stack.web_port, timeout=10)
                stop.wait(0.1)
            conn.close()

        def tally() -> None:
            # the scheduler's tally job, run in-process on its schedule (every 1 s)
            from django.db import connection

            from petitio.config.schedule import job_run, jobs

            every = next(job.every_seconds for job in jobs() if job.name == "tally")
            while not stop.is_set():
                job_run("tally")
                stop.wait(every)
            connection.close()

        poller = threading.Thread(target=poll, daemon=True)
        poller.start()
        ticker = threading.Thread(target=tally, daemon=True)
        ticker.start()
        self.log(f"confirm: POST the confirmation links ({len(links):,} tokens)")
        self.settle()
        runs = []
        for name, path, size in pools:
            if size == 0:
                continue
            duration = self.args.warmup if name.endswith("warmup") else self.args.duration
            runs.append(
                self.load(
                    name,
                    "confirm",
                    duration=duration,
                    port=stack.web_port,
                    tokens=str(path),
                    count=f"/petitions/{petition_id}/count.json",
                )
            )
        run = runs[-1]
        result = summarize(run, {302})
        result["token_pool"] = pools[-1][2]
        result["pool_exhausted"] = len(run.ok) + len(run.bad) >= pools[-1][2]
        verified = settle(
            "SELECT count(*) FROM signatures_signature WHERE petition_id = %s"
            " AND state = 'verified'",
            [petition_id],
        )[0][0]
        try:
            wait_until(
                lambda: polls and polls[-1][1] >= verified,
                timeout=120,
                what="the displayed count to catch up",
                every=0.05,
            )
        finally:
            time.sleep(0.3)
            stop.set()
            poller.join(timeout=15)
            ticker.join(timeout=60)
        verified_at = [
            row[0].timestamp()
            for row in sql(
                "SELECT verified_at FROM signatures_signature WHERE petition_id = %s"
                " AND state = 'verified' AND NOT is_creator ORDER BY verified_at",
                [petition_id],
            )
        ]
        caught = next((t for t, count in polls if count >= verified), None)
        # the k-th confirmation shows once a poll made after it reads base + k or more
        lags = []
        index = 0
        for k, at in enumerate(verified_at, start=1):
            while index < len(polls) and (polls[index][1] < base_count + k or polls[index][0] < at):
                index += 1
            if index < len(polls):
                lags.append(polls[index][0] - at)
        result["tally_lag_s"] = {
            "last_confirmation_to_count": round(caught - verified_at[-1], 2)
            if caught and verified_at
            else None,
            "p50": round(percentile(lags, 50), 2),
            "p99": round(percentile(lags, 99), 2),
            "max": round(max(lags, default=0.0), 2),
            "poll_interval_s": 0.1,
        }
        self.results["scenarios"]["confirm"] = result
        # books: every accepted confirmation verified, nothing verified unasked, count exact
        merged = merge_runs(runs)
        state_of = {
            row[0]: row[1]
            for row in sql(
                "SELECT s.id, s.state FROM signatures_signature s WHERE petition_id = %s",
                [petition_id],
            )
        }
        confirmed = {token_signature[path] for path in merged.ok if path in token_signature}
        tried = confirmed | {
            token_signature[item] for _, item in merged.bad if item in token_signature
        }
        unanswered = {
            token_signature[item.split(" ", 1)[1]]
            for item in merged.lost
            if item.split(" ", 1)[1] in token_signature
        }
        tried |= unanswered
        now_verified = {
            sid for sid, state in state_of.items() if state == "verified"
        } - {row[0] for row in sql(
            "SELECT id FROM signatures_signature WHERE petition_id = %s AND is_creator",
            [petition_id],
        )}  # fmt: skip
        shown = sql("SELECT signature_count FROM petitions_petition WHERE id = %s", [petition_id])[
            0
        ][0]
        untallied = sql(
            "SELECT count(*) FROM signatures_signature WHERE petition_id = %s"
            " AND state = 'verified' AND NOT tallied",
            [petition_id],
        )[0][0]
        books = {
            "accepted_confirmations": len(merged.ok),
            "verified_rows": len(now_verified),
            "lost": len(confirmed - now_verified),
            "verified_without_request": len(now_verified - tried),
            # verified, yet every answer to its link said it was not
            "verified_though_refused": len(now_verified - confirmed - unanswered),
            "count_shown": shown - 1,
            "count_matches_verified": shown == verified,
            "untallied": untallied,
        }
        books["balanced"] = (
            books["lost"] == 0
            and books["verified_without_request"] == 0
            and books["verified_though_refused"] == 0
            and shown == verified
            and untallied == 0
        )
        self.books("confirm", books)
        self.log(self.line("confirm") + f", lag {result['tally_lag_s']}")

    # -- delivery -------------------------------------------------------------------

    def scenario_delivery(self) -> None:
        from django.contrib.auth.models import User

        from petitio.petitions.models import Addressee
        from petitio.responses.services import response_publish

        stack = self.stack
        offset = len(sink_lines(stack.sink_file))
        expected = {
            row[0]
            for row in sql(
                "SELECT lower(email) FROM signatures_signature WHERE petition_id = %s"
                " AND state = 'verified'",
                [self.p_resp],
            )
        }
        cap = self.args.delivery_max_seconds
        self.log(
            f"delivery: publishing a response to {len(expected):,} signers"
            f" (Celery worker + beat from the Procfile; at most {cap:g} s)"
        )
        stack.celery_start()
        started = time.time()
        response = response_publish(
            addressee=Addressee.objects.get(petition_id=self.p_resp),
            summary="The council will review every point raised by the petition.",
            body="Thank you for signing. The council has read the petition and will "
            "review every point it raises at its next meeting.",
            by=User.objects.get(pk=self.official),
        )
        published = time.time()
        prefix = f"response:{response.pk}:"
        states_sql = (
            "SELECT state, count(*) FROM notifications_outboxmessage"
            " WHERE kind = 'response' AND key LIKE %s GROUP BY state"
        )
        deadline = time.monotonic() + cap
        last_progress, last_done = time.monotonic(), -1
        capped = False
        while True:
            states = dict(sql(states_sql, [prefix + "%"]))
            open_ = states.get("pending", 0) + states.get("sending", 0)
            finished = sum(states.values()) - open_
            if open_ == 0:
                break
            if finished != last_done:
                last_done, last_progress = finished, time.monotonic()
            if time.monotonic() > deadline:
                capped = True
                break
            if time.monotonic() - last_progress > 120:
                self.failures.append(f"delivery made no progress for 120 s ({open_} left)")
                break
            time.sleep(1.0)
        stopped = time.time()
        stack.celery_stop()  # a warm shutdown: the batch in hand is finished
        time.sleep(0.6)  # the sink writes its file every 0.2 s
        lines = [x for x in sink_lines(stack.sink_file)[offset:] if x[2].startswith(prefix)]
        keys = Counter(line[2] for line in lines)
        recipients = Counter(line[1] for line in lines)
        in_window = [line for line in lines if line[0] <= stopped]
        last = max((line[0] for line in in_window), default=published)
        elapsed = max(0.001, last - started)
        series: Counter[int] = Counter(int(line[0] - started) for line in in_window)
        final_states = dict(sql(states_sql, [prefix + "%"]))
        self.results["scenarios"]["delivery"] = {
            "signers": len(expected),
            "emails_at_sink": len(lines),
            "emails_in_window": len(in_window),
            "complete": not capped and len(set(recipients)) == len(expected),
            "stopped_at_cap_s": cap if capped else None,
            "fanout_insert_s": round(published - started, 2),
            "seconds": round(elapsed, 1),
            "emails_per_s": round(len(in_window) / elapsed, 1),
            "emails_per_s_after_fanout": round(len(in_window) / max(0.001, last - published), 1),
            "outbox_states": final_states,
            "celery_concurrency": os.environ.get("CELERY_CONCURRENCY", "2"),
            "series": [{"t": t, "emails": series[t]} for t in range(int(elapsed) + 1)],
        }
        sent_rows = final_states.get("sent", 0)
        books = {
            "signers": len(expected),
            "emailed": len(recipients),
            "not_yet_emailed": len(expected - set(recipients)),
            "emailed_twice": sum(1 for n in recipients.values() if n > 1)
            + sum(1 for n in keys.values() if n > 1),
            "unexpected_recipients": len(set(recipients) - expected),
            "rows_sent": sent_rows,
            "rows_still_queued": final_states.get("pending", 0) + final_states.get("sending", 0),
            "rows_failed": final_states.get("failed", 0),
        }
        # none twice, none to a stranger, every row marked sent is at the sink, and
        # every signer emailed or (stopped at the cap) still queued: nothing lost
        books["balanced"] = (
            books["emailed_twice"] == 0
            and books["unexpected_recipients"] == 0
            and sent_rows == len(lines)
            and books["rows_failed"] == 0
            and books["not_yet_emailed"] == books["rows_still_queued"]
            and (capped or books["not_yet_emailed"] == 0)
        )
        if capped and self.args.smoke:
            self.failures.append("smoke: delivery did not finish within its cap")
        self.books("delivery", books)
        result = self.results["scenarios"]["delivery"]
        self.log(
            f"delivery: {len(in_window):,} emails in {elapsed:.1f}s = {result['emails_per_s']}/s"
            + (f" (stopped at the {cap:g} s cap)" if capped else "")
            + f", books {'ok' if books['balanced'] else 'WRONG'}"
        )

    # -- profile --------------------------------------------------------------------

    def scenario_profile(self) -> None:
        import profile_summary

        stack = self.stack
        pyspy = VENV_BIN / "py-spy"
        if not pyspy.exists():
            self.log("profile: py-spy is not installed; skipped")
            return
        raw = stack.root / "profile.txt"
        raw_gil = stack.root / "profile-gil.txt"
        seconds = self.args.profile_seconds
        email = f"queries.{time.time_ns()}@example.org"
        self.profile_queries = signing_queries(self.p_sign, email)
        self.ledger.attempted.setdefault(self.p_sign, set()).add(email)
        self.ledger.accepted.setdefault(self.p_sign, set()).add(email)
        self.log(f"profile: py-spy on the web workers for {seconds}s while signing at full speed")
        spies = [
            subprocess.Popen(  # noqa: S603 - our own py-spy command line
                [
                    str(pyspy), "record", "--pid", str(stack.web.pid), "--subprocesses",
                    "--duration", str(seconds), "--rate", "100", "--format", "raw",
                    "--nonblocking", "--output", str(path), *extra,
                ],
                stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
            )
            for path, extra in ((raw, []), (raw_gil, ["--gil"]))
        ]  # fmt: skip
        time.sleep(1.0)
        port, path = self.sign_paths("product", self.p_sign)
        run = self.load(
            "profile",
            "sign",
            duration=seconds + 1,
            port=port,
            sign=path,
            page=f"/petitions/{self.p_sign}/",
            count=f"/petitions/{self.p_sign}/count.json",
        )
        outputs = [spy.communicate(timeout=120)[0] for spy in spies]
        self.ledger.record(self.p_sign, run)
        self.books("profile", self.ledger.check(self.p_sign, product=True))
        if spies[0].returncode != 0 or not raw.exists():
            self.log(f"profile: py-spy failed: {outputs[0][-500:]}")
            self.profile = {"error": outputs[0][-2000:]}
            return
        self.profile = profile_summary.summarize(raw, exclude_pids={stack.web.pid})
        if raw_gil.exists():
            self.profile["gil"] = profile_summary.summarize(raw_gil, exclude_pids={stack.web.pid})
        self.profile["queries"] = self.profile_queries
        self.profile["load"] = summarize(run, {302})
        self.profile["load"].pop("series")
        self.profile_raw = [raw, raw_gil]

    # -- helpers ----------------------------------------------------------------------

    def books(self, name: str, books: dict[str, Any]) -> None:
        self.results["books"][name] = books
        if not books.get("balanced"):
            self.failures.append(f"books do not balance after {name}: {books}")

    def line(self, name: str) -> str:
        r = self.results["scenarios"][name]
        rate = r["accepted_per_s"] or r["requests_per_s"]
        if r.get("headline") == "requests":
            rate = r["requests_per_s"]
        books = self.results["books"].get(name, {}).get("balanced")
        return (
            f"{name}: {rate}/s, p50 {r['latency_ms']['p50']} ms, p99 {r['latency_ms']['p99']} ms,"
            f" errors {r['errors_by_status'] or '-'} {r['socket_errors'] or ''}"
            f" books {'ok' if books else 'WRONG'}"
        )

    def run(self) -> int:
        args = self.args
        started = time.time()
        self.results["machine"] = machine_describe()
        self.results["machine"]["loadavg_start"] = loadavg()
        self.results["config"] = {
            "mode": "smoke" if args.smoke else "full",
            "duration_s": args.duration,
            "warmup_s": args.warmup,
            "connections": args.connections,
            "duplicates": f"1 in {args.dup_every}",
            "sign_rate_offered": args.rate,
            "delivery_signers": args.signers,
        }
        try:
            self.setup()
            self.results["config"]["web"] = self.stack.web_workers()
            s = args.scenarios
            if "delivery" in s:
                # first, while the outbox holds nothing else: it is measured on its own
                self.scenario_delivery()
            if "sign" in s:
                self.scenario_sign("sign", "product", self.p_sign)
                if args.rate:
                    self.scenario_sign(f"sign@{args.rate:g}", "product", self.p_sign, args.rate)
            if "naive" in s:
                self.scenario_sign("naive", "naive", self.p_naive)
            if "floor" in s:
                self.scenario_sign("floor", "floor", self.p_floor)
            if "mix" in s:
                self.scenario_mix()
            if args.profile:
                self.scenario_profile()
            if "confirm" in s:
                if args.tokens == "email":
                    tokens = self.confirmation_emails()
                else:
                    tokens = self.tokens_issue()
                if tokens:
                    self.scenario_confirm(tokens)
            if "read" in s:
                self.scenario_read()
            for name, result in self.results["scenarios"].items():
                if result.get("5xx"):
                    self.failures.append(f"{name}: {result['5xx']} responses with status 5xx")
        except Exception as exc:  # report what happened, with the processes' last words
            import traceback

            traceback.print_exc()
            self.failures.append(f"the benchmark stopped: {type(exc).__name__}: {exc}")
            for process in self.stack.processes:
                print(f"--- {process.name} (last lines)\n{process.tail(15)}", file=sys.stderr)
        finally:
            self.results["machine"]["loadavg_end"] = loadavg()
            self.results["runtime_s"] = round(time.time() - started, 1)
            self.results["failures"] = self.failures
            try:
                self.write()
            finally:
                self.stack.teardown()
        for failure in self.failures:
            print(f"FAIL: {failure}", file=sys.stderr)
        self.log(f"done in {time.time() - started:.0f}s: {'FAILED' if self.failures else 'ok'}")
        return 1 if self.failures else 0

    def write(self) -> None:
        import report

        commit = git_commit()
        date = datetime.now(UTC).strftime("%Y-%m-%d")
        stem = f"{date}-{commit}" + ("-smoke" if self.args.smoke else "")
        out = Path(self.args.out)
        out.mkdir(parents=True, exist_ok=True)
        self.results["commit"] = commit
        self.results["date"] = datetime.now(UTC).isoformat(timespec="seconds")
        if self.profile is not None:
            self.results["profile"] = self.profile
            for raw in getattr(self, "profile_raw", []):
                if raw.exists():
                    name = f"{stem}-{raw.name}.gz"
                    with raw.open("rb") as src, gzip.open(out / name, "wb") as dst:
                        shutil.copyfileobj(src, dst)
                    self.results["profile"].setdefault("raw", []).append(name)
        report.write(self.results, out, stem)
        self.log(f"results: {out / stem}.json, .md, .png")


# -- the machine ------------------------------------------------------------------------


def loadavg() -> list[float]:
    try:
        return [float(x) for x in Path("/proc/loadavg").read_text().split()[:3]]
    except OSError:
        return []


def machine_describe() -> dict[str, Any]:
    import platform

    model = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    memory = ""
    try:
        kb = int(Path("/proc/meminfo").read_text().split("MemTotal:")[1].split()[0])
        memory = f"{kb / 1024 / 1024:.1f} GiB"
    except (OSError, IndexError, ValueError):
        pass
    wrk_version = subprocess.run(  # noqa: S603
        [shutil.which("wrk") or "wrk", "--version"], capture_output=True, text=True
    ).stdout.splitlines()[:1]
    return {
        "nproc": os.cpu_count(),
        "cpu_model": model,
        "memory": memory,
        "kernel": platform.release(),
        "python": platform.python_version(),
        "wrk": " ".join(wrk_version[0].split()[:2]) if wrk_version else "",
    }


def git_commit() -> str:
    """The checked-out commit, read from .git without running git."""
    git = BENCH_DIR.parent / ".git"
    try:
        if git.is_file():  # a worktree: "gitdir: <path>"
            git = Path(git.read_text().split(":", 1)[1].strip())
        head = (git / "HEAD").read_text().strip()
        if not head.startswith("ref:"):
            return head[:10]
        ref = head.split(":", 1)[1].strip()
        common = git
        if (git / "commondir").exists():
            common = (git / (git / "commondir").read_text().strip()).resolve()
        for base in (git, common):
            if (base / ref).exists():
                return (base / ref).read_text().strip()[:10]
        for base in (git, common):
            packed = base / "packed-refs"
            if packed.exists():
                for line in packed.read_text().splitlines():
                    if line.endswith(" " + ref):
                        return line.split()[0][:10]
    except (OSError, IndexError):
        pass
    return "nocommit"


def main() -> int:
    parser = argparse.ArgumentParser(description="Petitio's signing-path benchmark")
    parser.add_argument("--smoke", action="store_true", help="3 s per scenario, small counts")
    parser.add_argument("--duration", type=float, help="seconds per measured scenario (60)")
    parser.add_argument("--warmup", type=float, help="seconds of warm-up before each (5)")
    parser.add_argument("--connections", type=int, help="wrk connections = threads (16)")
    parser.add_argument("--rate", type=float, help="offered signatures/s for sign@rate (500)")
    parser.add_argument("--signers", type=int, help="signers emailed in delivery (100000)")
    parser.add_argument("--dup-every", type=int, default=50, help="1 in N is a duplicate (2%%)")
    parser.add_argument(
        "--scenarios",
        default="sign,naive,floor,mix,confirm,read,delivery",
        help="comma-separated subset (default: all)",
    )
    parser.add_argument(
        "--tokens",
        choices=["direct", "email"],
        default="direct",
        help="confirm's tokens: issued directly (signature_token_issue), or taken from"
        " the confirmation emails delivered to the sink (slow while delivery is slow)",
    )
    parser.add_argument("--max-tokens", type=int, default=60_000)
    parser.add_argument(
        "--delivery-max-seconds",
        type=float,
        help="stop delivery after this long and report what was sent (600; smoke 300)",
    )
    parser.add_argument("--profile", action=argparse.BooleanOptionalAction, default=None)
    parser.add_argument("--profile-seconds", type=int, default=10)
    parser.add_argument("--out", default=str(RESULTS_DIR))
    parser.add_argument("--keep", action="store_true", help="keep the database and run dir")
    parser.add_argument(
        "--pg-url",
        default=os.environ.get("BENCH_PG_URL", "postgresql://postgres@127.0.0.1:5432/postgres"),
    )
    parser.add_argument(
        "--redis-url", default=os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/9")
    )
    args = parser.parse_args()
    smoke = args.smoke
    args.duration = args.duration if args.duration is not None else (3 if smoke else 60)
    args.warmup = args.warmup if args.warmup is not None else (1 if smoke else 5)
    args.connections = args.connections or (4 if smoke else 16)
    args.rate = args.rate if args.rate is not None else (50 if smoke else 500)
    args.signers = args.signers or (2000 if smoke else 100_000)
    args.scenarios = {s.strip() for s in args.scenarios.split(",") if s.strip()}
    if args.delivery_max_seconds is None:
        args.delivery_max_seconds = 300.0 if smoke else 600.0
    if args.profile is None:
        args.profile = not smoke
    bench = Bench(args)

    def interrupted(signum, frame):
        raise KeyboardInterrupt(f"signal {signum}")

    signal.signal(signal.SIGTERM, interrupted)
    return bench.run()


if __name__ == "__main__":
    sys.exit(main())
