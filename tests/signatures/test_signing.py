"""Signing and confirming, against the real database and a real SMTP server.

The rules of DESIGN.md section 5: one signature per person (by canonical
email), a duplicate answered exactly like a new signature, confirmation
emails through the outbox, tokens stored only as hashes and used once, and
verification on a POST, never on the GET a mail scanner makes.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta

import pytest
from django.conf import settings
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils import timezone

from petitio.notifications.models import OutboxMessage
from petitio.petitions.models import Petition, State
from petitio.petitions.services import petition_reject, petition_remove, petitions_close_due
from petitio.signatures.models import Signature, SignatureToken
from petitio.signatures.services import (
    SigningRefused,
    TokenRefused,
    signature_confirm,
    signature_create,
)
from petitio.signatures.tally import tally_run
from tests.factories import (
    confirm,
    confirm_link,
    deliver_all,
    draft_petition,
    moderator,
    open_petition,
    sign,
)

pytestmark = pytest.mark.django_db


# Helpers


class Clock:
    """Moves the application's clock forward; nothing waits."""

    def __init__(self) -> None:
        self.offset = timedelta(0)

    def advance(self, **delta: float) -> None:
        self.offset += timedelta(**delta)


@pytest.fixture
def clock(monkeypatch) -> Clock:
    moved = Clock()
    real_now = timezone.now
    monkeypatch.setattr(timezone, "now", lambda: real_now() + moved.offset)
    return moved


@pytest.fixture
def petition(president) -> Petition:
    """An open We the People petition whose creator's emails are already out of the way."""
    return open_petition(president)


def signatures_of(petition: Petition) -> list[Signature]:
    return list(Signature.objects.filter(petition=petition, is_creator=False))


def confirmations_to(signature: Signature) -> list[OutboxMessage]:
    return list(
        OutboxMessage.objects.filter(
            kind="signature_confirm", payload__signature_id=signature.pk
        ).order_by("id")
    )


def resend_interval() -> timedelta:
    return timedelta(minutes=settings.PETITIO["VERIFICATION_RESEND_MINUTES"])


def emailed_token(mailbox, address: str) -> str:
    """Deliver the outbox and return the token from the newest email to ``address``."""
    deliver_all()
    received = mailbox.to(address)
    assert received, f"no email reached {address}"
    _, token = confirm_link(received[-1])
    return token


def sign_data(email: str, **overrides) -> dict[str, str]:
    data = {"name": "Ann Signer", "email": email, "postal_code": "53703", "country": "US"}
    data.update(overrides)
    return data


# Signing


def test_signing_stores_one_pending_signature_and_emails_a_confirmation_link(petition, mailbox):
    count_before = Petition.objects.get(pk=petition.pk).signature_count

    assert (
        signature_create(
            petition=petition,
            name="Ann Signer",
            email="Ann@Example.org",
            postal_code="53703",
            country="US",
        )
        is None
    )

    (signature,) = signatures_of(petition)
    assert signature.state == Signature.State.PENDING
    assert signature.email == "Ann@Example.org"
    assert signature.email_canonical == "ann@example.org"
    assert signature.verified_at is None
    assert len(confirmations_to(signature)) == 1

    deliver_all()
    (message,) = mailbox.to("Ann@Example.org")
    assert petition.action in message["Subject"]
    petition_id, token = confirm_link(message)
    assert petition_id == petition.pk
    assert SignatureToken.objects.filter(
        signature=signature, token_hash=hashlib.sha256(token.encode()).hexdigest()
    ).exists()
    assert Petition.objects.get(pk=petition.pk).signature_count == count_before


@pytest.mark.parametrize(
    ("first", "again"),
    [
        ("ann@example.org", "ANN@Example.ORG"),
        ("ann@example.org", "  ann@example.org "),
        ("jane.doe@gmail.com", "janedoe@gmail.com"),
        ("jane.doe@gmail.com", "J.A.N.E.D.O.E@Gmail.com"),
        ("jane.doe@gmail.com", "jane.doe+petition@gmail.com"),
        ("jane.doe@gmail.com", "JaneDoe+x@googlemail.com"),
    ],
)
def test_same_person_signing_again_creates_no_second_signature(petition, first, again):
    sign(petition, first)
    sign(petition, again)

    (signature,) = signatures_of(petition)
    assert signature.email == first, "the stored address is the one first typed"


