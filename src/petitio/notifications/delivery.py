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

On SQLite, or inside a caller's transaction (tests), the record is made and
then the "." written. Other email backends (console, locmem, an HTTP API) have
no commit point: a message is recorded after the backend took it.
"""

from __future__ import annotations

import logging
import re
import select
import smtplib
import socket
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.core.mail import EmailMessage, get_connection
from django.core.mail.backends.smtp import EmailBackend as SMTPBackend
from django.core.mail.message import sanitize_address
from django.db import DatabaseError, OperationalError, connection, transaction
from django.db.models import F, Q
from django.utils import timezone

from petitio.notifications.models import OutboxMessage, Suppression
from petitio.notifications.registry import email_kind_get
from petitio.notifications.services import unsubscribe_token
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


def _is_suppressed(message: OutboxMessage) -> bool:
    if message.petition_id is None or not email_kind_get(message.kind).honours_unsubscribe:
        return False
    return Suppression.objects.filter(
        petition_id=message.petition_id, email_canonical=email_canonicalize(message.to_email)
    ).exists()


def _finish(
    message: OutboxMessage, *, held: str = OutboxMessage.State.SENDING, **fields: object
) -> int:
    """Record the outcome of this worker's claim on ``message``.

    ``held`` is the state this worker left the row in (``sent`` once handed to
    the SMTP server). The update names the claim's attempt, so it does nothing
    when the lease ran out and another worker claimed the message since.
    """
    if held == OutboxMessage.State.SENT:
        fields.setdefault("sent_at", None)
    return OutboxMessage.objects.filter(
        pk=message.pk, state=held, attempts=message.attempts
    ).update(claimed_until=None, **fields)


def _retry_later(
    message: OutboxMessage,
    error: str,
    report: DeliveryReport,
    held: str = OutboxMessage.State.SENDING,
) -> None:
    if message.attempts >= settings.PETITIO["OUTBOX_MAX_ATTEMPTS"]:
        _finish(message, held=held, state=OutboxMessage.State.FAILED, last_error=error[:300])
        report.failed += 1
        return
    backoff = timedelta(seconds=min(30 * 2 ** (message.attempts - 1), 3600))
    _finish(
        message,
        held=held,
        state=OutboxMessage.State.PENDING,
        next_attempt_at=timezone.now() + backoff,
        last_error=error[:300],
    )
    report.retried += 1


def _email_for(message: OutboxMessage) -> EmailMessage | None:
    rendered = email_kind_get(message.kind).render(message)
    if rendered is None:
        return None
    unsubscribe_url = f"{settings.SITE_URL}/unsubscribe/{unsubscribe_token(message)}/"
    body = (
        f"{rendered.body.rstrip()}\n\n--\nTo stop emails about this petition: {unsubscribe_url}\n"
    )
    return EmailMessage(
        subject=rendered.subject,
        body=body,
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=[message.to_email],
        headers={
            "List-Unsubscribe": f"<{unsubscribe_url}>",
            "X-Petitio-Message": message.key,
        },
    )


class ClaimLost(Exception):
    """This worker's lease on a message ran out and another worker claimed it."""


class _Claim:
    """This worker's hold on one claimed message: ``sending`` until the message is
    handed to the server, ``sent`` from then on (see the module's docstring)."""

    def __init__(self, message: OutboxMessage) -> None:
        self.message = message
        self.held: str = OutboxMessage.State.SENDING

    def hand_over(self, final_write: Callable[[], None] = lambda: None) -> None:
        """Record the message sent, then do ``final_write`` (the final "."): on
        PostgreSQL right after the COMMIT left, before its answer came back.
        Raise ClaimLost, having written nothing, if the message is no longer ours."""
        if connection.vendor != "postgresql" or connection.in_atomic_block:
            self._record()
            final_write()
            return
        with transaction.atomic():
            self._record()  # locks the row until the COMMIT
            pgconn = connection.connection.pgconn
            pgconn.send_query(b"COMMIT")
            while pgconn.flush():  # the connection is non-blocking: push it all out
                select.select([], [pgconn.socket], [], 5)
            try:
                final_write()
            finally:
                _commit_answer(pgconn)

    def _record(self) -> None:
        if not _finish(self.message, state=OutboxMessage.State.SENT, sent_at=timezone.now()):
            raise ClaimLost(self.message.pk)
        self.held = OutboxMessage.State.SENT


def _commit_answer(pgconn: Any) -> None:
    """Read the answer to a COMMIT sent with ``send_query``; raise if it failed."""
    from psycopg import pq

    error = ""
    while (result := pgconn.get_result()) is not None:
        if result.status != pq.ExecStatus.COMMAND_OK:
            error = result.error_message.decode(errors="replace")
    if error or pgconn.status != pq.ConnStatus.OK:
        raise OperationalError(error or "the connection was lost during COMMIT")


