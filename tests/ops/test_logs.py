"""Logs (issue 5, section 1): one line per request and per job, with a request
id, and no email addresses, names, postal codes or tokens in any of them."""

from __future__ import annotations

import json
import logging
import re

import pytest
from django.conf import settings
from django.db import OperationalError
from django.test import Client
from django.urls import reverse
from django.utils.module_loading import import_string

from petitio.config.observability import JsonFormatter, RequestIdFilter, path_redacted
from petitio.config.schedule import job_run
from petitio.signatures.models import Signature
from petitio.signatures.services import signature_token_issue
from tests.factories import confirm_link, deliver_all, open_petition, sign

pytestmark = pytest.mark.django_db

CREATOR = {
    "name": "Robin Quillfeather",
    "email": "robin.quillfeather@example.org",
    "postal_code": "53703",
}
SIGNER = {"name": "Zebulon Marchetti", "email": "zeb.marchetti@example.net", "postal_code": "10001"}

# Loggers of the test's own tools (the aiosmtpd server), not of the application.
FOREIGN_LOGGERS = ("mail.log", "asyncio")


def console_filters() -> list[logging.Filter]:
    """The filters settings.LOGGING puts on the handler every line goes through."""
    filters = []
    for name in settings.LOGGING["handlers"]["console"].get("filters", []):
        spec = dict(settings.LOGGING["filters"][name])
        filters.append(import_string(spec.pop("()"))(**spec))
    return filters


def test_every_log_line_gets_the_request_id():
    assert any(isinstance(f, RequestIdFilter) for f in console_filters())
    assert settings.LOGGING["formatters"]["json"]["()"] == (
        "petitio.config.observability.JsonFormatter"
    )


@pytest.fixture
def logs(caplog):
    """Every record at INFO and above, through the filters of the production
    handler (which add the request id)."""
    caplog.set_level(logging.INFO)
    caplog.set_level(logging.INFO, logger="petitio.requests")
    caplog.set_level(logging.INFO, logger="petitio.jobs")
    filters = console_filters()
    for log_filter in filters:
        caplog.handler.addFilter(log_filter)
    yield caplog
    for log_filter in filters:
        caplog.handler.removeFilter(log_filter)


def json_lines(records: list[logging.LogRecord]) -> list[dict]:
    formatter = JsonFormatter()
    lines = []
    for record in records:
        if record.name.startswith(FOREIGN_LOGGERS):
            continue
        line = formatter.format(record)
        assert "\n" not in line, "a log line must be one line"
        lines.append(json.loads(line))
    return lines


def leaked(lines: list[dict], secrets: list[str]) -> list[tuple[str, dict]]:
    """The secrets found in the lines. The time and the random request id are
    left out of the search: their digits could spell a postal code by chance."""
    found = []
    for line in lines:
        text = json.dumps({k: v for k, v in line.items() if k not in ("time", "request_id")})
        found += [(secret, line) for secret in secrets if secret.lower() in text.lower()]
    return found


def personal_data(*people: dict[str, str]) -> list[str]:
    values = []
    for person in people:
        values += [person["email"], person["email"].split("@")[0], person["name"]]
        values += person["name"].split()
        values.append(person["postal_code"])
    return values