def test_dotted_and_tagged_addresses_elsewhere_are_different_people(petition):
    for email in ("ann@example.org", "a.nn@example.org", "ann+news@example.org"):
        sign(petition, email)
    assert len(signatures_of(petition)) == 3


def test_duplicate_signature_answers_like_a_new_one(petition):
    new = signature_create(
        petition=petition,
        name="Jane Doe",
        email="jane.doe@gmail.com",
        postal_code="53703",
        country="US",
    )
    duplicate = signature_create(
        petition=petition,
        name="Jane Doe",
        email="JaneDoe+again@googlemail.com",
        postal_code="53703",
        country="US",
    )
    assert new is None
    assert duplicate is None
    assert len(signatures_of(petition)) == 1


def test_duplicate_signature_through_the_page_answers_like_a_new_one(petition, client):
    sign_url = reverse("petition-sign", args=[petition.pk])
    check_email_url = reverse("petition-check-email", args=[petition.pk])

    first = client.post(sign_url, sign_data("jane.doe@gmail.com"))
    again = client.post(sign_url, sign_data("Jane.Doe+second@GMAIL.com"))
    someone_else = client.post(sign_url, sign_data("bob@example.org"))

    for answer in (first, again, someone_else):
        assert answer.status_code == 302
        assert answer["Location"] == check_email_url
    assert len(signatures_of(petition)) == 2
    page = client.get(check_email_url)
    assert page.status_code == 200
    assert b"Check your email" in page.content


def test_unverified_duplicate_resends_the_confirmation_at_most_once_per_interval(
    petition, mailbox, clock
):
    sign(petition, "jane.doe@gmail.com")
    (signature,) = signatures_of(petition)
    assert len(confirmations_to(signature)) == 1

    sign(petition, "janedoe@gmail.com")  # at once: no second email
    clock.advance(minutes=settings.PETITIO["VERIFICATION_RESEND_MINUTES"] - 1)
    sign(petition, "jane.doe+again@gmail.com")  # still inside the interval
    assert len(confirmations_to(signature)) == 1

    clock.advance(minutes=2)  # now past the interval since the first email
    sign(petition, "JANE.DOE@googlemail.com")
    assert len(confirmations_to(signature)) == 2

    sign(petition, "jane.doe@gmail.com")  # the interval starts again
    assert len(confirmations_to(signature)) == 2

    clock.advance(minutes=settings.PETITIO["VERIFICATION_RESEND_MINUTES"] + 1)
    sign(petition, "jane.doe@gmail.com")
    assert len(confirmations_to(signature)) == 3

    deliver_all()
    received = mailbox.to("jane.doe@gmail.com")
    assert len(received) == 3, "each resend reaches the address first typed"
    to_jane = [m["To"] for m in mailbox.messages if "jane" in m["To"].lower()]
    assert to_jane == ["jane.doe@gmail.com"] * 3, "no email to the variants typed later"
    tokens = {confirm_link(message)[1] for message in received}
    assert len(tokens) == 3
    assert len(signatures_of(petition)) == 1


def test_resend_interval_is_measured_from_the_last_email(petition):
    sign(petition, "ann@example.org")
    (signature,) = signatures_of(petition)
    Signature.objects.filter(pk=signature.pk).update(
        last_email_at=timezone.now() - resend_interval() + timedelta(minutes=1)
    )
    sign(petition, "ann@example.org")
    assert len(confirmations_to(signature)) == 1
    signature.refresh_from_db()
    assert signature.last_email_at < timezone.now() - resend_interval() + timedelta(minutes=2)


