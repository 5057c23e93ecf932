"""Delivering the outbox: claim a batch, send it, record each result.

Exactly-once in practice comes from four things: the outbox key (a message
exists once), the claim (a row is leased by one worker at a time; on
PostgreSQL with SKIP LOCKED so two workers never take the same rows), the
claim's fencing (a worker whose lease ran out and was taken over by another
can no longer record anything: every update names the attempt it claimed),
and the moment a message is recorded sent.

That moment is the SMTP server's commit point, the final "." of DATA. The
worker sends the envelope and the text; then it records the message sent in a
transaction (only if it still holds the claim; the row stays locked until the
COMMIT), sends the COMMIT to PostgreSQL and, without waiting for its answer,
writes the "."; then it reads both answers. A worker killed before the COMMIT
left leaves an unfinished SMTP transaction, which the server discards, and an
uncommitted record, which the database rolls back: the message is sent again
once the lease runs out. A worker killed after the "." left has done both:
the database commits what it received, and the server queues what it
received. Only a kill in the few microseconds between the two writes (no wait
between them) loses the message. Recording after the server's "250" instead,
the usual order, sends a message twice whenever its worker dies between its
"." and its record: a round trip to the SMTP server plus one to the database,
and exactly when the server has just taken the message. A refusal or a lost
connection after the "." puts the record back, to be sent again.
``handover`` does this for one message (on PostgreSQL the record's UPDATE
travels while the server answers the envelope, so it adds no wait).

A batch is prepared once: one query finds the recipients who unsubscribed,
each kind renders the whole batch at once (a response is rendered once for
all its signers, and ``compose`` has Django compose its MIME bytes once), and
one SMTP connection carries every message. Per message only the recipient's
headers, the unsubscribe link, the envelope and the record differ.
"""

from __future__ import annotations

import logging
import smtplib
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import timedelta

from django.conf import settings
from django.core.mail import get_connection
from django.core.mail.backends.base import BaseEmailBackend
from django.db import connection, transaction
from django.db.models import F, Q
from django.utils import timezone

from petitio.notifications.compose import BatchComposer, email_for
from petitio.notifications.handover import (
    Claim,
    ClaimLost,
    claim_finish,
    smtp_of,
    smtp_open,
    smtp_send,
)
from petitio.notifications.models import OutboxMessage, Suppression
from petitio.notifications.registry import RenderedEmail, email_kind_get, email_render_batch
from petitio.signatures.canonical import email_canonicalize

logger = logging.getLogger(__name__)


@dataclass
class DeliveryReport:
    sent: int = 0
    retried: int = 0
    failed: int = 0
    suppressed: int = 0
    errors: list[str] = field(default_factory=list)

    @property
    def handled(self) -> int:
        return self.sent + self.retried + self.failed + self.suppressed


def outbox_claim(*, limit: int) -> list[OutboxMessage]:
    """Lease up to ``limit`` due messages to this worker."""
    now = timezone.now()
    lease = timedelta(seconds=settings.PETITIO["OUTBOX_LEASE_SECONDS"])
    due = Q(state=OutboxMessage.State.PENDING, next_attempt_at__lte=now) | Q(
        state=OutboxMessage.State.SENDING, claimed_until__lt=now
    )
    with transaction.atomic():
        candidates = OutboxMessage.objects.filter(due).order_by("id")
        if connection.features.has_select_for_update_skip_locked:
            candidates = candidates.select_for_update(skip_locked=True)
        ids = list(candidates.values_list("id", flat=True)[:limit])
        if not ids:
            return []
        OutboxMessage.objects.filter(id__in=ids).filter(due).update(
            state=OutboxMessage.State.SENDING,
            claimed_until=now + lease,
            attempts=F("attempts") + 1,
        )
        # Read back in the same transaction: ``attempts`` is this claim's fencing token.
        return list(
            OutboxMessage.objects.filter(id__in=ids, state=OutboxMessage.State.SENDING).order_by(
                "id"
            )
        )


def _suppressed(messages: Sequence[OutboxMessage]) -> set[int]:
    """The ids of the messages whose recipient unsubscribed from their petition."""
    asked = {
        message.pk: (message.petition_id, email_canonicalize(message.to_email))
        for message in messages
        if message.petition_id is not None and email_kind_get(message.kind).honours_unsubscribe
    }
    if not asked:
        return set()
    found = set(
        Suppression.objects.filter(
            petition_id__in={petition_id for petition_id, _ in asked.values()},
            email_canonical__in={address for _, address in asked.values()},
        ).values_list("petition_id", "email_canonical")
    )
    return {pk for pk, pair in asked.items() if pair in found}