_LEADING_DOT = re.compile(rb"(?m)^\.")


def _send(backend: object, email: EmailMessage, claim: _Claim) -> None:
    """Send one email and record it sent; raise smtplib's exceptions as sendmail would."""
    smtp = backend.connection if isinstance(backend, SMTPBackend) else None
    if not isinstance(smtp, smtplib.SMTP):
        email.send()  # no commit point to record before: record after
        claim.hand_over()
        return
    encoding = email.encoding or settings.DEFAULT_CHARSET
    sender = sanitize_address(email.from_email, encoding)
    recipients = [sanitize_address(address, encoding) for address in email.recipients()]
    # As Django's SMTP backend does (its message classes take linesep; the stubs do not).
    content = email.message().as_bytes(linesep="\r\n")  # type: ignore[call-arg]
    smtp.ehlo_or_helo_if_needed()
    if isinstance(smtp.sock, socket.socket):
        # The text and the "." go in two writes: without this, Nagle's algorithm
        # holds the "." back until the server's delayed ACK (40 ms a message).
        smtp.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    options = [f"size={len(content)}"] if smtp.does_esmtp and smtp.has_extn("size") else []
    code, reply = smtp.mail(sender, options)
    if code != 250:
        _abandon(smtp, code)
        raise smtplib.SMTPSenderRefused(code, reply, sender)
    refused = {}
    for recipient in recipients:
        code, reply = smtp.rcpt(recipient)
        if code not in (250, 251):
            refused[recipient] = (code, reply)
    if refused:  # one recipient per message: refused for one is refused
        _abandon(smtp, code)
        raise smtplib.SMTPRecipientsRefused(refused)
    code, reply = smtp.docmd("data")
    if code != 354:
        _abandon(smtp, code)
        raise smtplib.SMTPDataError(code, reply)
    text = _LEADING_DOT.sub(b"..", content)
    smtp.send(text if text.endswith(b"\r\n") else text + b"\r\n")
    dot_sent = False

    def final_dot() -> None:
        nonlocal dot_sent
        smtp.send(b".\r\n")
        dot_sent = True

    try:
        claim.hand_over(final_dot)
    except (ClaimLost, DatabaseError):
        if not dot_sent:
            smtp.close()  # hang up before the ".": the server discards the message
        raise
    code, reply = smtp.getreply()
    if code != 250:
        _abandon(smtp, code)
        raise smtplib.SMTPDataError(code, reply)


def _abandon(smtp: smtplib.SMTP, code: int) -> None:
    """End a refused SMTP transaction so the connection can carry the next message."""
    if code == 421:  # the server is closing the connection
        smtp.close()
    else:
        try:
            smtp.rset()
        except smtplib.SMTPServerDisconnected:
            pass


def outbox_deliver(*, limit: int | None = None) -> DeliveryReport:
    """Send one batch. Safe to run in several workers at once and to re-run."""
    report = DeliveryReport()
    messages = outbox_claim(limit=limit or settings.PETITIO["OUTBOX_BATCH"])
    if not messages:
        return report
    smtp = get_connection(fail_silently=False)
    try:
        smtp.open()
        for message in messages:
            if _is_suppressed(message):
                _finish(message, state=OutboxMessage.State.SUPPRESSED)
                report.suppressed += 1
                continue
            email = _email_for(message)
            if email is None:  # what it was about no longer exists
                _finish(message, state=OutboxMessage.State.SUPPRESSED, last_error="nothing to send")
                report.suppressed += 1
                continue
            email.connection = smtp
            claim = _Claim(message)
            try:
                _send(smtp, email, claim)
            except smtplib.SMTPRecipientsRefused as exc:
                code = next(iter(exc.recipients.values()))[0]
                _record_refusal(message, code, f"recipient refused ({code})", report, claim.held)
            except smtplib.SMTPResponseException as exc:
                _record_refusal(message, exc.smtp_code, f"SMTP {exc.smtp_code}", report, claim.held)
            except (OSError, smtplib.SMTPException) as exc:
                # The server is unreachable: give back this and the rest of the batch.
                _retry_later(message, f"{type(exc).__name__}", report, claim.held)
                for rest in messages[messages.index(message) + 1 :]:
                    _finish(rest, state=OutboxMessage.State.PENDING)
                report.errors.append(type(exc).__name__)
                break
            except ClaimLost:
                # Our lease ran out and another worker holds this message now (and
                # probably the rest of the batch): leave them to it.
                for rest in messages[messages.index(message) + 1 :]:
                    _finish(rest, state=OutboxMessage.State.PENDING)
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
        _finish(message, held=held, state=OutboxMessage.State.FAILED, last_error=error)
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