def test_verified_duplicate_sends_nothing(petition, mailbox):
    sign(petition, "ann@example.org")
    token = emailed_token(mailbox, "ann@example.org")
    signature_confirm(petition=petition, token=token)
    (signature,) = signatures_of(petition)
    assert signature.state == Signature.State.VERIFIED
    Signature.objects.filter(pk=signature.pk).update(
        last_email_at=timezone.now() - resend_interval() - timedelta(hours=1)
    )
    mailbox.clear()

    sign(petition, "ANN@example.org")

    deliver_all()
    assert mailbox.to("ann@example.org") == []
    assert len(confirmations_to(signature)) == 1
    signature.refresh_from_db()
    assert signature.state == Signature.State.VERIFIED


# Petitions that take no signatures


def closed_by_job(authority) -> Petition:
    petition = open_petition(authority)
    Petition.objects.filter(pk=petition.pk).update(closes_at=timezone.now() - timedelta(hours=1))
    petitions_close_due()
    petition.refresh_from_db()
    assert petition.state == State.CLOSED
    return petition


def past_closing_time(authority) -> Petition:
    """Its closing time passed; the closing job has not run yet."""
    petition = open_petition(authority)
    Petition.objects.filter(pk=petition.pk).update(closes_at=timezone.now() - timedelta(seconds=1))
    petition.refresh_from_db()
    return petition


def rejected(authority) -> Petition:
    return petition_reject(petition=open_petition(authority), by=moderator(), reason="no_action")


def hidden(authority) -> Petition:
    return petition_reject(petition=open_petition(authority), by=moderator(), reason="offensive")


def removed(authority) -> Petition:
    return petition_remove(petition=open_petition(authority), by=moderator(), reason="Spam run")


@pytest.mark.parametrize(
    ("make", "state", "says"),
    [
        (draft_petition, State.DRAFT, "has not been published"),
        (closed_by_job, State.CLOSED, "closed"),
        (past_closing_time, State.GATHERING, "closed"),
        (rejected, State.REJECTED, "rejected"),
        (hidden, State.HIDDEN, "rejected"),
        (removed, State.REMOVED, "removed"),
    ],
    ids=["draft", "closed", "past-closing-time", "rejected", "hidden", "removed"],
)
def test_petition_not_taking_signatures_refuses_saying_why(president, make, state, says):
    petition = make(president)
    assert petition.state == state
    outbox_before = OutboxMessage.objects.count()

    with pytest.raises(SigningRefused) as refused:
        sign(petition, "ann@example.org")

    assert says in str(refused.value)
    assert "cannot be signed" in str(refused.value) or "no longer accepts" in str(refused.value)
    assert signatures_of(petition) == []
    assert OutboxMessage.objects.count() == outbox_before


def test_a_duplicate_after_the_petition_closed_is_refused_and_emails_nothing(petition, clock):
    """The caller's copy of the petition may be a second old: a duplicate that
    arrives after closing is refused from the database's row, not the copy."""
    sign(petition, "ann@example.org")
    (signature,) = signatures_of(petition)
    clock.advance(minutes=settings.PETITIO["VERIFICATION_RESEND_MINUTES"] + 1)  # a resend is due
    Petition.objects.filter(pk=petition.pk).update(state=State.CLOSED)
    assert petition.state == State.GATHERING  # the caller's copy

    with pytest.raises(SigningRefused) as refused:
        sign(petition, "ANN@example.org")

    assert "closed" in str(refused.value)
    assert len(confirmations_to(signature)) == 1


def test_signing_a_closed_petition_through_the_page_shows_why(president, client):
    petition = closed_by_job(president)
    answer = client.post(
        reverse("petition-sign", args=[petition.pk]), sign_data("ann@example.org"), follow=True
    )
    assert b"no longer accepts signatures" in answer.content
    assert signatures_of(petition) == []


# Confirmation tokens


