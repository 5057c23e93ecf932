"""Prometheus metrics at /metrics, for internal addresses or a bearer token.

Request counts and latency are kept per process. The business figures
(signatures, tally lag, outbox backlog, emails, milestones) are read from the
database at scrape time, so they are the same whichever process answers.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterator

from django.conf import settings
from django.db.models import Count, Min
from django.http import HttpRequest, HttpResponse
from django.utils import timezone
from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

REGISTRY = CollectorRegistry()
REQUESTS = Counter(
    "petitio_requests", "HTTP requests", ["view", "method", "status"], registry=REGISTRY
)
LATENCY = Histogram(
    "petitio_request_seconds",
    "HTTP request latency",
    ["view"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5),
    registry=REGISTRY,
)


def request_observe(view: str, method: str, status: int, seconds: float) -> None:
    REQUESTS.labels(view, method, str(status)).inc()
    LATENCY.labels(view).observe(seconds)


class DatabaseFigures(Collector):
    def collect(self) -> Iterator[GaugeMetricFamily]:
        from petitio.notifications.models import OutboxMessage
        from petitio.petitions.models import MilestoneReached
        from petitio.signatures.models import Signature

        states = dict(
            Signature.objects.values("state").annotate(n=Count("id")).values_list("state", "n")
        )
        signatures = GaugeMetricFamily(
            "petitio_signatures", "Signatures by state", labels=["state"]
        )
        for state, n in states.items():
            signatures.add_metric([state], n)
        yield signatures

        oldest = Signature.objects.filter(state="verified", tallied=False).aggregate(
            t=Min("verified_at")
        )["t"]
        lag = (timezone.now() - oldest).total_seconds() if oldest else 0.0
        yield GaugeMetricFamily(
            "petitio_tally_lag_seconds", "Age of the oldest verified, uncounted signature", lag
        )

        outbox = GaugeMetricFamily("petitio_outbox_messages", "Outbox by state", labels=["state"])
        for state, n in OutboxMessage.objects.values_list("state").annotate(n=Count("id")):
            outbox.add_metric([state], n)
        yield outbox

        milestones = GaugeMetricFamily(
            "petitio_milestones_reached", "Milestones reached", labels=["kind"]
        )
        for kind, n in MilestoneReached.objects.values_list("milestone__kind").annotate(
            n=Count("id")
        ):
            milestones.add_metric([kind], n)
        yield milestones


REGISTRY.register(DatabaseFigures())


def _allowed(request: HttpRequest) -> bool:
    token = settings.METRICS_TOKEN
    if token and request.headers.get("Authorization", "") == f"Bearer {token}":
        return True
    try:
        return ipaddress.ip_address(request.META.get("REMOTE_ADDR", "")).is_private or (
            ipaddress.ip_address(request.META.get("REMOTE_ADDR", "")).is_loopback
        )
    except ValueError:
        return False


def metrics_view(request: HttpRequest) -> HttpResponse:
    if not _allowed(request):
        return HttpResponse("Forbidden\n", status=403, content_type="text/plain")
    return HttpResponse(generate_latest(REGISTRY), content_type="text/plain; version=0.0.4")
