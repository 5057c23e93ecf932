"""Contract: schemathesis generates requests from the OpenAPI document and checks the answers.

Every operation gets a bounded number of generated requests (valid and
invalid). The API must never answer 5xx, and every answer must match the
document: a documented status code, content type, headers and body schema.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import schemathesis
from django.core.handlers.wsgi import WSGIHandler
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    negative_data_rejection,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from petitio.api.services import partner_key_create

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    negative_data_rejection,
]


def _load_schema():
    """The document as the real WSGI application serves it (no database needed)."""
    return schemathesis.openapi.from_wsgi("/api/v1/openapi.json", WSGIHandler())


@pytest.fixture
def api_data(db, responded_petition, overdue_petition) -> Iterator[None]:
    """Petitions and responses to find, answered inside the test's transaction."""
    # Like Django's test client: keep the test's connection (and transaction) open.
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    try:
        yield
    finally:
        request_started.connect(close_old_connections)
        request_finished.connect(close_old_connections)


@pytest.fixture
def partner_authorization(db) -> dict[str, str]:
    _partner, key = partner_key_create(name="Contract partner", rate_limit_per_minute=100_000)
    return {"Authorization": f"Bearer {key}"}


# Loaded at collection: schemathesis.pytest.from_fixture relies on a pytest
# internal (Node._nodeid) that pytest 9.2 removed.
schema = _load_schema()


@schema.parametrize()
@settings(
    max_examples=25,
    deadline=None,
    database=None,
    suppress_health_check=list(HealthCheck),
)
def test_api_matches_its_openapi_document(case, api_data, partner_authorization):
    headers = partner_authorization if case.method == "POST" else None
    case.call_and_validate(headers=headers, checks=CHECKS)


def test_answers_about_real_data_match_the_document(
    api_data, responded_petition, overdue_petition, partner_authorization
):
    """Generated ids rarely exist; these requests reach real records and every branch."""
    petition, overdue = responded_petition.pk, overdue_petition.pk
    response_id = responded_petition.addressees.get().response.pk
    requests = [
        ("/api/v1/petitions", "GET", {}, {"limit": 1}, None),
        ("/api/v1/petitions", "GET", {}, {"sort": "deadline", "state": "awaiting_response"}, None),
        ("/api/v1/petitions", "GET", {}, {"format": "csv"}, None),
        ("/api/v1/petitions/{petition_id}", "GET", {"petition_id": petition}, {}, None),
        ("/api/v1/petitions/{petition_id}", "GET", {"petition_id": overdue}, {}, None),
        ("/api/v1/petitions/{petition_id}/statistics", "GET", {"petition_id": petition}, {}, None),
        ("/api/v1/responses", "GET", {}, {"petition": petition}, None),
        ("/api/v1/responses/{response_id}", "GET", {"response_id": response_id}, {}, None),
        ("/api/v1/authorities/{slug}", "GET", {"slug": "us-president"}, {}, None),
        ("/api/v1/overdue", "GET", {}, {}, None),
        (
            "/api/v1/petitions/{petition_id}/signatures",
            "POST",
            {"petition_id": overdue},
            {},
            {"name": "Ada", "email": "ada@example.org", "postal_code": "53703", "country": "US"},
        ),
    ]
    for path, method, path_parameters, query, body in requests:
        case = schema[path][method].Case(
            path_parameters=path_parameters,
            query=query,
            **({"body": body, "media_type": "application/json"} if body else {}),
        )
        answer = case.call_and_validate(
            headers=partner_authorization if method == "POST" else None, checks=CHECKS[:-1]
        )
        assert answer.status_code == (202 if method == "POST" else 200), (path, query)
