"""Delivering the outbox through a real SMTP server: every signer gets one email with
the response's text and their own unsubscribe link; a batch reads the response and
the unsubscribes once; on PostgreSQL each message is recorded sent at the SMTP commit
point, and a refusal or a lost claim leaves the connection and the rows right."""

from __future__ import annotations

import re
import smtplib
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field

import pytest
from aiosmtpd.controller import Controller
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from petitio.notifications import delivery
from petitio.notifications.delivery import outbox_deliver
from petitio.notifications.models import OutboxMessage, Suppression
from petitio.notifications.services import unsubscribe_message
from petitio.petitions.models import Petition
from petitio.responses.services import response_publish
from petitio.signatures.canonical import email_canonicalize
from petitio.signatures.models import Signature
from petitio.signatures.services import Signer, signatures_import_verified
from tests.conftest import Mailbox, free_port
from tests.factories import add_verified, deliver_all, official_of, open_petition

UNSUBSCRIBE_LINK = re.compile(r"https?://\S+/unsubscribe/([^/\s]+)/")


def respond(petition: Petition, council, *, summary: str, body: str) -> list[str]:
    """Publish a response to the petition; the addresses it is queued for."""
    response_publish(
        addressee=petition.addressees.get(), summary=summary, body=body, by=official_of(council)
    )
    return list(
        OutboxMessage.objects.filter(kind="response", petition=petition)
        .order_by("id")
        .values_list("to_email", flat=True)
    )


def petition_with_signers(council, count: int, **fields) -> Petition:
    petition = open_petition(council, **fields)
    add_verified(petition, count)
    deliver_all()  # confirmation and milestone emails: out of the way
    return petition


def responses_in(mailbox: Mailbox):
    return [message for message in mailbox.messages if "responded" in message["Subject"]]


@pytest.mark.django_db
def test_each_signer_gets_the_response_once_with_their_own_unsubscribe_link(
    council, mailbox, settings
):
    settings.PETITIO = {**settings.PETITIO, "OUTBOX_BATCH": 5}  # several batches
    petition = petition_with_signers(council, 12, action="Fix the potholes")
    mailbox.clear()
    signers = respond(petition, council, summary="We will fix them.", body="Crews start Monday.")
    assert len(signers) == 13  # the creator signed too

    deliver_all()

    received = responses_in(mailbox)
    assert Counter(message["To"] for message in received) == dict.fromkeys(signers, 1)
    tokens = set()
    for message in received:
        assert message["Subject"] == "Small Town Council responded: Fix the potholes"
        text = message.get_content()
        assert "We will fix them." in text
        assert "Crews start Monday." in text
        link = UNSUBSCRIBE_LINK.search(text)
        assert link, text
        assert message["List-Unsubscribe"].strip() == f"<{link.group(0)}>"
        # the link unsubscribes the person it was sent to, from this petition
        unsubscribed = unsubscribe_message(link.group(1))
        assert unsubscribed is not None
        assert unsubscribed.to_email == message["To"]
        assert unsubscribed.petition_id == petition.pk
        tokens.add(link.group(1))
    assert len(tokens) == len(signers)
    assert set(OutboxMessage.objects.filter(kind="response").values_list("state", flat=True)) == {
        OutboxMessage.State.SENT
    }


@pytest.mark.django_db
def test_a_batch_reads_the_response_and_the_unsubscribes_once_whatever_its_size(council, mailbox):
    petition = petition_with_signers(council, 30)
    signers = respond(petition, council, summary="Yes.", body="We agree.")

    with CaptureQueriesContext(connection) as queries:
        report = outbox_deliver(limit=100)

    assert report.sent == len(signers) == 31
    statements = [query["sql"] for query in queries.captured_queries]
    assert sum('FROM "responses_response"' in sql for sql in statements) == 1
    assert sum('FROM "notifications_suppression"' in sql for sql in statements) == 1


