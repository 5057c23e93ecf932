"""The two writes of a viral petition as SQL: signing and confirming.

Signing: one statement on PostgreSQL, two on SQLite; a duplicate's resend,
one more on PostgreSQL (the ORM's way on SQLite).

A viral petition's cost is its round trips to the database, not its Python.
On PostgreSQL the new signature and its confirmation email go into the
database in one statement (a data-modifying WITH), in autocommit, so a
signature costs one round trip and one commit; the ORM's way (BEGIN, two
INSERTs, COMMIT) costs four. SQLite has no data-modifying WITH, so there the
same INSERT ... SELECT is followed by the outbox row in one transaction.

The INSERT reads the petition's row itself: with ``require_signable`` it
stores nothing unless the petition takes signatures at that moment, so a
caller may decide what to show from a copy of the petition a second old
without ever storing a signature on a petition that has just closed.

Confirming: on PostgreSQL one statement uses the token and verifies its
signature, if the token is unused and unexpired, its signature pending and
its petition signable (``signature_confirm_sql``); anything else (a refusal
to explain, a creator publishing a draft, a grace period, SQLite) takes the
ORM's way in services.
"""

from __future__ import annotations

import functools
import json
import time
from datetime import datetime
from typing import TYPE_CHECKING, Any

import psycopg
from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, connection, transaction

from petitio.notifications.services import outbox_enqueue
from petitio.petitions.models import SIGNABLE_STATES, Petition
from petitio.signatures.models import Signature, SignatureToken

if TYPE_CHECKING:
    from petitio.signatures.services import Signer

CONFIRM_KIND = "signature_confirm"


def confirmation_key(signature_id: int, stamp: datetime) -> str:
    """The outbox key of one confirmation email (a resend has a new stamp)."""
    return f"confirm:{signature_id}:{stamp.isoformat()}"


def _signable_condition() -> str:
    states = ", ".join(f"'{state.value}'" for state in SIGNABLE_STATES)
    return f"p.state IN ({states}) AND (p.closes_at IS NULL OR p.closes_at > %(now)s)"


@functools.cache
def _signature_sql(*, require_signable: bool, meta_cast: str) -> str:
    condition = "p.id = %(petition_id)s"
    if require_signable:
        condition += f" AND {_signable_condition()}"
    return f"""
        INSERT INTO {Signature._meta.db_table}
            (petition_id, name, email, email_canonical, postal_code, country, region,
             state, is_creator, created_at, last_email_at, tallied, request_meta)
        SELECT p.id, %(name)s, %(email)s, %(email_canonical)s, %(postal_code)s,
               %(country)s, %(region)s, 'pending', %(is_creator)s, %(now)s, %(now)s,
               FALSE, {meta_cast}
        FROM {Petition._meta.db_table} p
        WHERE {condition}
        ON CONFLICT (petition_id, email_canonical) DO NOTHING
        RETURNING id, email, petition_id
    """  # noqa: S608 - table names and constants only; values are parameters


# The confirmation email of each signature in ``s`` (id, email, petition_id),
# keyed as confirmation_key() keys it.
_CONFIRMATION_OUTBOX_SQL = f"""
    INSERT INTO notifications_outboxmessage
        (key, kind, to_email, petition_id, payload, state, attempts,
         next_attempt_at, created_at, last_error)
    SELECT 'confirm:' || s.id || ':' || CAST(%(stamp)s AS text), '{CONFIRM_KIND}', s.email,
           s.petition_id, jsonb_build_object('signature_id', s.id), 'pending', 0,
           %(now)s, %(now)s, ''
    FROM s
    ON CONFLICT (key) DO NOTHING
"""  # noqa: S608 - constants only; values are parameters


@functools.cache
def _postgresql_sql(*, require_signable: bool) -> str:
    signature = _signature_sql(
        require_signable=require_signable, meta_cast="CAST(%(request_meta)s AS jsonb)"
    )
    return f"""
        WITH s AS ({signature}),
        o AS ({_CONFIRMATION_OUTBOX_SQL})
        SELECT id FROM s
    """  # noqa: S608 - as above


@functools.cache
def _resend_sql() -> str:
    return f"""
        WITH p AS MATERIALIZED (
            SELECT p.id FROM {Petition._meta.db_table} p
            WHERE p.id = %(petition_id)s AND {_signable_condition()}
        ),
        s AS (
            UPDATE {Signature._meta.db_table} SET last_email_at = %(now)s
            WHERE petition_id = (SELECT id FROM p) AND email_canonical = %(email_canonical)s
              AND state = 'pending'
              AND (last_email_at IS NULL OR last_email_at < %(resend_before)s)
            RETURNING id, email, petition_id
        ),
        o AS ({_CONFIRMATION_OUTBOX_SQL})
        SELECT count(*) FROM p
    """  # noqa: S608 - table names and constants only; values are parameters


def signature_resend_sql(
    *, petition_id: int, email_canonical: str, now: datetime, resend_before: datetime
) -> bool:
    """For someone who signed already: on PostgreSQL, in one statement, queue
    their confirmation email again if their signature is pending and the last
    email went before ``resend_before``. True when the petition takes
    signatures (whether or not an email was due); False when it does not, and
    on SQLite, where nothing was done and the caller takes the ORM's way."""
    if connection.vendor != "postgresql":
        return False
    params = {
        "petition_id": petition_id,
        "email_canonical": email_canonical,
        "now": now,
        "resend_before": resend_before,
        "stamp": now.isoformat(),
    }
    row = _execute_prepared(_resend_sql(), params)
    return bool(row and row[0])