def test_token_is_stored_only_as_its_sha256_hash(petition, mailbox):
    sign(petition, "ann@example.org")
    token = emailed_token(mailbox, "ann@example.org")
    (signature,) = signatures_of(petition)

    (row,) = SignatureToken.objects.filter(signature=signature).values()
    assert row["token_hash"] == hashlib.sha256(token.encode()).hexdigest()
    assert all(token not in str(value) for value in row.values())
    for message in OutboxMessage.objects.values():
        assert all(token not in str(value) for value in message.values())


def test_token_confirms_once_and_a_second_use_is_refused(petition, mailbox):
    sign(petition, "ann@example.org")
    token = emailed_token(mailbox, "ann@example.org")

    signature = signature_confirm(petition=petition, token=token)
    assert signature.state == Signature.State.VERIFIED
    verified_at = signature.verified_at
    assert verified_at is not None

    with pytest.raises(TokenRefused) as refused:
        signature_confirm(petition=petition, token=token)
    assert refused.value.reason == "used"
    signature.refresh_from_db()
    assert signature.verified_at == verified_at


def test_expired_token_is_refused_and_the_signature_stays_pending(petition, mailbox, client):
    sign(petition, "ann@example.org")
    token = emailed_token(mailbox, "ann@example.org")
    SignatureToken.objects.update(expires_at=timezone.now() - timedelta(seconds=1))

    with pytest.raises(TokenRefused) as refused:
        signature_confirm(petition=petition, token=token)
    assert refused.value.reason == "expired"

    page = client.post(reverse("signature-confirm", args=[petition.pk, token]))
    assert page.status_code == 410
    assert b"expired" in page.content
    (signature,) = signatures_of(petition)
    assert signature.state == Signature.State.PENDING
    assert SignatureToken.objects.get(signature=signature).used_at is None


def test_forged_token_is_unknown_and_changes_nothing(petition, president, mailbox, client):
    sign(petition, "ann@example.org")
    real_token = emailed_token(mailbox, "ann@example.org")
    other_petition = open_petition(president)

    for target, token in (
        (petition, secrets.token_urlsafe(32)),
        (petition, real_token[:-1]),
        (other_petition, real_token),  # a real token on another petition's link
    ):
        with pytest.raises(TokenRefused) as refused:
            signature_confirm(petition=target, token=token)
        assert refused.value.reason == "unknown"
        page = client.post(reverse("signature-confirm", args=[target.pk, token]))
        assert page.status_code == 404
        assert b"not valid" in page.content

    (signature,) = signatures_of(petition)
    assert signature.state == Signature.State.PENDING


def test_opening_the_link_changes_nothing_and_pressing_confirm_verifies(petition, mailbox, client):
    sign(petition, "ann@example.org")
    token = emailed_token(mailbox, "ann@example.org")
    url = reverse("signature-confirm", args=[petition.pk, token])

    for _ in range(2):  # a mail scanner, then the person
        page = client.get(url)
        assert page.status_code == 200
        assert b"Confirm my signature" in page.content
    (signature,) = signatures_of(petition)
    assert signature.state == Signature.State.PENDING
    assert SignatureToken.objects.get(signature=signature).used_at is None

    answer = client.post(url)
    assert answer.status_code == 302
    assert answer["Location"] == reverse("signature-confirmed", args=[petition.pk])
    signature.refresh_from_db()
    assert signature.state == Signature.State.VERIFIED
    assert signature.verified_at is not None

    again = client.post(url)
    assert again.status_code == 410
    assert b"already been used" in again.content


# Late confirmation after closing


@pytest.fixture
def closing_council_petition(council, mailbox) -> tuple[Petition, str]:
    """A council petition with a pending signature made while it was open, then closed."""
    petition = open_petition(council)
    tally_run()
    sign(petition, "late@example.org")
    token = emailed_token(mailbox, "late@example.org")
    return petition, token


def close_hours_ago(petition: Petition, hours: float) -> Petition:
    Petition.objects.filter(pk=petition.pk).update(
        closes_at=timezone.now() - timedelta(hours=hours)
    )
    petitions_close_due()
    petition.refresh_from_db()
    assert petition.state == State.CLOSED
    return petition