@pytest.mark.django_db
def test_an_unsubscribe_stops_only_that_petition_s_email_in_a_mixed_batch(council, mailbox):
    """Pat signed two petitions and unsubscribed from the first one only (with another
    spelling of the address); Lee unsubscribed from the second. One batch holds both
    responses: each is kept from exactly the address that asked."""
    first = petition_with_signers(council, 4, action="Fix the potholes")
    second = petition_with_signers(council, 4, action="Light the park")
    now = timezone.now()
    for petition in (first, second):
        signatures_import_verified(
            petition=petition,
            signers=[
                Signer(
                    name=name,
                    email=address,
                    email_canonical=email_canonicalize(address),
                    postal_code="53703",
                    country="US",
                    region="",
                )
                for name, address in (("Pat", "pat.doe@gmail.com"), ("Lee", "lee@example.org"))
            ],
            verified_at=now,
        )
    respond(first, council, summary="First.", body="First answer.")
    respond(second, council, summary="Second.", body="Second answer.")
    Suppression.objects.create(
        petition=first, email_canonical=email_canonicalize("PatDoe@Gmail.com")
    )
    Suppression.objects.create(petition=second, email_canonical="lee@example.org")
    mailbox.clear()

    report = outbox_deliver(limit=100)

    assert report.suppressed == 2
    assert report.sent == 2 * 7 - 2
    subjects = {
        address: sorted(m["Subject"].split(": ", 1)[1] for m in mailbox.to(address))
        for address in ("pat.doe@gmail.com", "lee@example.org")
    }
    assert subjects == {
        "pat.doe@gmail.com": ["Light the park"],
        "lee@example.org": ["Fix the potholes"],
    }
    assert dict(
        OutboxMessage.objects.filter(
            kind="response", state=OutboxMessage.State.SUPPRESSED
        ).values_list("to_email", "petition_id")
    ) == {"pat.doe@gmail.com": first.pk, "lee@example.org": second.pk}


def _take_over_the_fourth(monkeypatch: pytest.MonkeyPatch) -> None:
    """Claims as usual, then the fourth message's lease runs out and another worker
    claims it (its attempt moves on) before this worker reaches it."""
    claim = delivery.outbox_claim

    def claim_then_lose_the_fourth(*, limit: int) -> list[OutboxMessage]:
        messages = claim(limit=limit)
        OutboxMessage.objects.filter(pk=messages[3].pk).update(attempts=messages[3].attempts + 1)
        return messages

    monkeypatch.setattr(delivery, "outbox_claim", claim_then_lose_the_fourth)


def _check_lost_claim(mailbox: Mailbox, signers: list[str], report) -> None:
    rows = list(OutboxMessage.objects.filter(kind="response").order_by("id"))
    assert report.sent == 3
    assert report.errors == ["ClaimLost"]
    assert [row.state for row in rows[:3]] == [OutboxMessage.State.SENT] * 3
    assert (rows[3].state, rows[3].attempts) == (OutboxMessage.State.SENDING, 2)  # the other's
    assert {row.state for row in rows[4:]} == {OutboxMessage.State.PENDING}  # given back
    assert sorted(message["To"] for message in responses_in(mailbox)) == sorted(
        row.to_email for row in rows[:3]
    )


@pytest.mark.django_db
def test_a_message_another_worker_took_over_is_neither_sent_nor_recorded(
    council, mailbox, monkeypatch
):
    petition = petition_with_signers(council, 6)
    signers = respond(petition, council, summary="Yes.", body="We agree.")
    mailbox.clear()
    _take_over_the_fourth(monkeypatch)

    report = outbox_deliver(limit=100)

    _check_lost_claim(mailbox, signers, report)


# --- Refusals, with and without PIPELINING


@dataclass
class RefusingMta(Mailbox):
    """A mailbox that refuses chosen recipients at RCPT TO or after the final ".", and
    offers PIPELINING (RFC 2920) when told to: aiosmtpd reads commands in order from
    its buffer, so it answers a pipelined envelope like any MTA does."""

    at_rcpt: dict[str, int] = field(default_factory=dict)
    after_data: dict[str, int] = field(default_factory=dict)
    pipelining: bool = False

    async def handle_EHLO(self, server, session, envelope, hostname, responses):
        session.host_name = hostname
        if self.pipelining:
            return [*responses[:-1], "250-PIPELINING", responses[-1]]
        return responses

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if code := self.at_rcpt.get(address):
            return f"{code} Refused"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        for address in envelope.rcpt_tos:
            if code := self.after_data.get(address):
                return f"{code} Refused"
        return await super().handle_DATA(server, session, envelope)


@pytest.fixture(params=["one command at a time", "pipelining"])
def refusing_mta(request, settings) -> Iterator[RefusingMta]:
    mta = RefusingMta(pipelining=request.param == "pipelining")
    controller = Controller(mta, hostname="127.0.0.1", port=free_port())
    controller.start()
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST = "127.0.0.1"
    settings.EMAIL_PORT = controller.port
    settings.EMAIL_USE_TLS = False
    try:
        yield mta
    finally:
        controller.stop()


