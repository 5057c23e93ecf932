"""Every state change of a petition, through the service functions, with its audit event.

Each transition must leave an AuditEvent saying who did it (a user or a named
actor such as "creator", "tally" or "closing job"), when, and why (where a
reason applies). A refused transition changes nothing and records nothing.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from petitio.moderation.models import AuditEvent
from petitio.petitions.models import Petition, RejectionReason, State
from petitio.petitions.services import (
    TransitionRefused,
    petition_approve,
    petition_publish,
    petition_reject,
    petition_remove,
    petitions_close_due,
)
from petitio.responses.services import response_publish
from petitio.signatures.models import Signature
from petitio.signatures.services import (
    SigningRefused,
    TokenRefused,
    signature_confirm,
    signature_token_issue,
    signing_refusal,
)
from petitio.signatures.tally import tally_run
from tests.factories import (
    add_verified,
    confirm,
    draft_petition,
    moderator,
    official_of,
    open_petition,
    published_petition,
    sign,
)

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def fast_password_hashing(settings):
    """Staff users are made per test; nobody logs in with a password here."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


HIDDEN_REASONS = [
    RejectionReason.CONFIDENTIAL,
    RejectionReason.LIBELLOUS,
    RejectionReason.OFFENSIVE,
]
PUBLIC_REASONS = [
    RejectionReason.NO_ACTION,
    RejectionReason.NOT_RESPONSIBLE,
    RejectionReason.ALREADY_HAPPENING,
]


def events(petition: Petition, action: str | None = None) -> list[AuditEvent]:
    found = AuditEvent.objects.filter(petition=petition).order_by("created_at", "id")
    if action:
        found = found.filter(action=action)
    return list(found)


def the_event(petition: Petition, action: str) -> AuditEvent:
    (event,) = events(petition, action)
    return event


def pending_uk_petition(uk_government) -> Petition:
    petition = published_petition(uk_government)
    add_verified(petition, uk_government.policy.supporters_needed)
    assert petition.state == State.PENDING
    return petition


# --- Creation and publication


def test_a_new_petition_is_a_draft_with_its_creator_signature_pending(president):
    before = timezone.now()
    petition = draft_petition(president, creator_email="robin@example.org")
    assert petition.state == State.DRAFT
    assert petition.published_at is None and petition.opened_at is None
    creator = Signature.objects.get(petition=petition)
    assert creator.is_creator and creator.state == Signature.State.PENDING
    event = the_event(petition, "created")
    assert (event.actor_label, event.to_state) == ("creator", State.DRAFT)
    assert event.created_at >= before


def test_creator_confirmation_opens_a_we_the_people_petition_at_once_for_30_days(president):
    at = datetime(2015, 12, 20, 15, 0, tzinfo=UTC)
    petition = draft_petition(president, now=at)
    confirm(Signature.objects.get(petition=petition, is_creator=True), now=at)
    petition.refresh_from_db()
    assert petition.state == State.GATHERING
    assert petition.published_at == at
    assert petition.opened_at == at
    assert petition.closes_at == datetime(2016, 1, 19, 15, 0, tzinfo=UTC)
    assert petition.listed_at is None, "listing waits for 150 signatures"
    event = the_event(petition, "published")
    assert (event.from_state, event.to_state) == (State.DRAFT, State.GATHERING)
    assert event.actor is None and event.actor_label == "creator"


def test_creator_confirmation_under_uk_rules_gathers_supporters_without_opening(uk_government):
    petition = published_petition(uk_government)
    assert petition.state == State.GATHERING
    assert petition.published_at is not None
    assert petition.opened_at is None and petition.closes_at is None
    assert petition.listed_at is None
    assert the_event(petition, "published").to_state == State.GATHERING


def test_publication_tells_the_authority_once(council):
    from petitio.notifications.models import OutboxMessage

    petition = published_petition(council)
    to_clerk = OutboxMessage.objects.filter(to_email="clerk@council.example.org", petition=petition)
    assert [m.payload["event"] for m in to_clerk] == ["published"]


def test_a_published_petition_cannot_be_published_again(president):
    petition = published_petition(president)
    with pytest.raises(TransitionRefused):
        petition_publish(petition=petition)
    assert len(events(petition, "published")) == 1


# --- UK: supporters, moderation queue, approval