def signature_insert_sql(
    *,
    petition_id: int,
    signer: Signer,
    is_creator: bool,
    request_meta: dict[str, Any],
    now: datetime,
    require_signable: bool,
) -> int | None:
    """Store a pending signature with its confirmation email; its id, or None
    when nothing was stored (signed already or, if required, not signable)."""
    params: dict[str, Any] = {
        "petition_id": petition_id,
        "name": signer.name,
        "email": signer.email,
        "email_canonical": signer.email_canonical,
        "postal_code": signer.postal_code,
        "country": signer.country,
        "region": signer.region,
        "is_creator": is_creator,
        "request_meta": json.dumps(request_meta),
        "now": connection.ops.adapt_datetimefield_value(now),
        "stamp": now.isoformat(),
    }
    if connection.vendor == "postgresql":
        row = _execute_prepared(_postgresql_sql(require_signable=require_signable), params)
        return row[0] if row else None
    with transaction.atomic(), connection.cursor() as cursor:
        sql = _signature_sql(require_signable=require_signable, meta_cast="%(request_meta)s")
        cursor.execute(sql, params)
        row = cursor.fetchone()
        if row is not None:
            confirmation_enqueue(
                signature_id=row[0], email=signer.email, petition_id=petition_id, now=now
            )
        return row[0] if row else None


def confirmation_enqueue(*, signature_id: int, email: str, petition_id: int, now: datetime) -> None:
    """Queue a confirmation email in the caller's transaction (what the
    PostgreSQL statement above does in SQL): on SQLite, and for a resend."""
    outbox_enqueue(
        key=confirmation_key(signature_id, now),
        kind=CONFIRM_KIND,
        to_email=email,
        petition=Petition(pk=petition_id),
        payload={"signature_id": signature_id},
    )


@functools.cache
def _confirm_sql() -> str:
    # Each row is reached by its key: the token by its hash, then its
    # signature and petition, and only then are the conditions checked (ok).
    # Left to choose, a generic plan for this prepared statement may look for
    # the signature among the petition's pending ones, which for a viral
    # petition is every unconfirmed signer. The UPDATEs re-check their rows
    # under lock, so two simultaneous confirmations still verify once.
    token, signature = SignatureToken._meta.db_table, Signature._meta.db_table
    return f"""
        WITH tok AS MATERIALIZED (
            SELECT id, signature_id FROM {token} WHERE token_hash = %(token_hash)s
        ),
        sig AS MATERIALIZED (
            SELECT id, petition_id, state FROM {signature}
            WHERE id = (SELECT signature_id FROM tok)
        ),
        ok AS MATERIALIZED (
            SELECT tok.id AS token_id, sig.id AS signature_id, p.state AS petition_state
            FROM tok, sig, {Petition._meta.db_table} p
            WHERE sig.state = 'pending' AND sig.petition_id = %(petition_id)s
              AND p.id = %(petition_id)s AND {_signable_condition()}
        ),
        t AS (
            UPDATE {token} SET used_at = %(now)s
            WHERE id = (SELECT token_id FROM ok) AND used_at IS NULL AND expires_at > %(now)s
            RETURNING signature_id
        ),
        s AS (
            UPDATE {signature} SET state = 'verified', verified_at = %(now)s
            WHERE id = (SELECT signature_id FROM t) AND state = 'pending'
            RETURNING id, petition_id, state, is_creator, verified_at
        )
        SELECT s.id, s.petition_id, s.state, s.is_creator, s.verified_at,
               (SELECT petition_state FROM ok)
        FROM s
    """  # noqa: S608 - table names and constants only; values are parameters


def signature_confirm_sql(
    *, petition_id: int, token_hash: str, now: datetime
) -> tuple[Signature, str] | None:
    """Use a token and verify its signature in one round trip, on PostgreSQL.

    Gives the signature as stored and the petition's state as its row said at
    that moment. None when that is not simply done; the caller then takes the
    ORM's way, which says why.
    """
    if connection.vendor != "postgresql":
        return None
    params = {"now": now, "token_hash": token_hash, "petition_id": petition_id}
    row = _execute_prepared(_confirm_sql(), params)
    if row is None:
        return None
    fields = ["id", "petition_id", "state", "is_creator", "verified_at"]
    return Signature.from_db(DEFAULT_DB_ALIAS, fields, row[:5]), row[5]


def _execute_prepared(sql: str, params: dict[str, Any]) -> tuple[Any, ...] | None:
    """Run one statement as a prepared statement of the pooled connection.

    Django's cursors bind parameters on the client, so PostgreSQL parses and
    plans the statement on every call; here it is planned once per connection.
    Errors are Django's (a lost connection is the 503 page), and the statement
    is logged like any other where queries are logged (tests, debug).
    """
    connection.ensure_connection()
    started = time.monotonic()
    with connection.wrap_database_errors, psycopg.Cursor(connection.connection) as cursor:
        cursor.execute(sql, params, prepare=settings.DB_PREPARE)
        row = cursor.fetchone()
    if connection.queries_logged:
        connection.queries_log.append(
            {"sql": " ".join(sql.split()), "time": f"{time.monotonic() - started:.3f}"}
        )
    return row