def _deliver_with_refusals(council, mta: RefusingMta) -> None:
    """One signer refused at RCPT TO (550), one after the "." for good (554), one
    after the "." for now (451): each is recorded as such, the others sent once."""
    petition = petition_with_signers(council, 8)
    signers = respond(petition, council, summary="Yes.", body="We agree.")
    refused_at_rcpt, refused_after_data, later = signers[1], signers[4], signers[6]
    mta.at_rcpt = {refused_at_rcpt: 550}
    mta.after_data = {refused_after_data: 554, later: 451}
    mta.clear()
    started = timezone.now()

    report = outbox_deliver(limit=100)

    assert (report.sent, report.failed, report.retried) == (len(signers) - 3, 2, 1)
    rows = {row.to_email: row for row in OutboxMessage.objects.filter(kind="response")}
    assert (rows[refused_at_rcpt].state, rows[refused_at_rcpt].last_error) == (
        OutboxMessage.State.FAILED,
        "recipient refused (550)",
    )
    assert (rows[refused_after_data].state, rows[refused_after_data].sent_at) == (
        OutboxMessage.State.FAILED,
        None,
    )
    assert rows[later].state == OutboxMessage.State.PENDING
    assert rows[later].sent_at is None
    assert rows[later].next_attempt_at > started
    delivered = set(signers) - {refused_at_rcpt, refused_after_data, later}
    for address in delivered:
        assert rows[address].state == OutboxMessage.State.SENT
        assert rows[address].claimed_until is None
        assert started <= rows[address].sent_at <= timezone.now()
    assert Counter(message["To"] for message in responses_in(mta)) == dict.fromkeys(delivered, 1)


@pytest.mark.django_db
def test_refusals_are_recorded_and_the_rest_is_sent_once(council, refusing_mta):
    _deliver_with_refusals(council, refusing_mta)


@pytest.mark.django_db
def test_a_message_takes_three_writes_with_pipelining_and_five_without(
    council, refusing_mta, monkeypatch
):
    petition = petition_with_signers(council, 6)
    signers = respond(petition, council, summary="Yes.", body="We agree.")
    refusing_mta.clear()
    writes = Counter()
    send = smtplib.SMTP.send

    def counted(self, data):
        writes["all"] += 1
        return send(self, data)

    monkeypatch.setattr(smtplib.SMTP, "send", counted)

    report = outbox_deliver(limit=100)

    assert report.sent == len(signers) == 7
    assert Counter(message["To"] for message in responses_in(refusing_mta)) == dict.fromkeys(
        signers, 1
    )
    # EHLO and QUIT, then per message: the envelope, the text, the "."
    # (one command at a time: MAIL, RCPT, DATA, the text, the ".")
    per_message = 3 if refusing_mta.pipelining else 5
    assert writes["all"] == 2 + per_message * len(signers)


# --- PostgreSQL outside a caller's transaction: the record goes straight to libpq


def _connection_is_clean() -> None:
    """No transaction left open under Django's feet, and the connection still works."""
    from psycopg import pq

    assert not connection.in_atomic_block
    assert connection.connection.pgconn.transaction_status == pq.TransactionStatus.IDLE
    assert OutboxMessage.objects.exists()


@pytest.mark.postgres_only
@pytest.mark.django_db(transaction=True)
def test_on_postgresql_refusals_roll_back_the_record_and_the_rest_is_sent_once(
    council, refusing_mta
):
    if connection.vendor != "postgresql":
        pytest.fail("needs the PostgreSQL pass of bin/test (DATABASE_URL=postgresql://...)")
    _deliver_with_refusals(council, refusing_mta)
    _connection_is_clean()


@pytest.mark.postgres_only
@pytest.mark.django_db(transaction=True)
def test_on_postgresql_a_lost_claim_hangs_up_before_the_final_dot(council, mailbox, monkeypatch):
    if connection.vendor != "postgresql":
        pytest.fail("needs the PostgreSQL pass of bin/test (DATABASE_URL=postgresql://...)")
    petition = petition_with_signers(council, 6)
    signers = respond(petition, council, summary="Yes.", body="We agree.")
    mailbox.clear()
    _take_over_the_fourth(monkeypatch)

    report = outbox_deliver(limit=100)

    _connection_is_clean()
    _check_lost_claim(mailbox, signers, report)


@pytest.mark.postgres_only
@pytest.mark.django_db(transaction=True)
def test_on_postgresql_each_signer_is_emailed_once_in_batches(council, mailbox, settings):
    if connection.vendor != "postgresql":
        pytest.fail("needs the PostgreSQL pass of bin/test (DATABASE_URL=postgresql://...)")
    settings.PETITIO = {**settings.PETITIO, "OUTBOX_BATCH": 4}
    petition = petition_with_signers(council, 10)
    mailbox.clear()
    signers = respond(petition, council, summary="Yes.", body="We agree.")

    deliver_all()

    _connection_is_clean()
    assert Counter(m["To"] for m in responses_in(mailbox)) == dict.fromkeys(signers, 1)
    assert set(
        Signature.objects.filter(petition=petition, state="verified").values_list(
            "email", flat=True
        )
    ) == set(signers)
    assert set(OutboxMessage.objects.filter(kind="response").values_list("state", flat=True)) == {
        OutboxMessage.State.SENT
    }