def test_uk_petition_with_four_supporters_keeps_gathering(uk_government):
    petition = published_petition(uk_government)
    add_verified(petition, 4)
    assert petition.state == State.GATHERING
    assert not events(petition, "queued_for_moderation")


def test_uk_petition_with_five_supporters_goes_to_the_moderation_queue(uk_government):
    petition = published_petition(uk_government)
    add_verified(petition, 5)
    assert petition.state == State.PENDING
    assert petition.signature_count == 6, "the creator and five supporters"
    event = the_event(petition, "queued_for_moderation")
    assert (event.from_state, event.to_state) == (State.GATHERING, State.PENDING)
    assert event.actor_label == "tally"
    assert event.reason == "5 supporters signed"


def test_approval_opens_and_lists_a_uk_petition_for_six_months(uk_government):
    petition = pending_uk_petition(uk_government)
    judge = moderator()
    at = datetime(2025, 8, 31, 9, 30, tzinfo=UTC)
    petition_approve(petition=petition, by=judge, now=at)
    petition.refresh_from_db()
    assert petition.state == State.OPEN
    assert petition.opened_at == at and petition.listed_at == at and petition.moderated_at == at
    # six calendar months, clamped to the end of a shorter month
    assert petition.closes_at == datetime(2026, 2, 28, 9, 30, tzinfo=UTC)
    event = the_event(petition, "approved")
    assert event.actor == judge
    assert (event.from_state, event.to_state) == (State.PENDING, State.OPEN)


def test_approved_uk_petition_takes_signatures(uk_government):
    petition = pending_uk_petition(uk_government)
    petition_approve(petition=petition, by=moderator())
    petition.refresh_from_db()
    assert signing_refusal(petition) is None
    sign(petition, "new.supporter@example.org", postal_code="SW1A 1AA", country="GB")
    assert Signature.objects.filter(petition=petition, email="new.supporter@example.org").exists()


@pytest.mark.parametrize(
    "reach", ["gathering", "open"], ids=["before-enough-supporters", "already-open"]
)
def test_approving_a_petition_that_is_not_awaiting_moderation_is_refused(uk_government, reach):
    petition = published_petition(uk_government)
    if reach == "open":
        add_verified(petition, 5)
        petition_approve(petition=petition, by=moderator())
    state_before = Petition.objects.get(pk=petition.pk).state
    count_before = AuditEvent.objects.filter(petition=petition).count()
    with pytest.raises(TransitionRefused, match="cannot be approved"):
        petition_approve(petition=petition, by=moderator())
    assert Petition.objects.get(pk=petition.pk).state == state_before
    assert AuditEvent.objects.filter(petition=petition).count() == count_before


def test_approving_a_we_the_people_petition_is_refused_as_it_needs_no_moderation(president):
    petition = published_petition(president)
    with pytest.raises(TransitionRefused):
        petition_approve(petition=petition, by=moderator())
    assert Petition.objects.get(pk=petition.pk).state == State.GATHERING


# --- Listing and response milestones


def test_reaching_the_listing_threshold_lists_the_petition(council):
    petition = published_petition(council)
    add_verified(petition, 2)
    assert petition.state == State.OPEN
    assert petition.listed_at is not None
    event = the_event(petition, "listed")
    assert (event.from_state, event.to_state, event.actor_label) == (
        State.GATHERING,
        State.OPEN,
        "tally",
    )
    assert the_event(petition, "milestone_listing").reason.startswith("3 signatures reached")


def test_reaching_the_response_threshold_owes_a_response_with_a_deadline(council):
    at = timezone.now() - timedelta(days=1)
    petition = published_petition(council, now=at)
    add_verified(petition, 4, now=at)
    assert petition.state == State.AWAITING_RESPONSE
    addressee = petition.addressees.get()
    assert addressee.response_due_at == at + timedelta(days=10)
    assert the_event(petition, "response_owed").to_state == State.AWAITING_RESPONSE


def test_publishing_the_response_moves_the_petition_to_responded(council):
    petition = open_petition(council)
    add_verified(petition, 4)
    official = official_of(council)
    response_publish(
        addressee=petition.addressees.get(), summary="Yes.", body="We agree.", by=official
    )
    petition.refresh_from_db()
    assert petition.state == State.RESPONDED
    event = the_event(petition, "responded")
    assert event.actor == official
    assert (event.from_state, event.to_state) == (State.AWAITING_RESPONSE, State.RESPONDED)
    assert the_event(petition, "response_published").reason == "Response from Small Town Council"


