"""The confirmation statement runs prepared, so PostgreSQL may use one generic
plan for every call. That plan must find the token by its hash and the
signature by its key: looking among the petition's pending signatures instead
would make each confirmation of a viral petition read every unconfirmed
signer (it did, once: 162 confirmations a second instead of 500)."""

from __future__ import annotations

import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from petitio.signatures.services import signature_confirmation_resend
from petitio.signatures.sql import _confirm_sql, _resend_sql
from tests.factories import open_petition, sign

pytestmark = pytest.mark.postgres_only


def generic_plan(sql: str, types: dict[str, str], args: dict[str, str]) -> str:
    """EXPLAIN of ``sql``'s generic plan: the one a prepared statement may
    settle on for every call, whatever its parameters."""
    names: list[str] = []

    def numbered(match: re.Match) -> str:
        if match.group(1) not in names:
            names.append(match.group(1))
        return f"${names.index(match.group(1)) + 1}"

    sql = re.sub(r"%\((\w+)\)s", numbered, sql)
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL plan_cache_mode = force_generic_plan")
        cursor.execute(f"PREPARE plan_under_test({', '.join(types[n] for n in names)}) AS {sql}")
        cursor.execute(f"EXPLAIN EXECUTE plan_under_test({', '.join(args[n] for n in names)})")
        plan = "\n".join(row[0] for row in cursor.fetchall())
        cursor.execute("DEALLOCATE plan_under_test")
    return plan


@pytest.mark.django_db
def test_a_confirmation_reads_one_token_and_one_signature_whatever_the_plan():
    if connection.vendor != "postgresql":
        pytest.fail("needs PostgreSQL: bin/test runs it in the PostgreSQL pass")
    plan = generic_plan(
        _confirm_sql(),
        {"token_hash": "text", "now": "timestamptz", "petition_id": "bigint"},
        {"token_hash": "'x'", "now": "now()", "petition_id": "1"},
    )
    assert "signature_petition_state" not in plan, plan
    assert "Seq Scan on signatures_signature" not in plan, plan  # the table or its tokens
    assert "signatures_signature_pkey" in plan, plan
    assert "signatures_signaturetoken_pkey" in plan, plan


@pytest.mark.django_db
def test_the_signing_statement_is_prepared_once_per_connection(council):
    """Django opens connections with preparing turned off; the settings turn it
    back on, or every signature would be parsed and planned again."""
    if connection.vendor != "postgresql":
        pytest.fail("needs PostgreSQL: bin/test runs it in the PostgreSQL pass")
    petition = open_petition(council)
    sign(petition, "ada@example.org")
    sign(petition, "grace@example.org")
    with connection.cursor() as cursor:
        cursor.execute("SELECT statement FROM pg_prepared_statements")
        prepared = [" ".join(row[0].split()) for row in cursor.fetchall()]
    assert any("INSERT INTO signatures_signature" in s for s in prepared), prepared


@pytest.mark.django_db
def test_a_duplicate_finds_its_signer_by_email_whatever_the_statistics(council):
    """Statistics taken while a petition was new say it has no signatures. A
    duplicate signature or a resend must still find the one signer by email,
    not read every pending signature of the petition (it did, once: 15,000
    rows for each duplicate on a viral petition)."""
    if connection.vendor != "postgresql":
        pytest.fail("needs PostgreSQL: bin/test runs it in the PostgreSQL pass")
    earlier = open_petition(council, action="An earlier petition with many signers")
    petition = open_petition(council)
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO signatures_signature (petition_id, name, email, email_canonical,"
            " postal_code, country, region, state, is_creator, created_at, tallied,"
            " request_meta) SELECT %s, 'Signer', 'e' || n || '@example.org',"
            " 'e' || n || '@example.org', '53703', 'US', '', 'verified', false, now(),"
            " true, '{}' FROM generate_series(1, 5000) n",
            [earlier.pk],
        )
        cursor.execute("ANALYZE signatures_signature")
    for n in range(200):
        sign(petition, f"signer{n}@example.org")
    with CaptureQueriesContext(connection) as captured:
        signature_confirmation_resend(petition=petition, email="signer7@example.org")
    (update,) = [q["sql"] for q in captured if q["sql"].startswith("UPDATE")]
    with connection.cursor() as cursor:
        cursor.execute(f"EXPLAIN {update}")
        plan = "\n".join(row[0] for row in cursor.fetchall())
    assert "one_signature_per_person" in plan, plan


@pytest.mark.django_db
def test_a_duplicate_costs_one_more_statement_that_finds_its_signer_by_email(council):
    """A duplicate (2% of a viral petition's signatures) took four round trips
    through the ORM: the petition read again, then BEGIN, UPDATE, COMMIT. Now
    the signing statement and one resend statement, and whatever the
    parameters, the resend reaches its signer by email, never by scanning."""
    if connection.vendor != "postgresql":
        pytest.fail("needs PostgreSQL: bin/test runs it in the PostgreSQL pass")
    petition = open_petition(council)
    sign(petition, "ada@example.org")
    with CaptureQueriesContext(connection) as captured:
        sign(petition, "ADA@example.org")
    statements = [q["sql"] for q in captured]
    assert len(statements) == 2, statements
    assert statements[0].startswith("WITH s AS ( INSERT INTO signatures_signature")
    assert "UPDATE signatures_signature SET last_email_at" in statements[1]

    plan = generic_plan(
        _resend_sql(),
        {
            "petition_id": "bigint",
            "now": "timestamptz",
            "email_canonical": "text",
            "resend_before": "timestamptz",
            "stamp": "text",
        },
        {
            "petition_id": "1",
            "now": "now()",
            "email_canonical": "'x'",
            "resend_before": "now()",
            "stamp": "'s'",
        },
    )
    assert "one_signature_per_person" in plan, plan
    assert "Seq Scan on signatures_signature" not in plan, plan
