"""/healthz, /readyz and /metrics (issue 5, section 1)."""

from __future__ import annotations

import re

import pytest
from django.db import OperationalError
from django.db.migrations.executor import MigrationExecutor
from django.test import override_settings

from petitio.signatures.models import Signature
from tests.conftest import free_port
from tests.factories import confirm, open_petition, sign

pytestmark = pytest.mark.django_db

PUBLIC_ADDRESS = "8.8.8.8"  # a public resolver's address: not internal
DOCUMENTATION_ADDRESS = "203.0.113.5"  # TEST-NET-3, an outside address in examples


def closed_redis_url() -> str:
    """A Redis URL on a local port nothing listens on."""
    return f"redis://127.0.0.1:{free_port()}/0"


def test_healthz_answers_while_the_process_is_alive(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.content == b"ok\n"


def test_readyz_is_ready_with_a_migrated_database(client):
    response = client.get("/readyz")
    assert response.status_code == 200
    body = response.json()
    assert body["ready"] is True
    assert body["database"] == "ok"
    assert body["redis"] in ("ok", "not configured")
    assert body["broker"] in ("ok", "not configured")


def test_readyz_says_redis_and_broker_are_down_when_redis_is_unreachable(client):
    url = closed_redis_url()
    with override_settings(REDIS_URL=url, CELERY_BROKER_URL=url):
        response = client.get("/readyz")
    assert response.status_code == 503
    body = response.json()
    assert body["ready"] is False
    assert body["database"] == "ok"
    assert body["redis"].startswith("down")
    assert body["broker"].startswith("down")


def test_readyz_says_the_database_is_down(client, monkeypatch):
    def unreachable(self, *args, **kwargs):
        raise OperationalError("connection refused")

    monkeypatch.setattr(MigrationExecutor, "migration_plan", unreachable)
    response = client.get("/readyz")
    assert response.status_code == 503
    assert response.json()["database"] == "down (OperationalError)"


def test_readyz_says_the_database_is_not_migrated(client, monkeypatch):
    monkeypatch.setattr(
        MigrationExecutor, "migration_plan", lambda self, *a, **kw: [("petitions", False)]
    )
    response = client.get("/readyz")
    assert response.status_code == 503
    assert response.json()["database"] == "not migrated"


@pytest.mark.parametrize("address", ["127.0.0.1", "::1", "10.1.2.3", "192.168.0.7"])
def test_metrics_answer_internal_addresses(client, address):
    assert client.get("/metrics", REMOTE_ADDR=address).status_code == 200


def test_metrics_refuse_an_outside_address(client):
    response = client.get("/metrics", REMOTE_ADDR=PUBLIC_ADDRESS)
    assert response.status_code == 403
    assert b"petitio_" not in response.content


@pytest.mark.parametrize("address", [DOCUMENTATION_ADDRESS, "198.51.100.7", "240.0.0.1"])
def test_metrics_refuse_non_internal_special_purpose_addresses(client, address):
    assert client.get("/metrics", REMOTE_ADDR=address).status_code == 403


def test_metrics_refuse_a_request_forwarded_by_the_proxy(client):
    response = client.get("/metrics", REMOTE_ADDR="127.0.0.1", HTTP_X_FORWARDED_FOR=PUBLIC_ADDRESS)
    assert response.status_code == 403


@override_settings(METRICS_TOKEN="s3cret-scrape-token")
def test_metrics_answer_the_right_bearer_token_from_anywhere(client):
    ok = client.get(
        "/metrics", REMOTE_ADDR=PUBLIC_ADDRESS, HTTP_AUTHORIZATION="Bearer s3cret-scrape-token"
    )
    assert ok.status_code == 200
    wrong = client.get(
        "/metrics", REMOTE_ADDR=PUBLIC_ADDRESS, HTTP_AUTHORIZATION="Bearer not-the-token"
    )
    assert wrong.status_code == 403
    bare = client.get(
        "/metrics", REMOTE_ADDR=PUBLIC_ADDRESS, HTTP_AUTHORIZATION="s3cret-scrape-token"
    )
    assert bare.status_code == 403


@override_settings(METRICS_TOKEN="")
def test_metrics_without_a_token_configured_accept_no_token(client):
    response = client.get("/metrics", REMOTE_ADDR=PUBLIC_ADDRESS, HTTP_AUTHORIZATION="Bearer ")
    assert response.status_code == 403


def gauge(text: str, name: str, labels: str = "") -> float:
    found = re.search(rf"^{re.escape(name + labels)} (\S+)$", text, re.MULTILINE)
    assert found, f"{name}{labels} not in the metrics"
    return float(found.group(1))


def test_metrics_expose_requests_signatures_tally_lag_and_outbox(client, council):
    petition = open_petition(council)
    sign(petition, "metrics.signer@example.org")
    confirm(Signature.objects.get(petition=petition, email="metrics.signer@example.org"))
    sign(petition, "metrics.pending@example.org")
    assert client.get(f"/petitions/{petition.pk}/").status_code == 200

    response = client.get("/metrics", REMOTE_ADDR="127.0.0.1")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/plain")
    text = response.content.decode()

    assert "petitio_requests" in text
    assert 'view="petition-detail"' in text
    assert "petitio_request_seconds_bucket" in text
    verified = Signature.objects.filter(state="verified").count()
    assert verified >= 2  # the creator's and the one confirmed above
    assert gauge(text, "petitio_signatures", '{state="verified"}') == verified
    assert gauge(text, "petitio_signatures", '{state="pending"}') >= 1
    assert gauge(text, "petitio_tally_lag_seconds") >= 0
    assert "petitio_outbox_messages{state=" in text
    assert "petitio_milestones_reached" in text