# --- Rejection


@pytest.mark.parametrize("reason", PUBLIC_REASONS)
def test_rejecting_with_a_public_reason_keeps_the_text_public(council, reason):
    petition = open_petition(council)
    judge = moderator()
    petition_reject(petition=petition, by=judge, reason=reason, details="See our standards.")
    petition.refresh_from_db()
    assert petition.state == State.REJECTED
    assert petition.shows_text
    assert petition.rejection_reason == reason
    assert petition.rejection_details == "See our standards."
    assert petition.duplicate_of is None
    event = the_event(petition, "rejected")
    assert event.actor == judge
    assert event.reason == f"{reason.label}. See our standards."
    assert (event.from_state, event.to_state) == (State.GATHERING, State.REJECTED)


@pytest.mark.parametrize("reason", HIDDEN_REASONS)
def test_rejecting_as_confidential_libellous_or_offensive_hides_the_text(council, reason):
    petition = open_petition(council)
    judge = moderator()
    petition_reject(petition=petition, by=judge, reason=reason)
    petition.refresh_from_db()
    assert petition.state == State.HIDDEN
    assert not petition.shows_text
    assert petition.rejection_reason == reason
    event = the_event(petition, "rejected")
    assert event.actor == judge and event.to_state == State.HIDDEN
    assert event.reason == f"{reason.label}."


def test_rejecting_as_a_duplicate_links_to_the_original(council):
    original = open_petition(council)
    copy = open_petition(council)
    petition_reject(
        petition=copy, by=moderator(), reason=RejectionReason.DUPLICATE, duplicate_of=original
    )
    copy.refresh_from_db()
    assert copy.state == State.REJECTED
    assert copy.duplicate_of == original
    assert the_event(copy, "rejected").reason.startswith("There is already a petition about this")


def test_rejecting_as_a_duplicate_without_naming_the_original_is_refused(council):
    petition = open_petition(council)
    with pytest.raises(ValidationError) as caught:
        petition_reject(petition=petition, by=moderator(), reason=RejectionReason.DUPLICATE)
    assert caught.value.message_dict["duplicate_of"] == ["Choose the petition this one duplicates."]
    assert Petition.objects.get(pk=petition.pk).state == State.GATHERING
    assert not events(petition, "rejected")


def test_a_petition_cannot_be_a_duplicate_of_itself_or_of_a_hidden_one(council):
    petition = open_petition(council)
    hidden = open_petition(council)
    petition_reject(petition=hidden, by=moderator(), reason=RejectionReason.OFFENSIVE)
    for original in (petition, Petition.objects.get(pk=hidden.pk)):
        with pytest.raises(ValidationError):
            petition_reject(
                petition=petition,
                by=moderator(),
                reason=RejectionReason.DUPLICATE,
                duplicate_of=original,
            )
    assert Petition.objects.get(pk=petition.pk).state == State.GATHERING


def test_an_unknown_rejection_reason_is_refused(council):
    petition = open_petition(council)
    with pytest.raises(ValueError):
        petition_reject(petition=petition, by=moderator(), reason="we_did_not_like_it")
    assert Petition.objects.get(pk=petition.pk).state == State.GATHERING


def test_a_pending_uk_petition_can_be_rejected_from_the_queue(uk_government):
    petition = pending_uk_petition(uk_government)
    petition_reject(petition=petition, by=moderator(), reason=RejectionReason.NOT_RESPONSIBLE)
    petition.refresh_from_db()
    assert petition.state == State.REJECTED
    assert the_event(petition, "rejected").from_state == State.PENDING


def test_a_hidden_petition_cannot_be_rejected_again_to_show_its_text(council):
    petition = open_petition(council)
    petition_reject(petition=petition, by=moderator(), reason=RejectionReason.LIBELLOUS)
    with pytest.raises(TransitionRefused):
        petition_reject(petition=petition, by=moderator(), reason=RejectionReason.NO_ACTION)
    assert Petition.objects.get(pk=petition.pk).state == State.HIDDEN


