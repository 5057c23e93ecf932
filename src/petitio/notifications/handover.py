"""Handing one message to the SMTP server, recorded sent at the server's commit point.

The commit point is the final "." of DATA (see ``delivery``'s docstring for
why). The worker sends the envelope and the text; then it records the message
sent in a transaction (only if it still holds the claim; the row stays locked
until the COMMIT), sends the COMMIT to PostgreSQL and, without waiting for its
answer, writes the "."; then it reads both answers.

On PostgreSQL the record costs no wait of its own: ``Claim.reserve`` sends
``BEGIN; UPDATE … SET state = 'sent'`` on the connection's socket before the
envelope, PostgreSQL runs it while the SMTP server answers MAIL, RCPT and
DATA, and ``Claim.hand_over`` reads its answer after the text: one row updated
means the claim still holds, so the COMMIT and the "." go out; none means
another worker took the message over, so the transaction is rolled back and
the "." never written. A worker killed anywhere before the COMMIT left leaves
an open transaction, which PostgreSQL rolls back, and an unfinished SMTP
transaction, which the server discards.

These statements go straight to the connection's libpq handle (``pgconn``),
under Django's feet: Django's connection stays in autocommit and runs nothing
between ``reserve`` and ``hand_over`` or ``release``, which always end the
transaction (COMMIT or ROLLBACK) before anything else uses the connection.

A server that offers PIPELINING (RFC 2920; Postfix and Exim do) gets MAIL,
RCPT and DATA in one write: one round trip instead of three. The text and the
"." stay two writes, so that the COMMIT leaves between them.

On SQLite, or inside a caller's transaction (tests), the record is made with
the ORM and then the "." written. Other email backends (console, locmem, an
HTTP API) have no commit point: a message is recorded after the backend took it.
"""

from __future__ import annotations

import re
import select
import smtplib
import socket
from collections.abc import Callable
from typing import Any

from django.core.mail.backends.smtp import EmailBackend as SMTPBackend
from django.db import DatabaseError, OperationalError, connection
from django.utils import timezone

from petitio.notifications.compose import Outgoing
from petitio.notifications.models import OutboxMessage


class ClaimLost(Exception):
    """This worker's lease on a message ran out and another worker claimed it."""