def test_one_line_per_request_and_job_without_personal_data_or_tokens(
    client, council, mailbox, logs
):
    calls: list[tuple[str, str, object]] = []

    def call(method: str, path: str, data: dict | None = None):
        response = getattr(client, method)(path, data or {})
        calls.append((method.upper(), path, response))
        return response

    assert call("get", reverse("petition-new")).status_code == 200
    created = call(
        "post",
        reverse("petition-new"),
        {
            "authority": council.slug,
            "action": "Light the towpath between the two locks",
            "background": "It is dark on winter evenings and people cycle home there.",
            "details": "",
            "name": CREATOR["name"],
            "email": CREATOR["email"],
            "postal_code": CREATOR["postal_code"],
            "country": "US",
        },
    )
    assert created.status_code == 302
    assert call("get", created["Location"]).status_code == 200
    deliver_all()
    (message,) = mailbox.to(CREATOR["email"])
    petition_id, creator_token = confirm_link(message)
    creator_confirm = reverse("signature-confirm", args=[petition_id, creator_token])
    assert call("get", creator_confirm).status_code == 200
    confirmed = call("post", creator_confirm)
    assert confirmed.status_code == 302
    assert call("get", confirmed["Location"]).status_code == 200

    assert call("get", reverse("petition-detail", args=[petition_id])).status_code == 200
    signed = call(
        "post",
        reverse("petition-sign", args=[petition_id]),
        {**SIGNER, "country": "US"},
    )
    assert signed.status_code == 302
    assert call("get", signed["Location"]).status_code == 200
    deliver_all()
    (message,) = mailbox.to(SIGNER["email"])
    _, signer_token = confirm_link(message)
    signer_confirm = reverse("signature-confirm", args=[petition_id, signer_token])
    assert call("get", signer_confirm).status_code == 200
    assert call("post", signer_confirm).status_code == 302
    job_run("tally")
    job_run("outbox")

    # One line per request, carrying the id the response announced.
    requests = [r for r in logs.records if r.name == "petitio.requests"]
    assert len(requests) == len(calls)
    for record, (method, path, response) in zip(requests, calls, strict=True):
        assert record.request_id == response["X-Request-ID"]
        assert record.method == method
        assert record.status == response.status_code
        assert record.view == response.resolver_match.view_name
        assert record.path == path_redacted(path)
        assert record.duration_ms >= 0
    assert len({r.request_id for r in requests}) == len(requests)
    confirm_paths = {r.path for r in requests if r.view == "signature-confirm"}
    assert confirm_paths == {f"/petitions/{petition_id}/confirm/[redacted]/"}

    # One line per job.
    jobs = [r for r in logs.records if r.name == "petitio.jobs"]
    assert [(r.getMessage(), r.job) for r in jobs] == [
        ("job done", "tally"),
        ("job done", "outbox"),
    ]

    lines = json_lines(logs.records)
    for line in lines:
        if line["logger"] == "petitio.requests":
            assert {"request_id", "method", "path", "view", "status", "duration_ms"} <= set(line)
        if line["logger"] == "petitio.jobs":
            assert {"job", "duration_ms"} <= set(line)
    secrets = [*personal_data(CREATOR, SIGNER), creator_token, signer_token]
    assert leaked(lines, secrets) == []


@pytest.mark.parametrize(
    "incoming", ["abc-123", "Deploy.Probe_7", "0f" * 32, "9b2f6c3e-1d4a-4f5e-8a7b-2c3d4e5f6a7b"]
)
def test_a_sane_request_id_is_kept_and_echoed(client, logs, incoming):
    response = client.get("/healthz", HTTP_X_REQUEST_ID=incoming)
    assert response["X-Request-ID"] == incoming
    (record,) = [r for r in logs.records if r.name == "petitio.requests"]
    assert record.request_id == incoming


@pytest.mark.parametrize(
    "incoming",
    [
        "has space",
        "two\nlines",
        "carriage\rreturn",
        "x" * 65,
        'quote"d',
        "semi;colon",
        "<script>",
        "",
    ],
)
def test_an_unsafe_request_id_is_replaced(client, logs, incoming):
    response = client.get("/healthz", HTTP_X_REQUEST_ID=incoming)
    assert response.status_code == 200
    assert response["X-Request-ID"] != incoming
    assert re.fullmatch(r"[0-9a-f]{32}", response["X-Request-ID"])
    (record,) = [r for r in logs.records if r.name == "petitio.requests"]
    assert record.request_id == response["X-Request-ID"]


def test_a_request_id_with_a_trailing_newline_is_replaced(client):
    response = client.get("/healthz", HTTP_X_REQUEST_ID="abc\n")
    assert response.status_code == 200
    assert re.fullmatch(r"[0-9a-f]{32}", response["X-Request-ID"])


@pytest.fixture
def pending_token(council) -> tuple[int, str]:
    petition = open_petition(council)
    sign(petition, "outage.signer@example.org")
    signature = Signature.objects.get(petition=petition, email="outage.signer@example.org")
    return petition.pk, signature_token_issue(signature=signature)


def test_a_confirmation_during_a_database_outage_does_not_log_the_token(
    client, logs, monkeypatch, pending_token
):
    petition_id, token = pending_token

    def outage(**kwargs):
        raise OperationalError("the database went away")

    monkeypatch.setattr("petitio.signatures.views.signature_confirm", outage)
    response = client.post(reverse("signature-confirm", args=[petition_id, token]))
    assert response.status_code == 503
    assert leaked(json_lines(logs.records), [token]) == []


def test_a_confirmation_refused_by_csrf_does_not_log_the_token(logs, pending_token):
    petition_id, token = pending_token
    response = Client(enforce_csrf_checks=True).post(
        reverse("signature-confirm", args=[petition_id, token])
    )
    assert response.status_code == 403
    assert leaked(json_lines(logs.records), [token]) == []
