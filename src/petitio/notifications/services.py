"""Putting messages in the outbox and honouring unsubscribes."""

from __future__ import annotations

import json
from typing import Any

from django.core import signing
from django.db import connection, transaction
from django.utils import timezone

from petitio.notifications.models import OutboxMessage, Suppression
from petitio.signatures.canonical import email_canonicalize

UNSUBSCRIBE_SALT = "petitio.unsubscribe"


def outbox_enqueue(
    *,
    key: str,
    kind: str,
    to_email: str,
    petition: Any = None,
    payload: dict[str, Any] | None = None,
) -> None:
    """Queue one email inside the caller's transaction; a repeated key is a no-op.

    The worker only sees the row once the transaction commits, so an email is
    never sent for something that was rolled back.
    """
    OutboxMessage.objects.bulk_create(
        [
            OutboxMessage(
                key=key,
                kind=kind,
                to_email=to_email,
                petition=petition,
                payload=payload or {},
            )
        ],
        ignore_conflicts=True,
    )


def outbox_enqueue_verified_signers(
    *, petition_id: int, kind: str, key_prefix: str, payload: dict[str, Any]
) -> int:
    """Queue one message per verified signer of a petition, in one statement.

    The key is ``<key_prefix>:signature:<id>``, unique in the table, so the
    statement can be re-run (for signers verified later) without queuing any
    signer twice. Addresses that unsubscribed from the petition are skipped.
    """
    payload_sql = "CAST(%s AS jsonb)" if connection.vendor == "postgresql" else "%s"
    now = timezone.now()
    sql = f"""
        INSERT INTO notifications_outboxmessage
            (key, kind, to_email, petition_id, payload, state, attempts,
             next_attempt_at, created_at, last_error)
        SELECT %s || s.id, %s, s.email, s.petition_id, {payload_sql}, 'pending', 0,
               %s, %s, ''
        FROM signatures_signature s
        WHERE s.petition_id = %s AND s.state = 'verified'
          AND NOT EXISTS (
              SELECT 1 FROM notifications_suppression x
              WHERE x.petition_id = s.petition_id AND x.email_canonical = s.email_canonical)
        ON CONFLICT (key) DO NOTHING
    """  # noqa: S608 - only the placeholder syntax is interpolated
    with connection.cursor() as cursor:
        cursor.execute(
            sql,
            [f"{key_prefix}:signature:", kind, json.dumps(payload), now, now, petition_id],
        )
        return cursor.rowcount


def unsubscribe_token(message: OutboxMessage) -> str:
    return signing.dumps(message.pk, salt=UNSUBSCRIBE_SALT, compress=True)


def unsubscribe_message(token: str) -> OutboxMessage | None:
    """The message an unsubscribe link came from, or None for a forged link."""
    try:
        message_id = signing.loads(token, salt=UNSUBSCRIBE_SALT)
    except signing.BadSignature:
        return None
    return OutboxMessage.objects.filter(pk=message_id).select_related("petition").first()


@transaction.atomic
def suppression_create(*, message: OutboxMessage) -> None:
    """Stop further email about the message's petition to its recipient.

    Messages already queued for that address are marked suppressed at send time.
    """
    if message.petition_id is None:
        return
    Suppression.objects.bulk_create(
        [
            Suppression(
                petition_id=message.petition_id,
                email_canonical=email_canonicalize(message.to_email),
            )
        ],
        ignore_conflicts=True,
    )