def test_a_rejected_petition_refuses_signatures(council):
    petition = open_petition(council)
    petition_reject(petition=petition, by=moderator(), reason=RejectionReason.NO_ACTION)
    petition.refresh_from_db()
    with pytest.raises(SigningRefused, match="rejected"):
        sign(petition, "late@example.org")
    assert not Signature.objects.filter(email="late@example.org").exists()


# --- Removal


def test_removing_records_the_reason_and_who_removed_it(council):
    petition = open_petition(council)
    add_verified(petition, 2)
    judge = moderator()
    petition_remove(petition=petition, by=judge, reason="Court order 2025/17.")
    petition.refresh_from_db()
    assert petition.state == State.REMOVED
    assert petition.removal_reason == "Court order 2025/17."
    assert petition.moderated_at is not None
    event = the_event(petition, "removed")
    assert event.actor == judge
    assert event.reason == "Court order 2025/17."
    assert (event.from_state, event.to_state) == (State.OPEN, State.REMOVED)


@pytest.mark.parametrize("reason", ["", "   ", "\n\t"])
def test_removing_without_a_reason_is_refused(council, reason):
    petition = open_petition(council)
    with pytest.raises(ValidationError) as caught:
        petition_remove(petition=petition, by=moderator(), reason=reason)
    assert caught.value.message_dict["reason"] == ["Record why the petition is removed."]
    assert Petition.objects.get(pk=petition.pk).state == State.GATHERING
    assert not events(petition, "removed")


def test_a_hidden_petition_can_still_be_removed(council):
    petition = open_petition(council)
    petition_reject(petition=petition, by=moderator(), reason=RejectionReason.CONFIDENTIAL)
    petition_remove(petition=petition, by=moderator(), reason="Personal data of a child.")
    assert Petition.objects.get(pk=petition.pk).state == State.REMOVED


def test_a_removed_petition_cannot_be_removed_rejected_or_approved(council):
    petition = open_petition(council)
    petition_remove(petition=petition, by=moderator(), reason="Spam.")
    with pytest.raises(TransitionRefused):
        petition_remove(petition=petition, by=moderator(), reason="Again.")
    with pytest.raises(TransitionRefused):
        petition_reject(petition=petition, by=moderator(), reason=RejectionReason.NO_ACTION)
    with pytest.raises(TransitionRefused):
        petition_approve(petition=petition, by=moderator())
    assert Petition.objects.get(pk=petition.pk).state == State.REMOVED
    assert len(events(petition, "removed")) == 1


def test_a_draft_cannot_be_removed(president):
    petition = draft_petition(president)
    with pytest.raises(TransitionRefused, match="draft"):
        petition_remove(petition=petition, by=moderator(), reason="Spam.")
    assert Petition.objects.get(pk=petition.pk).state == State.DRAFT


def test_a_removed_petition_refuses_signatures(council):
    petition = open_petition(council)
    petition_remove(petition=petition, by=moderator(), reason="Spam.")
    petition.refresh_from_db()
    with pytest.raises(SigningRefused, match="removed"):
        sign(petition, "late@example.org")


# --- Closing


def days_ago(days: float) -> datetime:
    return timezone.now() - timedelta(days=days)


def test_closing_job_closes_a_gathering_petition_past_its_window_and_keeps_its_count(president):
    petition = published_petition(president, now=days_ago(31))
    add_verified(petition, 41, now=days_ago(30.5))
    assert (petition.state, petition.signature_count) == (State.GATHERING, 42)
    assert petitions_close_due() == 1
    petition.refresh_from_db()
    assert petition.state == State.CLOSED
    assert petition.closed_at is not None
    assert petition.signature_count == 42
    event = the_event(petition, "closed")
    assert event.actor_label == "closing job"
    assert (event.from_state, event.to_state) == (State.GATHERING, State.CLOSED)


def test_closing_job_closes_an_open_listed_petition(council):
    petition = open_petition(council, now=days_ago(31))
    add_verified(petition, 2, now=days_ago(31))
    assert petition.state == State.OPEN
    petitions_close_due()
    petition.refresh_from_db()
    assert petition.state == State.CLOSED
    assert petition.signature_count == 3
    assert petition.listed_at is not None, "a closed petition stays findable"


def test_closing_job_leaves_petitions_whose_window_has_not_ended(council):
    petition = open_petition(council, now=days_ago(29))
    assert petitions_close_due() == 0
    petition.refresh_from_db()
    assert petition.state == State.GATHERING and petition.closed_at is None
    assert signing_refusal(petition) is None


