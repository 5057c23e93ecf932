"""Delivering the outbox: claim a batch, send it, record each result.

Exactly-once in practice comes from three things: the outbox key (a message
exists once), the claim (a row is leased by one worker at a time; on
PostgreSQL with SKIP LOCKED so two workers never take the same rows), and
marking each message sent right after the SMTP server accepted it.
"""

from __future__ import annotations

import logging
import smtplib
import time
from dataclasses import dataclass, field
from datetime import timedelta

from django.conf import settings
from django.core.mail import EmailMessage, get_connection
from django.db import connection, transaction
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
    return list(
        OutboxMessage.objects.filter(id__in=ids, state=OutboxMessage.State.SENDING).order_by("id")
    )


def _is_suppressed(message: OutboxMessage) -> bool:
    if message.petition_id is None or not email_kind_get(message.kind).honours_unsubscribe:
        return False
    return Suppression.objects.filter(
        petition_id=message.petition_id, email_canonical=email_canonicalize(message.to_email)
    ).exists()


def _finish(message: OutboxMessage, **fields: object) -> None:
    OutboxMessage.objects.filter(pk=message.pk, state=OutboxMessage.State.SENDING).update(
        claimed_until=None, **fields
    )


def _retry_later(message: OutboxMessage, error: str, report: DeliveryReport) -> None:
    if message.attempts >= settings.PETITIO["OUTBOX_MAX_ATTEMPTS"]:
        _finish(message, state=OutboxMessage.State.FAILED, last_error=error[:300])
        report.failed += 1
        return
    backoff = timedelta(seconds=min(30 * 2 ** (message.attempts - 1), 3600))
    _finish(
        message,
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
            try:
                email.send()
            except smtplib.SMTPRecipientsRefused as exc:
                code = next(iter(exc.recipients.values()))[0]
                _record_refusal(message, code, f"recipient refused ({code})", report)
            except smtplib.SMTPResponseException as exc:
                _record_refusal(message, exc.smtp_code, f"SMTP {exc.smtp_code}", report)
            except (OSError, smtplib.SMTPException) as exc:
                # The server is unreachable: give back this and the rest of the batch.
                _retry_later(message, f"{type(exc).__name__}", report)
                for rest in messages[messages.index(message) + 1 :]:
                    _finish(rest, state=OutboxMessage.State.PENDING)
                report.errors.append(type(exc).__name__)
                break
            else:
                _finish(message, state=OutboxMessage.State.SENT, sent_at=timezone.now())
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


def _record_refusal(message: OutboxMessage, code: int, error: str, report: DeliveryReport) -> None:
    if 400 <= code < 500:
        _retry_later(message, error, report)
    else:
        _finish(message, state=OutboxMessage.State.FAILED, last_error=error)
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
