"""Signature statistics: aggregated only, verified signatures only, adding up to the count."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from petitio.api.postal import postal_area, uk_outward_code, us_state_from_zip
from petitio.signatures.canonical import email_canonicalize
from petitio.signatures.models import Signature
from petitio.signatures.services import Signer, signatures_import_verified
from petitio.signatures.tally import tally_run
from tests.api.conftest import get_json, listed_petition
from tests.factories import sign

pytestmark = pytest.mark.django_db

DAY1 = datetime(2025, 3, 1, 9, 15, tzinfo=UTC)
DAY2 = datetime(2025, 3, 2, 17, 40, tzinfo=UTC)


def import_signers(petition, rows, *, at):
    signers = [
        Signer(
            name=f"Signer {i}",
            email=f"stat{i}.{code}@example.net",
            email_canonical=email_canonicalize(f"stat{i}.{code}@example.net"),
            postal_code=code,
            country=country,
            region=region,
        )
        for i, (country, code, region) in enumerate(rows)
    ]
    signatures_import_verified(petition=petition, signers=signers, verified_at=at)


@pytest.fixture
def petition(council):
    petition = listed_petition(council, signatures=1)  # the creator: US 53703 (Wisconsin)
    Signature.objects.filter(petition=petition).update(verified_at=DAY1)
    import_signers(
        petition,
        [
            ("US", "53703", ""),
            ("US", "10001-1234", ""),
            ("US", "94105", ""),
            ("US", "ABCDE", ""),
            ("GB", "SW1A 1AA", "England"),
            ("GB", "sw1a2aa", "England"),
            ("GB", "EH1 1BB", "Scotland"),
        ],
        at=DAY1,
    )
    import_signers(petition, [("DE", "10115", ""), ("FR", "75001", "")], at=DAY2)
    # Neither pending nor invalidated signatures count.
    sign(petition, "pending@example.net", postal_code="60614")
    import_signers(petition, [("US", "60614", "")], at=DAY2)
    Signature.objects.filter(postal_code="60614", state="verified").update(state="invalidated")
    while tally_run().counted:
        pass
    petition.refresh_from_db()
    return petition


def test_every_breakdown_adds_up_to_the_count(client, petition):
    stats = get_json(client, f"/petitions/{petition.pk}/statistics")

    assert stats["verified_signatures"] == 10
    assert stats["signature_count"] == petition.signature_count == 10
    for breakdown in ("by_country", "by_region", "by_postal_area", "by_day", "by_hour"):
        assert sum(group["count"] for group in stats[breakdown]) == 10, breakdown


def test_groups_by_country_region_postal_area_day_and_hour(client, petition):
    stats = get_json(client, f"/petitions/{petition.pk}/statistics")

    assert {g["country"]: g["count"] for g in stats["by_country"]} == {
        "US": 5, "GB": 3, "DE": 1, "FR": 1,
    }  # fmt: skip
    regions = {(g["country"], g["region"]): g["count"] for g in stats["by_region"]}
    assert regions[("US", "Wisconsin")] == 2
    assert regions[("US", "New York")] == 1
    assert regions[("GB", "England")] == 2
    assert regions[("US", None)] == 1, "a code that gives no state is counted as unknown"
    areas = {(g["country"], g["area"]): g for g in stats["by_postal_area"]}
    assert areas[("US", "WI")]["count"] == 2 and areas[("US", "WI")]["kind"] == "us_state"
    assert areas[("US", "CA")]["label"] == "California"
    assert areas[("GB", "SW1A")]["count"] == 2
    assert areas[("GB", "SW1A")]["kind"] == "uk_postcode_district"
    assert areas[("GB", "EH1")]["count"] == 1
    assert areas[("DE", None)]["count"] == 1
    assert stats["by_day"] == [
        {"date": "2025-03-01", "count": 8},
        {"date": "2025-03-02", "count": 2},
    ]
    assert stats["by_hour"] == [
        {"hour": "2025-03-01T09:00:00Z", "count": 8},
        {"hour": "2025-03-02T17:00:00Z", "count": 2},
    ]


def test_largest_groups_come_first(client, petition):
    stats = get_json(client, f"/petitions/{petition.pk}/statistics")
    counts = [g["count"] for g in stats["by_country"]]
    assert counts == sorted(counts, reverse=True)


@pytest.mark.parametrize(
    ("code", "state"),
    [("53703", "WI"), ("00501", "NY"), ("10001-1234", "NY"), ("996011234", "AK"),
     ("20500", "DC"), ("73301", "TX"), ("1234", None), ("ABCDE", None), ("00100", None)],
)  # fmt: skip
def test_us_state_comes_from_the_zip_prefix(code, state):
    assert us_state_from_zip(code) == state


@pytest.mark.parametrize(
    ("code", "outward"),
    [("SW1A 1AA", "SW1A"), ("sw1a1aa", "SW1A"), ("M1 1AE", "M1"), ("B33 8TH", "B33"),
     ("CR2 6XH", "CR2"), ("DN55 1PT", "DN55"), ("EC1A", "EC1A"), ("12345", None), ("", None)],
)  # fmt: skip
def test_uk_outward_code(code, outward):
    assert uk_outward_code(code) == outward


def test_other_countries_have_no_postal_area():
    assert postal_area(country="DE", postal_code="10115") is None
    area = postal_area(country="us", postal_code="53703")
    assert area is not None and (area.code, area.label) == ("WI", "Wisconsin")