def claim_finish(
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


def _direct() -> bool:
    """Whether the record goes straight to libpq (PostgreSQL, no caller's transaction)."""
    return connection.vendor == "postgresql" and not connection.in_atomic_block


class Claim:
    """This worker's hold on one claimed message: ``sending`` until the message is
    handed to the server, ``sent`` from then on."""

    def __init__(self, message: OutboxMessage) -> None:
        self.message = message
        self.held: str = OutboxMessage.State.SENDING
        self._pgconn: Any = None  # set while the record's transaction is open

    def reserve(self) -> None:
        """On PostgreSQL, send the record now without waiting: ``hand_over`` reads
        its answer. Until then the connection belongs to this claim."""
        if not _direct() or self._pgconn is not None:
            return
        connection.ensure_connection()
        self._pgconn = pgconn = connection.connection.pgconn
        table = connection.ops.quote_name(OutboxMessage._meta.db_table)
        sent, sending = OutboxMessage.State.SENT.value, OutboxMessage.State.SENDING.value
        sql = f"""
            BEGIN;
            UPDATE {table}
            SET state = '{sent}', claimed_until = NULL,
                sent_at = '{timezone.now().isoformat()}'::timestamptz
            WHERE id = {int(self.message.pk)} AND attempts = {int(self.message.attempts)}
              AND state = '{sending}'
        """  # noqa: S608 - integers, constants and a timestamp made here
        try:
            with connection.wrap_database_errors:
                pgconn.send_query(sql.encode())
                _flush(pgconn)
        except DatabaseError:
            self.release()
            raise

    def hand_over(self, final_write: Callable[[], None] = lambda: None) -> None:
        """Record the message sent, then do ``final_write`` (the final "."): on
        PostgreSQL right after the COMMIT left, before its answer came back.
        Raise ClaimLost, having written nothing, if the message is no longer ours."""
        if not _direct():
            self._record_with_orm()
            final_write()
            return
        self.reserve()
        pgconn = self._pgconn
        try:
            updated = _answers(pgconn)
        except DatabaseError:
            self.release()
            raise
        if updated != 1:
            self.release()
            raise ClaimLost(self.message.pk)
        self._pgconn = None  # the COMMIT ends the transaction, whatever its answer
        with connection.wrap_database_errors:
            pgconn.send_query(b"COMMIT")
            _flush(pgconn)
        self.held = OutboxMessage.State.SENT
        try:
            final_write()
        finally:
            _answers(pgconn)

    def release(self) -> None:
        """End the record's transaction, if one is open, without recording anything."""
        pgconn, self._pgconn = self._pgconn, None
        if pgconn is None:
            return
        from psycopg import pq

        try:
            while pgconn.get_result() is not None:  # the answers to what was sent
                pass
            if pgconn.transaction_status != pq.TransactionStatus.IDLE:
                with connection.wrap_database_errors:
                    pgconn.send_query(b"ROLLBACK")
                    _flush(pgconn)
                _answers(pgconn)
        except DatabaseError:
            connection.close()  # unusable: the server rolls back, Django reconnects

    def _record_with_orm(self) -> None:
        if not claim_finish(self.message, state=OutboxMessage.State.SENT, sent_at=timezone.now()):
            raise ClaimLost(self.message.pk)
        self.held = OutboxMessage.State.SENT


def _flush(pgconn: Any) -> None:
    while pgconn.flush():  # the connection is non-blocking: push it all out
        select.select([], [pgconn.socket], [], 5)


def _answers(pgconn: Any) -> int:
    """Read every answer to what was sent with ``send_query``; raise if any failed.
    Return the rows the last command touched (an UPDATE's count)."""
    from psycopg import pq

    error = ""
    rows = 0
    with connection.wrap_database_errors:
        while (result := pgconn.get_result()) is not None:
            if result.status == pq.ExecStatus.COMMAND_OK:
                rows = result.command_tuples or 0
            elif not error:
                error = result.error_message.decode(errors="replace")
    if error or pgconn.status != pq.ConnStatus.OK:
        raise OperationalError(error or "the connection to the database was lost")
    return rows


_LEADING_DOT = re.compile(rb"(?m)^\.")


def smtp_of(backend: object) -> smtplib.SMTP | None:
    """The SMTP connection of Django's SMTP backend; None for any other backend."""
    smtp = backend.connection if isinstance(backend, SMTPBackend) else None
    return smtp if isinstance(smtp, smtplib.SMTP) else None


def smtp_send(smtp: smtplib.SMTP, outgoing: Outgoing, claim: Claim) -> None:
    """Send one message and record it sent; raise smtplib's exceptions as sendmail would."""
    text = _LEADING_DOT.sub(b"..", outgoing.content)
    if not text.endswith(b"\r\n"):
        text += b"\r\n"
    smtp.ehlo_or_helo_if_needed()
    size = len(outgoing.content)
    options = [f"size={size}"] if smtp.does_esmtp and smtp.has_extn("size") else []
    claim.reserve()  # PostgreSQL records while the server answers the envelope
    try:
        _envelope(smtp, outgoing.sender, options, [outgoing.recipient])
        smtp.send(text)
    except BaseException:
        claim.release()
        raise
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


def _envelope(smtp: smtplib.SMTP, sender: str, options: list[str], recipients: list[str]) -> None:
    """MAIL, RCPT and DATA, up to the server's 354; raise as sendmail would.

    A server that offers PIPELINING (RFC 2920) gets the three in one write and
    answers them together: one round trip instead of three."""
    if not smtp.has_extn("pipelining"):
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
        return
    commands = [
        f"mail FROM:{smtplib.quoteaddr(sender)}{''.join(' ' + option for option in options)}",
        *(f"rcpt TO:{smtplib.quoteaddr(recipient)}" for recipient in recipients),
        "data",
    ]
    if any("\r" in command or "\n" in command for command in commands):
        raise ValueError("a line break in an SMTP command")
    smtp.send("".join(f"{command}\r\n" for command in commands))
    (mail_code, mail_reply), *rcpt_replies, (data_code, data_reply) = [
        smtp.getreply() for _ in commands
    ]
    refused = {
        recipient: reply
        for recipient, reply in zip(recipients, rcpt_replies, strict=True)
        if reply[0] not in (250, 251)
    }
    if mail_code == 250 and not refused and data_code == 354:
        return
    if data_code == 354:
        smtp.close()  # a server that took DATA without a recipient: send it no text
    else:
        codes = [mail_code, data_code, *(code for code, _ in refused.values())]
        _abandon(smtp, 421 if 421 in codes else data_code)
    if mail_code != 250:
        raise smtplib.SMTPSenderRefused(mail_code, mail_reply, sender)
    if refused:
        raise smtplib.SMTPRecipientsRefused(refused)
    raise smtplib.SMTPDataError(data_code, data_reply)


def smtp_open(backend: object) -> None:
    """Open the backend's connection; for SMTP, with Nagle's algorithm off."""
    backend.open()  # type: ignore[attr-defined]
    smtp = smtp_of(backend)
    if smtp is not None and isinstance(smtp.sock, socket.socket):
        # The text and the "." go in two writes: without this, Nagle's algorithm
        # holds the "." back until the server's delayed ACK (40 ms a message).
        smtp.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)


def _abandon(smtp: smtplib.SMTP, code: int) -> None:
    """End a refused SMTP transaction so the connection can carry the next message."""
    if code == 421:  # the server is closing the connection
        smtp.close()
    else:
        try:
            smtp.rset()
        except smtplib.SMTPServerDisconnected:
            pass
