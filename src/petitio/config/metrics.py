"""Prometheus metrics at /metrics, for internal addresses or a bearer token.

Request counts and latency are kept per process. The business figures
(signatures, tally lag, outbox backlog, emails, milestones) are read from the
database at scrape time, so they are the same whichever process answers.
"""

from __future__ import annotations

import hmac
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

# Answers from the page copy (config/pagecache.py) never reach Django, so they
# are not in petitio_requests; this counts them.
PAGE_COPIES = Counter(
    "petitio_page_copy_answers", "Answers served from the page copy", registry=REGISTRY
)
SIGNING_ROUTE = Counter(
    "petitio_signing_route",
    "Signing POSTs the signing route answered, or handed on to Django (and why)",
    ["outcome"],
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


# Where a scraper on the deployment's own network connects from: loopback and
# the RFC 1918 / unique-local ranges. (ipaddress's is_private also covers the
# documentation, benchmarking and reserved ranges, which are nobody's network.)
_INTERNAL_NETWORKS = tuple(
    ipaddress.ip_network(network)
    for network in (
        "127.0.0.0/8",
        "10.0.0.0/8",
        "172.16.0.0/12",
        "192.168.0.0/16",
        "::1/128",
        "fc00::/7",
    )
)


def _allowed(request: HttpRequest) -> bool:
    token = settings.METRICS_TOKEN
    offered = request.headers.get("Authorization", "")
    if token and hmac.compare_digest(offered.encode(), f"Bearer {token}".encode()):
        return True
    if "X-Forwarded-For" in request.headers or "Forwarded" in request.headers:
        # It came through the proxy or load balancer, whose own (internal)
        # address says nothing about the client: only the token opens it.
        return False
    try:
        address = ipaddress.ip_address(request.META.get("REMOTE_ADDR", ""))
    except ValueError:
        return False
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped:
        address = address.ipv4_mapped
    return any(address in network for network in _INTERNAL_NETWORKS)


def metrics_view(request: HttpRequest) -> HttpResponse:
    if not _allowed(request):
        return HttpResponse("Forbidden\n", status=403, content_type="text/plain")
    return HttpResponse(generate_latest(REGISTRY), content_type="text/plain; version=0.0.4")
