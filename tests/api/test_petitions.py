"""The petition list (filters, sorting, cursor pages) and the petition record."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from django.utils import timezone

from petitio.petitions.models import State
from petitio.petitions.services import petition_reject, petition_remove
from tests.api.conftest import API, all_pages, get_json, listed_petition
from tests.factories import moderator, open_petition

pytestmark = pytest.mark.django_db


def ids(items) -> list[int]:
    return [item["id"] for item in items]


def test_list_holds_listed_and_rejected_petitions_only(client, council, hidden_petitions):
    listed = listed_petition(council)
    unlisted = open_petition(council)  # gathering: reachable by id, not yet in lists
    rejected = listed_petition(council)
    petition_reject(petition=rejected, by=moderator(), reason="no_action")

    found = ids(all_pages(client, "/petitions"))

    assert sorted(found) == sorted([listed.pk, rejected.pk])
    assert unlisted.pk not in found
    assert get_json(client, f"/petitions/{unlisted.pk}")["state"] == State.GATHERING
    for petition in hidden_petitions:
        response = client.get(f"{API}/petitions/{petition.pk}")
        assert response.status_code == 404
        assert json.loads(response.content)["code"] == "not_found"


def test_filters_by_state_authority_text_dates_and_count(client, council, president):
    jan = datetime(2025, 1, 10, 12, tzinfo=UTC)
    feb = datetime(2025, 2, 10, 12, tzinfo=UTC)
    trees = listed_petition(council, signatures=3, now=jan, action="Plant oak trees in parks")
    bikes = listed_petition(council, signatures=5, now=feb, action="Build safe bike lanes")
    rejected = listed_petition(council, signatures=4, now=feb, action="Ban oak pollen")
    petition_reject(petition=rejected, by=moderator(), reason="no_action")
    federal = open_petition(president, action="Publish the federal oak survey")
    federal.listed_at = federal.opened_at
    federal.state = State.OPEN
    federal.save()

    def found(**params) -> list[int]:
        return sorted(ids(all_pages(client, "/petitions", **params)))

    assert found(state="rejected") == [rejected.pk]
    assert found(authority="us-president") == [federal.pk]
    assert found(q="oak") == sorted([trees.pk, rejected.pk, federal.pk])
    assert found(q="oak parks") == [trees.pk]
    assert found(created_from="2025-02-01") == sorted([bikes.pk, rejected.pk, federal.pk])
    assert found(created_to="2025-01-10") == [trees.pk]
    assert found(created_from="2025-01-10", created_to="2025-01-10") == [trees.pk]
    assert found(closes_from="2025-03-01", closes_to="2025-03-31") == sorted(
        [bikes.pk, rejected.pk]
    )  # the council's petitions close 30 days after opening
    assert found(min_count=4) == sorted([bikes.pk, rejected.pk])
    assert found(min_count=4, state="awaiting_response", authority="small-council") == [bikes.pk]


@pytest.mark.parametrize(
    ("params", "field", "code"),
    [
        ({"state": "hidden"}, "state", "invalid_parameter"),
        ({"state": "draft"}, "state", "invalid_parameter"),
        ({"authority": "no-such-authority"}, "authority", "unknown"),
        (
            {"created_from": "2025-02-01", "created_to": "2025-01-01"},
            "created_from",
            "invalid_range",
        ),
        ({"created_from": "yesterday"}, "created_from", "invalid_parameter"),
        ({"min_count": "-1"}, "min_count", "invalid_parameter"),
        ({"limit": "1000"}, "limit", "invalid_parameter"),
        ({"sort": "random"}, "sort", "invalid_parameter"),
        ({"cursor": "bm90LWEtY3Vyc29y"}, "cursor", "invalid_cursor"),
        ({"q": "oak\x00"}, "q", "invalid_text"),
    ],
)
def test_bad_parameters_answer_400_naming_the_field(client, registry, params, field, code):
    response = client.get(f"{API}/petitions", params)
    assert response.status_code == 400
    error = json.loads(response.content)
    assert error["field"] == field
    assert error["code"] == code
    assert error["message"]


def test_sorts_by_count_created_deadline_and_closing(client, council, overdue_petition):
    now = timezone.now()
    old = listed_petition(council, signatures=4, now=now - timedelta(days=3))
    new = listed_petition(council, signatures=3, now=now - timedelta(days=1))

    assert ids(all_pages(client, "/petitions", sort="-count")) == [
        overdue_petition.pk,
        old.pk,
        new.pk,
    ]
    assert ids(all_pages(client, "/petitions", sort="count")) == [
        new.pk,
        old.pk,
        overdue_petition.pk,
    ]
    assert ids(all_pages(client, "/petitions", sort="-created")) == [
        new.pk,
        old.pk,
        overdue_petition.pk,
    ]
    assert ids(all_pages(client, "/petitions", sort="created")) == [
        overdue_petition.pk,
        old.pk,
        new.pk,
    ]
    # Only the overdue petition owes a response; the others (no deadline) come last,
    # in id order, also when paged one by one across the missing values.
    assert ids(all_pages(client, "/petitions", sort="deadline", limit=1)) == [
        overdue_petition.pk,
        old.pk,
        new.pk,
    ]
    assert ids(all_pages(client, "/petitions", sort="-deadline", limit=1)) == [
        overdue_petition.pk,
        new.pk,
        old.pk,
    ]
    assert ids(all_pages(client, "/petitions", sort="closing")) == [
        overdue_petition.pk,
        old.pk,
        new.pk,
    ]


@pytest.mark.parametrize("sort", ["-count", "-created", "closing"])
def test_pages_neither_skip_nor_repeat_while_petitions_are_created(client, council, sort):
    base = timezone.now() - timedelta(days=5)
    originals = {
        listed_petition(council, signatures=3 + i % 3, now=base + timedelta(hours=i)).pk
        for i in range(5)
    }
    seen: list[int] = []
    cursor = None
    pages = 0
    while True:
        params = {"sort": sort, "limit": 2, **({"cursor": cursor} if cursor else {})}
        page = get_json(client, "/petitions", **params)
        seen += ids(page["items"])
        pages += 1
        # Between pages, new petitions arrive, with the lowest, highest and equal keys.
        listed_petition(council, signatures=3 + pages % 3, now=base + timedelta(hours=3))
        listed_petition(council, signatures=6, now=timezone.now())
        cursor = page["next_cursor"]
        if cursor is None:
            break
        assert page["next"].endswith(f"cursor={cursor}") and "limit=2" in page["next"]

    assert len(seen) == len(set(seen)), "an item was repeated"
    assert originals <= set(seen), "an item was skipped"


def test_cursor_is_bound_to_its_sort(client, council):
    for _ in range(3):
        listed_petition(council)
    cursor = get_json(client, "/petitions", sort="-count", limit=1)["next_cursor"]
    response = client.get(f"{API}/petitions", {"sort": "created", "cursor": cursor})
    assert response.status_code == 400
    assert json.loads(response.content)["code"] == "cursor_sort_mismatch"


def test_detail_has_milestones_deadline_lateness_and_links(client, overdue_petition):
    record = get_json(client, f"/petitions/{overdue_petition.pk}")

    assert record["id"] == overdue_petition.pk
    assert record["action"] == "Repair the old library roof"
    assert record["state"] == State.AWAITING_RESPONSE
    assert record["signature_count"] == 6
    (addressee,) = record["addressees"]
    assert addressee["authority"]["slug"] == "small-council"
    listing, owed = addressee["milestones"]
    assert (listing["kind"], listing["threshold"], listing["window_days"]) == ("listing", 3, 30)
    assert (owed["kind"], owed["threshold"], owed["response_days"]) == ("response", 5, 10)
    assert owed["reached_at"] is not None and owed["reached_with"] == 6
    assert addressee["response_due_at"] is not None
    assert addressee["days_overdue"] >= 9
    assert addressee["response"] is None
    assert record["links"]["api"].endswith(f"/api/v1/petitions/{overdue_petition.pk}")
    assert record["links"]["html"].endswith(f"/petitions/{overdue_petition.pk}/")
    assert record["links"]["sign"].endswith(f"/api/v1/petitions/{overdue_petition.pk}/signatures")


def test_detail_links_the_published_response(client, responded_petition):
    record = get_json(client, f"/petitions/{responded_petition.pk}")
    response = record["addressees"][0]["response"]
    assert response["summary"] == "We will light the path by spring."
    assert get_json(client, f"/responses/{response['id']}")["petition_id"] == responded_petition.pk


def test_rejected_petition_shows_its_public_reason(client, council):
    petition = listed_petition(council)
    petition_reject(petition=petition, by=moderator(), reason="no_action", details="Be specific.")
    record = get_json(client, f"/petitions/{petition.pk}")
    assert record["rejection"]["reason"] == "no_action"
    assert record["rejection"]["details"] == "Be specific."
    assert record["signable"] is False


def test_unknown_petition_is_404_json(client, registry):
    response = client.get(f"{API}/petitions/987654")
    assert response.status_code == 404
    assert json.loads(response.content) == {
        "code": "not_found",
        "message": "No public petition has this id.",
        "field": "petition_id",
        "errors": [],
    }


@pytest.mark.parametrize("fate", ["hidden", "removed"])
def test_records_of_a_petition_later_hidden_or_removed_disappear(
    client, council, responded_petition, fate
):
    response_id = responded_petition.addressees.get().response.pk
    duplicate = listed_petition(council)
    petition_reject(
        petition=duplicate, by=moderator(), reason="duplicate", duplicate_of=responded_petition
    )
    assert get_json(client, f"/petitions/{duplicate.pk}")["rejection"]["duplicate_of"] == (
        responded_petition.pk
    )

    if fate == "hidden":
        petition_reject(petition=responded_petition, by=moderator(), reason="libellous")
    else:
        petition_remove(petition=responded_petition, by=moderator(), reason="Court order.")

    assert client.get(f"{API}/petitions/{responded_petition.pk}").status_code == 404
    assert client.get(f"{API}/responses/{response_id}").status_code == 404
    assert get_json(client, "/responses")["items"] == []
    assert responded_petition.pk not in ids(all_pages(client, "/petitions"))
    assert get_json(client, f"/petitions/{duplicate.pk}")["rejection"]["duplicate_of"] is None