def test_closing_twice_changes_nothing_the_second_time(council):
    petition = open_petition(council, now=days_ago(31))
    assert petitions_close_due() == 1
    closed_at = Petition.objects.get(pk=petition.pk).closed_at
    assert petitions_close_due() == 0
    petition.refresh_from_db()
    assert petition.closed_at == closed_at
    assert len(events(petition, "closed")) == 1


def test_closing_job_keeps_awaiting_response_but_stops_signatures(council):
    petition = open_petition(council, now=days_ago(31))
    add_verified(petition, 4, now=days_ago(31))
    assert petition.state == State.AWAITING_RESPONSE
    petitions_close_due()
    petition.refresh_from_db()
    assert petition.state == State.AWAITING_RESPONSE, "the response is still owed"
    assert petition.closed_at is not None
    assert not petition.is_signable()
    assert signing_refusal(petition) == "This petition is closed: it no longer accepts signatures."
    with pytest.raises(SigningRefused):
        sign(petition, "too.late@example.org")


def test_closing_job_keeps_responded_but_stops_signatures(council):
    petition = open_petition(council, now=days_ago(31))
    add_verified(petition, 4, now=days_ago(31))
    response_publish(
        addressee=petition.addressees.get(),
        summary="Done.",
        body="We did it.",
        by=official_of(council),
    )
    petitions_close_due()
    petition.refresh_from_db()
    assert petition.state == State.RESPONDED
    assert petition.signature_count == 5
    with pytest.raises(SigningRefused, match="closed"):
        sign(petition, "too.late@example.org")


def test_a_closed_petition_refuses_new_signatures_with_a_clear_message(president):
    petition = published_petition(president, now=days_ago(31))
    petitions_close_due()
    petition.refresh_from_db()
    with pytest.raises(SigningRefused) as caught:
        sign(petition, "late@example.org")
    assert str(caught.value) == "This petition is closed: it no longer accepts signatures."
    assert not Signature.objects.filter(email="late@example.org").exists()


def test_a_signature_made_before_closing_can_be_confirmed_within_24_hours_and_counts(president):
    petition = published_petition(president)
    sign(petition, "just.in.time@example.org")
    signature = Signature.objects.get(email="just.in.time@example.org")
    token = signature_token_issue(signature=signature)
    # The window ended two hours ago (the petition opened 30 days and 2 hours ago).
    Petition.objects.filter(pk=petition.pk).update(closes_at=timezone.now() - timedelta(hours=2))
    petitions_close_due()
    petition.refresh_from_db()
    assert petition.state == State.CLOSED
    signature_confirm(petition=petition, token=token)
    tally_run()
    petition.refresh_from_db()
    assert petition.signature_count == 2


def test_a_signature_made_before_closing_cannot_be_confirmed_after_24_hours(president):
    petition = published_petition(president)
    tally_run()
    sign(petition, "too.late@example.org")
    signature = Signature.objects.get(email="too.late@example.org")
    token = signature_token_issue(signature=signature)
    Petition.objects.filter(pk=petition.pk).update(closes_at=timezone.now() - timedelta(hours=25))
    petitions_close_due()
    petition.refresh_from_db()
    with pytest.raises(TokenRefused) as caught:
        signature_confirm(petition=petition, token=token)
    assert caught.value.reason == "closed"
    tally_run()
    petition.refresh_from_db()
    assert petition.signature_count == 1
    assert Signature.objects.get(pk=signature.pk).state == Signature.State.PENDING


# --- The audit trail as a whole


def test_the_whole_uk_lifecycle_leaves_one_audit_event_per_step(uk_government):
    petition = pending_uk_petition(uk_government)
    petition_approve(petition=petition, by=moderator())
    petition_remove(petition=petition, by=moderator(), reason="Campaign finance breach.")
    steps = [(e.action, e.from_state, e.to_state) for e in events(petition) if e.to_state]
    assert steps == [
        ("created", "", State.DRAFT),
        ("published", State.DRAFT, State.GATHERING),
        ("queued_for_moderation", State.GATHERING, State.PENDING),
        ("approved", State.PENDING, State.OPEN),
        ("removed", State.OPEN, State.REMOVED),
    ]
    for event in events(petition):
        assert event.actor is not None or event.actor_label, event.action
        assert event.created_at is not None
