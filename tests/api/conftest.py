"""Fixtures of the API tests: a clean cache per test, petitions in every state, readers."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from django.core.cache import cache
from django.test import Client
from django.utils import timezone

from petitio.api.services import partner_key_create
from petitio.petitions.models import Addressee, Petition
from petitio.petitions.services import petition_reject, petition_remove
from petitio.petitions.validators import spreadsheet_safe
from petitio.responses.services import response_publish
from tests.factories import add_verified, moderator, official_of, open_petition

API = "/api/v1"


@pytest.fixture(autouse=True)
def clean_cache() -> Iterator[None]:
    """Rate-limit windows and Last-Modified dates live in the cache: start each test empty."""
    cache.clear()
    yield
    cache.clear()


def body_of(response) -> bytes:
    return b"".join(response.streaming_content) if response.streaming else response.content


def get_json(client: Client, path: str, **params: Any) -> Any:
    response = client.get(f"{API}{path}", params)
    assert response.status_code == 200, (path, response.status_code, body_of(response)[:500])
    assert response["Content-Type"].startswith("application/json")
    return json.loads(body_of(response))


def get_csv(client: Client, path: str, **params: Any) -> list[dict[str, str]]:
    response = client.get(f"{API}{path}", params)
    assert response.status_code == 200, (path, response.status_code, body_of(response)[:500])
    assert response["Content-Type"].startswith("text/csv")
    assert response.streaming, "CSV exports are streamed"
    return list(csv.DictReader(io.StringIO(body_of(response).decode())))


def all_pages(client: Client, path: str, **params: Any) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    cursor = None
    while True:
        page = get_json(client, path, **params, **({"cursor": cursor} if cursor else {}))
        items += page["items"]
        cursor = page["next_cursor"]
        if cursor is None:
            return items


def as_csv_cell(value: Any) -> str:
    """What a JSON value must look like as a CSV cell."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return str(value)
    if isinstance(value, list):
        return spreadsheet_safe("; ".join(as_csv_cell(v) for v in value))
    return spreadsheet_safe(str(value))


def listed_petition(authority, *, signatures: int = 3, now=None, **overrides) -> Petition:
    """A petition in public lists: the council lists at 3 signatures (creator included)."""
    petition = open_petition(authority, now=now, **overrides)
    return add_verified(petition, max(0, signatures - 1), now=now)


@pytest.fixture
def overdue_petition(council) -> Petition:
    """Reached the council's response threshold 20 days ago; the response was due 10 days ago."""
    past = timezone.now() - timedelta(days=21)
    petition = open_petition(council, now=past, action="Repair the old library roof")
    return add_verified(petition, 5, now=past + timedelta(hours=1))


@pytest.fixture
def responded_petition(council) -> Petition:
    petition = listed_petition(council, signatures=6, action="Light the river path at night")
    addressee = Addressee.objects.get(petition=petition)
    response_publish(
        addressee=addressee,
        summary="We will light the path by spring.",
        body="The council has approved the lights.",
        by=official_of(council),
    )
    petition.refresh_from_db()
    return petition


@pytest.fixture
def hidden_petitions(council) -> list[Petition]:
    """Petitions the API never shows: a draft, a hidden one and a removed one."""
    from tests.factories import draft_petition

    draft = draft_petition(council, action="A draft nobody confirmed")
    hidden = listed_petition(council, action="An offensive petition")
    petition_reject(petition=hidden, by=moderator(), reason="offensive")
    removed = listed_petition(council, action="A removed petition")
    petition_remove(petition=removed, by=moderator(), reason="Court order.")
    return [draft, hidden, removed]


@pytest.fixture
def partner_key(db) -> str:
    _partner, key = partner_key_create(name="Daily Gazette", rate_limit_per_minute=1000)
    return key
