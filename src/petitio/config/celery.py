"""The Celery application of a deployment. It runs the same jobs as the
embedded worker (``config/schedule.py``): beat schedules them, workers run
them, one implementation of each."""

from __future__ import annotations

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "petitio.config.settings")

app = Celery("petitio")
app.config_from_object("django.conf:settings", namespace="CELERY")


@app.on_after_finalize.connect
def _schedule(sender: Celery, **kwargs: object) -> None:
    from petitio.config.schedule import jobs

    for job in jobs():
        sender.add_periodic_task(
            job.every_seconds,
            run_job.s(job.name),
            name=job.name,
            expires=job.every_seconds * 5,
        )


@app.task(name="petitio.run_job", ignore_result=True, acks_late=True)
def run_job(name: str) -> None:
    """Run one scheduled job by name. Jobs are safe to run twice or at once."""
    from petitio.config.schedule import job_run

    job_run(name)
