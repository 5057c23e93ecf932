"""The embedded background worker: tally, outbox, closing, deadlines."""

from __future__ import annotations

import signal
import time
from typing import Any

from django.core.management.base import BaseCommand
from django.db import close_old_connections

from petitio.config.schedule import job_run, jobs


class Command(BaseCommand):
    help = "Run the periodic jobs (tally, email outbox, closing, deadlines) until stopped."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--once", action="store_true", help="Run every job once and exit.")

    def handle(self, *args: Any, once: bool = False, **options: Any) -> None:
        stopping = False

        def stop(signum: int, frame: Any) -> None:
            nonlocal stopping
            stopping = True

        signal.signal(signal.SIGTERM, stop)
        signal.signal(signal.SIGINT, stop)
        schedule = jobs()
        due = dict.fromkeys((job.name for job in schedule), 0.0)
        while not stopping:
            for job in schedule:
                now = time.monotonic()
                if now < due[job.name]:
                    continue
                due[job.name] = now + job.every_seconds
                try:
                    job_run(job.name)
                except Exception:  # noqa: S110 - logged by job_run; it runs again next time
                    pass
                finally:
                    close_old_connections()
            if once:
                return
            time.sleep(max(0.05, min(due.values()) - time.monotonic()))