def test_signature_made_before_closing_can_be_confirmed_in_the_grace_period(
    closing_council_petition,
):
    petition, token = closing_council_petition
    grace = petition.policy.late_confirmation_hours
    petition = close_hours_ago(petition, grace - 1)
    count = petition.signature_count

    with pytest.raises(SigningRefused):
        sign(petition, "too-late@example.org")
    signature = signature_confirm(petition=petition, token=token)
    assert signature.state == Signature.State.VERIFIED

    petition.refresh_from_db()
    assert petition.signature_count == count, "counted at the tally, not at confirmation"
    tally_run()
    petition.refresh_from_db()
    assert petition.signature_count == count + 1


def test_confirmation_after_the_grace_period_is_refused_as_closed(closing_council_petition, client):
    petition, token = closing_council_petition
    grace = petition.policy.late_confirmation_hours
    petition = close_hours_ago(petition, grace + 1)
    count = petition.signature_count

    with pytest.raises(TokenRefused) as refused:
        signature_confirm(petition=petition, token=token)
    assert refused.value.reason == "closed"

    page = client.post(reverse("signature-confirm", args=[petition.pk, token]))
    assert page.status_code == 410
    assert b"This petition has closed" in page.content

    signature = Signature.objects.get(petition=petition, email="late@example.org")
    assert signature.state == Signature.State.PENDING
    tally_run()
    petition.refresh_from_db()
    assert petition.signature_count == count


# Eligibility


def test_uk_petitions_require_the_eligibility_confirmation(uk_government, mailbox):
    petition = open_petition(uk_government)
    outbox_before = OutboxMessage.objects.count()

    with pytest.raises(ValidationError) as invalid:
        sign(petition, "brit@example.org", country="GB", postal_code="SW1A 1AA", eligible=False)

    assert set(invalid.value.error_dict) == {"eligible"}
    assert "British citizen or UK resident" in invalid.value.messages[0]
    assert not Signature.objects.filter(petition=petition, email="brit@example.org").exists()
    assert OutboxMessage.objects.count() == outbox_before

    sign(petition, "brit@example.org", country="GB", postal_code="SW1A 1AA", eligible=True)
    assert Signature.objects.filter(petition=petition, email="brit@example.org").exists()


def test_uk_sign_page_without_the_checkbox_explains_the_rule(uk_government, client):
    petition = open_petition(uk_government)
    answer = client.post(
        reverse("petition-sign", args=[petition.pk]),
        sign_data("brit@example.org", country="GB", postal_code="SW1A 1AA"),
    )
    assert answer.status_code == 400
    assert b"British citizen or UK resident" in answer.content
    assert not Signature.objects.filter(petition=petition, email="brit@example.org").exists()

    answer = client.post(
        reverse("petition-sign", args=[petition.pk]),
        sign_data("brit@example.org", country="GB", postal_code="SW1A 1AA", eligible="on"),
    )
    assert answer.status_code == 302
    assert Signature.objects.filter(petition=petition, email="brit@example.org").exists()


def test_president_petitions_need_no_eligibility_confirmation(petition, client):
    sign(petition, "anyone@example.org", eligible=False)
    answer = client.post(reverse("petition-sign", args=[petition.pk]), sign_data("b@example.org"))
    assert answer.status_code == 302
    assert {s.email for s in signatures_of(petition)} == {"anyone@example.org", "b@example.org"}


def test_creator_confirmation_publishes_the_petition(president, mailbox):
    petition = draft_petition(president, creator_email="robin@example.org")
    token = emailed_token(mailbox, "robin@example.org")
    signature_confirm(petition=petition, token=token)
    petition.refresh_from_db()
    assert petition.state == State.GATHERING
    assert petition.opened_at is not None
    creator = Signature.objects.get(petition=petition, is_creator=True)
    assert creator.state == Signature.State.VERIFIED
    # A second confirmation of the creator's signature changes nothing.
    with pytest.raises(TokenRefused):
        confirm(creator)