def _retry_later(
    message: OutboxMessage,
    error: str,
    report: DeliveryReport,
    held: str = OutboxMessage.State.SENDING,
) -> None:
    if message.attempts >= settings.PETITIO["OUTBOX_MAX_ATTEMPTS"]:
        claim_finish(message, held=held, state=OutboxMessage.State.FAILED, last_error=error[:300])
        report.failed += 1
        return
    backoff = timedelta(seconds=min(30 * 2 ** (message.attempts - 1), 3600))
    claim_finish(
        message,
        held=held,
        state=OutboxMessage.State.PENDING,
        next_attempt_at=timezone.now() + backoff,
        last_error=error[:300],
    )
    report.retried += 1


def outbox_deliver(*, limit: int | None = None) -> DeliveryReport:
    """Send one batch. Safe to run in several workers at once and to re-run."""
    report = DeliveryReport()
    messages = outbox_claim(limit=limit or int(settings.PETITIO["OUTBOX_BATCH"]))
    if not messages:
        return report
    suppressed = _suppressed(messages)
    rendered = email_render_batch([m for m in messages if m.pk not in suppressed])
    composer = BatchComposer()
    smtp = get_connection(fail_silently=False)
    try:
        smtp_open(smtp)
        for index, message in enumerate(messages):
            if message.pk in suppressed:
                claim_finish(message, state=OutboxMessage.State.SUPPRESSED)
                report.suppressed += 1
                continue
            text = rendered[message.pk]
            if text is None:  # what it was about no longer exists
                claim_finish(
                    message, state=OutboxMessage.State.SUPPRESSED, last_error="nothing to send"
                )
                report.suppressed += 1
                continue
            claim = Claim(message)
            try:
                _send(smtp, composer, message, text, claim)
            except smtplib.SMTPRecipientsRefused as exc:
                code = next(iter(exc.recipients.values()))[0]
                _record_refusal(message, code, f"recipient refused ({code})", report, claim.held)
            except smtplib.SMTPResponseException as exc:
                _record_refusal(message, exc.smtp_code, f"SMTP {exc.smtp_code}", report, claim.held)
            except (OSError, smtplib.SMTPException) as exc:
                # The server is unreachable: give back this and the rest of the batch.
                _retry_later(message, f"{type(exc).__name__}", report, claim.held)
                _give_back(messages[index + 1 :])
                report.errors.append(type(exc).__name__)
                break
            except ClaimLost:
                # Our lease ran out and another worker holds this message now (and
                # probably the rest of the batch): leave them to it.
                _give_back(messages[index + 1 :])
                report.errors.append("ClaimLost")
                break
            else:
                report.sent += 1
    except (OSError, smtplib.SMTPException) as exc:
        # Could not even connect: release the claim so the batch is retried.
        for message in messages:
            _retry_later(message, type(exc).__name__, report)
        report.errors.append(type(exc).__name__)
    finally:
        try:
            smtp.close()
        except (OSError, smtplib.SMTPException):
            pass
    if report.handled:
        logger.info(
            "outbox delivered sent=%s retried=%s failed=%s suppressed=%s",
            report.sent,
            report.retried,
            report.failed,
            report.suppressed,
        )
    return report


def _send(
    backend: BaseEmailBackend,
    composer: BatchComposer,
    message: OutboxMessage,
    rendered: RenderedEmail,
    claim: Claim,
) -> None:
    smtp = smtp_of(backend)
    if smtp is None:  # no commit point to record before: record after
        email = email_for(message, rendered)
        email.connection = backend
        email.send()
        claim.hand_over()
        return
    smtp_send(smtp, composer.outgoing(message, rendered), claim)


def _give_back(messages: Sequence[OutboxMessage]) -> None:
    for message in messages:
        claim_finish(message, state=OutboxMessage.State.PENDING)


def _record_refusal(
    message: OutboxMessage,
    code: int,
    error: str,
    report: DeliveryReport,
    held: str = OutboxMessage.State.SENDING,
) -> None:
    if 400 <= code < 500:
        _retry_later(message, error, report, held)
    else:
        claim_finish(message, held=held, state=OutboxMessage.State.FAILED, last_error=error)
        report.failed += 1


def outbox_drain(*, max_seconds: float = 5.0) -> DeliveryReport:
    """Deliver batches until the outbox is empty, a batch fails, or time is up."""
    total = DeliveryReport()
    deadline = time.monotonic() + max_seconds
    while time.monotonic() < deadline:
        report = outbox_deliver()
        total.sent += report.sent
        total.retried += report.retried
        total.failed += report.failed
        total.suppressed += report.suppressed
        total.errors += report.errors
        if not report.handled or report.errors:
            break
    return total
