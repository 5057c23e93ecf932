"""CSV exports: the whole result set, streamed, equal to the JSON, and spreadsheet-safe."""

from __future__ import annotations

import pytest

from petitio.api.csv import csv_cell
from petitio.authorities.models import Authority
from petitio.petitions.models import Addressee
from petitio.responses.services import response_publish
from tests.api.conftest import all_pages, as_csv_cell, get_csv, get_json, listed_petition
from tests.factories import official_of

pytestmark = pytest.mark.django_db


def assert_csv_equals_json(rows: list[dict[str, str]], items: list[dict]) -> None:
    assert len(rows) == len(items)
    for row, item in zip(rows, items, strict=True):
        assert list(row) == list(item), "the same columns, in the same order"
        assert row == {key: as_csv_cell(value) for key, value in item.items()}


@pytest.mark.parametrize(
    "params",
    [{}, {"sort": "created"}, {"q": "trees", "min_count": 3, "sort": "-deadline"}],
)
def test_petition_csv_equals_every_json_page(client, council, overdue_petition, params):
    for _ in range(4):
        listed_petition(council)

    items = all_pages(client, "/petitions", limit=2, **params)
    assert len(items) >= 4

    assert_csv_equals_json(get_csv(client, "/petitions", format="csv", **params), items)
    assert_csv_equals_json(get_csv(client, "/petitions.csv", **params), items)


def test_csv_ignores_paging_and_holds_the_full_result_set(client, council, settings):
    for _ in range(5):
        listed_petition(council)
    rows = get_csv(client, "/petitions", format="csv", limit=1)
    assert len(rows) == 5


def test_other_lists_csv_equals_json(client, responded_petition, overdue_petition):
    assert_csv_equals_json(
        get_csv(client, "/responses.csv"), all_pages(client, "/responses", limit=1)
    )
    assert_csv_equals_json(
        get_csv(client, "/authorities", format="csv"), get_json(client, "/authorities")["items"]
    )
    assert_csv_equals_json(get_csv(client, "/overdue.csv"), get_json(client, "/overdue")["items"])


def test_statistics_csv_has_one_row_per_group(client, responded_petition):
    stats = get_json(client, f"/petitions/{responded_petition.pk}/statistics")
    rows = get_csv(client, f"/petitions/{responded_petition.pk}/statistics.csv")
    for dimension in ("country", "region", "postal_area", "day", "hour"):
        counts = [int(r["count"]) for r in rows if r["dimension"] == dimension]
        assert sum(counts) == stats["verified_signatures"]
    assert rows == get_csv(client, f"/petitions/{responded_petition.pk}/statistics", format="csv")


@pytest.mark.parametrize("value", ["=HYPERLINK(1)", "+1", "-1+2", "@SUM(A1)", "\tx", "\rx"])
def test_formula_cells_are_neutralised(value):
    assert csv_cell(value) == "'" + value
    assert csv_cell([value, "b"]) == "'" + value + "; b"
    assert csv_cell(-5) == "-5", "numbers stay numbers"


def test_exported_formulas_do_not_run_in_a_spreadsheet(client, council):
    Authority.objects.filter(pk=council.pk).update(name="=cmd|' /C calc'!A0")
    petition = listed_petition(council, signatures=5)
    response_publish(
        addressee=Addressee.objects.get(petition=petition),
        summary="@SUM(1+1) is our answer",
        body="-",
        by=official_of(council),
    )

    (authority_row,) = [
        r for r in get_csv(client, "/authorities.csv") if r["slug"] == "small-council"
    ]
    assert authority_row["name"] == "'=cmd|' /C calc'!A0"
    (response_row,) = get_csv(client, "/responses.csv")
    assert response_row["summary"] == "'@SUM(1+1) is our answer"
    assert response_row["authority_name"].startswith("'=")
    for rows in (get_csv(client, "/petitions.csv"), get_csv(client, "/overdue.csv")):
        for row in rows:
            for cell in row.values():
                assert not cell.startswith(("=", "+", "@", "\t", "\r")), cell
