"""HTTP behaviour of every endpoint: conditional GET, caching, CORS, HEAD, errors."""

from __future__ import annotations

import json

import pytest
from django.utils.http import http_date

from petitio.signatures.tally import tally_run
from tests.api.conftest import API, body_of, listed_petition
from tests.factories import add_verified, confirm, sign

pytestmark = pytest.mark.django_db


@pytest.fixture
def petition(council):
    return listed_petition(council)


READS = [
    "/petitions",
    "/petitions/{id}",
    "/petitions/{id}/statistics",
    "/responses",
    "/authorities",
    "/authorities/small-council",
    "/overdue",
]


@pytest.mark.parametrize("path", READS)
def test_matching_etag_answers_304_without_a_body(client, petition, path):
    url = API + path.format(id=petition.pk)
    first = client.get(url)
    assert first.status_code == 200
    etag = first["ETag"]
    assert etag.startswith('"') and first["Last-Modified"]

    again = client.get(url, headers={"If-None-Match": etag})
    assert again.status_code == 304
    assert again.content == b""
    assert again["ETag"] == etag
    assert again["Cache-Control"] == first["Cache-Control"]

    assert client.get(url, headers={"If-None-Match": f'W/{etag}, "other"'}).status_code == 304
    assert client.get(url, headers={"If-None-Match": '"stale"'}).status_code == 200


def test_etag_changes_when_the_count_moves(client, petition):
    url = f"{API}/petitions/{petition.pk}"
    etag = client.get(url)["ETag"]
    add_verified(petition, 1)
    changed = client.get(url, headers={"If-None-Match": etag})
    assert changed.status_code == 200
    assert changed["ETag"] != etag
    assert json.loads(changed.content)["signature_count"] == 4


def test_if_modified_since_answers_304_only_while_unchanged(client, petition):
    url = f"{API}/petitions/{petition.pk}"
    first = client.get(url)
    since = first["Last-Modified"]
    assert client.get(url, headers={"If-Modified-Since": since}).status_code == 304

    sign(petition, "late@example.org")
    from petitio.signatures.models import Signature

    confirm(Signature.objects.get(email="late@example.org"))
    tally_run()
    changed = client.get(url, headers={"If-Modified-Since": since})
    assert changed.status_code == 200
    assert changed["Last-Modified"] != since
    # A date before the representation appeared is not a match either.
    assert client.get(url, headers={"If-Modified-Since": http_date(0)}).status_code == 200


def test_counts_are_cached_briefly_and_open_to_every_origin(client, petition):
    for path in ("/petitions", f"/petitions/{petition.pk}"):
        response = client.get(API + path)
        assert response["Cache-Control"] == "public, max-age=5"
        assert response["Access-Control-Allow-Origin"] == "*"
        assert "ETag" in response["Access-Control-Expose-Headers"]
    assert client.get(f"{API}/authorities")["Cache-Control"] == "public, max-age=300"


def test_csv_is_cached_and_open_to_every_origin(client, petition):
    response = client.get(f"{API}/petitions.csv")
    assert response["Cache-Control"] == "public, max-age=5"
    assert response["Access-Control-Allow-Origin"] == "*"
    assert response["Content-Disposition"] == 'attachment; filename="petitions.csv"'


def test_head_answers_headers_only(client, petition):
    head = client.head(f"{API}/petitions/{petition.pk}")
    get = client.get(f"{API}/petitions/{petition.pk}")
    assert head.status_code == 200
    assert head.content == b""
    assert head["ETag"] == get["ETag"]
    assert head["Content-Length"] == str(len(get.content))
    csv_head = client.head(f"{API}/petitions.csv")
    assert csv_head.status_code == 200 and body_of(csv_head) == b""


def test_options_answers_the_cors_preflight(client, registry):
    response = client.options(f"{API}/petitions")
    assert response.status_code == 204
    assert response["Access-Control-Allow-Origin"] == "*"
    assert "If-None-Match" in response["Access-Control-Allow-Headers"]


@pytest.mark.parametrize("method", ["post", "put", "delete", "patch"])
def test_wrong_method_is_405_json_with_allow(client, petition, method):
    response = getattr(client, method)(f"{API}/petitions/{petition.pk}")
    assert response.status_code == 405
    assert response["Allow"] == "GET"
    assert json.loads(response.content)["code"] == "method_not_allowed"


def test_get_on_the_signing_address_is_405(client, petition):
    response = client.get(f"{API}/petitions/{petition.pk}/signatures")
    assert response.status_code == 405
    assert response["Allow"] == "POST"


@pytest.mark.parametrize("path", ["/nothing", "/petitions/", "/"])
def test_unknown_address_is_404_json(client, registry, path):
    response = client.get(API + path)
    assert response.status_code == 404
    error = json.loads(response.content)
    assert set(error) == {"code", "message", "field", "errors"}
    assert error["code"] in {"not_found", "no_such_endpoint"}


def test_malformed_id_is_400_naming_it(client, registry):
    response = client.get(f"{API}/petitions/abc")
    assert response.status_code == 400
    assert json.loads(response.content)["field"] == "petition_id"


def test_docs_page_and_openapi_document_are_served(client, registry):
    docs = client.get(f"{API}/docs")
    assert docs.status_code == 200
    assert b"openapi.json" in docs.content
    document = json.loads(client.get(f"{API}/openapi.json").content)
    assert document["info"]["title"] == "Petitio API"
    paths = document["paths"]
    assert "/api/v1/petitions/{petition_id}/signatures" in paths
    csv_200 = paths["/api/v1/petitions"]["get"]["responses"]["200"]["content"]
    assert set(csv_200) == {"application/json", "text/csv"}
