"""The periodic jobs and how often each runs.

One implementation of each job: the embedded worker (``petitio worker``)
runs this schedule in a loop; a deployment's scheduler runs the same
functions.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Job:
    name: str
    every_seconds: float
    run: Callable[[], Any]


def jobs() -> list[Job]:
    from petitio.notifications.delivery import outbox_drain
    from petitio.petitions.services import petitions_close_due
    from petitio.responses.services import responses_overdue_notify
    from petitio.signatures.tally import tally_reconcile, tally_run

    return [
        Job("tally", 1.0, tally_run),
        Job("outbox", 1.0, outbox_drain),
        Job("close", 30.0, petitions_close_due),
        Job("overdue", 60.0, responses_overdue_notify),
        Job("reconcile", 600.0, tally_reconcile),
    ]


def job_run(name: str) -> Any:
    """Run one job and log one JSON line about it (name, duration, outcome)."""
    import logging
    import time

    logger = logging.getLogger("petitio.jobs")
    job = next(job for job in jobs() if job.name == name)
    started = time.monotonic()
    try:
        result = job.run()
    except Exception:
        logger.exception("job failed", extra={"job": name})
        raise
    logger.info(
        "job done",
        extra={"job": name, "duration_ms": round((time.monotonic() - started) * 1000, 1)},
    )
    return result
