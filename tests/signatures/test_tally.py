"""The tally writer: the only thing that moves a petition's count and fires its
milestones, each exactly once; and the reconciliation that repairs the count."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from petitio.authorities.models import Milestone
from petitio.notifications.models import OutboxMessage
from petitio.petitions.milestones import milestones_fire
from petitio.petitions.models import Addressee, MilestoneReached, Petition, State
from petitio.signatures.models import Signature
from petitio.signatures.tally import tally_reconcile, tally_run
from tests.factories import (
    add_verified,
    confirm,
    deliver_all,
    open_petition,
    published_petition,
    sign,
)

pytestmark = pytest.mark.django_db


def count_of(petition: Petition) -> int:
    return Petition.objects.get(pk=petition.pk).signature_count


def signed(petition: Petition, email: str, **overrides) -> Signature:
    sign(petition, email, **overrides)
    return Signature.objects.get(petition=petition, email=email)


def verified_signers(petition: Petition, count: int, prefix: str = "s") -> list[Signature]:
    """People who sign and confirm through the services (not yet counted)."""
    return [confirm(signed(petition, f"{prefix}{i}@example.org")) for i in range(count)]


def reached(petition: Petition) -> list[MilestoneReached]:
    return list(
        MilestoneReached.objects.filter(addressee__petition=petition).select_related("milestone")
    )


def reached_kinds(petition: Petition) -> list[str]:
    return sorted(r.milestone.kind for r in reached(petition))


# Counting


def test_tally_counts_only_verified_signatures(president):
    petition = open_petition(president)  # the creator's verified signature
    verified_signers(petition, 3)
    signed(petition, "pending@example.org")
    invalidated = confirm(signed(petition, "fraud@example.org"))
    Signature.objects.filter(pk=invalidated.pk).update(state=Signature.State.INVALIDATED)

    report = tally_run()

    assert report.counted == 4
    assert count_of(petition) == 4


def test_running_the_tally_again_counts_nobody_twice(president):
    petition = open_petition(president)
    verified_signers(petition, 2)
    tally_run()
    assert count_of(petition) == 3

    again = tally_run()

    assert again.counted == 0
    assert count_of(petition) == 3
    assert not Signature.objects.filter(
        petition=petition, state=Signature.State.VERIFIED, tallied=False
    ).exists()


def test_count_moves_only_at_the_tally_not_at_signing_or_confirmation(president, client):
    petition = open_petition(president)
    tally_run()
    before = count_of(petition)

    signature = signed(petition, "ann@example.org")
    assert count_of(petition) == before
    confirm(signature)
    assert count_of(petition) == before
    shown = client.get(f"/petitions/{petition.pk}/count.json").json()
    assert shown["signature_count"] == before

    tally_run()

    assert count_of(petition) == before + 1
    shown = client.get(f"/petitions/{petition.pk}/count.json").json()
    assert shown["signature_count"] == before + 1


def test_tally_counts_each_petition_separately(president):
    first = open_petition(president)
    second = open_petition(president)
    verified_signers(first, 2, prefix="a")
    verified_signers(second, 1, prefix="b")

    report = tally_run()

    assert report.petitions == {first.pk: 3, second.pk: 2}
    assert (count_of(first), count_of(second)) == (3, 2)


# Milestones (the council: listed at 3, a response owed at 5, due 10 days later)


def test_listing_milestone_fires_once_and_lists_the_petition(council):
    petition = open_petition(council)
    assert petition.state == State.GATHERING
    verified_signers(petition, 1)
    tally_run()
    assert reached(petition) == []
    assert Petition.objects.get(pk=petition.pk).listed_at is None

    verified_signers(petition, 1, prefix="late")
    at = timezone.now()
    report = tally_run(now=at)

    assert report.milestones == 1
    (listing,) = reached(petition)
    assert listing.milestone.kind == Milestone.Kind.LISTING
    assert listing.signature_count == 3
    assert listing.reached_at == at
    petition.refresh_from_db()
    assert petition.state == State.OPEN
    assert petition.listed_at == at


def test_response_milestone_fires_once_and_sets_the_deadline(council):
    petition = open_petition(council)
    verified_signers(petition, 2)
    tally_run()
    verified_signers(petition, 2, prefix="more")
    at = timezone.now()

    tally_run(now=at)

    assert reached_kinds(petition) == ["listing", "response"]
    petition.refresh_from_db()
    assert petition.state == State.AWAITING_RESPONSE
    assert petition.signature_count == 5
    addressee = Addressee.objects.get(petition=petition)
    assert addressee.response_due_at == at + timedelta(days=10)


def test_milestones_fire_once_however_often_the_count_moves(council):
    petition = open_petition(council)
    for batch in range(4):
        verified_signers(petition, 2, prefix=f"b{batch}-")
        tally_run()
    due = Addressee.objects.get(petition=petition).response_due_at
    fired_again = milestones_fire(
        petition=Petition.objects.get(pk=petition.pk), now=timezone.now() + timedelta(days=1)
    )

    assert fired_again == []
    assert count_of(petition) == 9
    assert reached_kinds(petition) == ["listing", "response"]
    assert Addressee.objects.get(petition=petition).response_due_at == due


def test_both_milestones_reached_in_one_tally_both_fire(council):
    petition = open_petition(council)
    verified_signers(petition, 6)

    report = tally_run()

    assert report.milestones == 2
    assert reached_kinds(petition) == ["listing", "response"]
    petition.refresh_from_db()
    assert petition.state == State.AWAITING_RESPONSE
    assert petition.listed_at is not None


def test_milestone_reached_after_its_window_does_not_fire(council):
    opened = timezone.now() - timedelta(days=40)
    petition = open_petition(council, now=opened)
    add_verified(petition, 2, now=opened + timedelta(days=1))  # 3 in time: listed
    assert reached_kinds(petition) == ["listing"]

    add_verified(petition, 5, now=opened + timedelta(days=31))  # 8, a day too late

    petition.refresh_from_db()
    assert petition.signature_count == 8
    assert reached_kinds(petition) == ["listing"]
    assert petition.state == State.OPEN
    assert Addressee.objects.get(petition=petition).response_due_at is None


def test_milestone_reached_on_the_last_day_of_its_window_fires(council):
    opened = timezone.now() - timedelta(days=40)
    petition = open_petition(council, now=opened)

    add_verified(petition, 4, now=opened + timedelta(days=30))

    assert reached_kinds(petition) == ["listing", "response"]


def test_uk_creator_and_five_supporters_send_the_petition_to_moderation(uk_government):
    petition = published_petition(uk_government)
    assert petition.state == State.GATHERING
    supporters = [
        signed(petition, f"uk{i}@example.org", country="GB", postal_code="SW1A 1AA")
        for i in range(5)
    ]
    for supporter in supporters[:4]:
        confirm(supporter)
    tally_run()
    petition.refresh_from_db()
    assert petition.signature_count == 5
    assert petition.state == State.GATHERING, "the creator and 4 supporters are not enough"

    confirm(supporters[4])
    tally_run()

    petition.refresh_from_db()
    assert petition.signature_count == 6
    assert petition.state == State.PENDING
    assert reached(petition) == [], "moderation is not a policy milestone"


# Reconciliation


def test_reconciliation_repairs_a_corrupted_count_and_reports_it(president):
    petition = open_petition(president)
    verified_signers(petition, 3)
    tally_run()
    Petition.objects.filter(pk=petition.pk).update(signature_count=1000)

    report = tally_reconcile()

    assert report.repaired == {petition.pk: (1000, 4)}
    assert count_of(petition) == 4
    assert tally_reconcile().repaired == {}


def test_reconciliation_counts_waiting_signatures_before_comparing(president):
    petition = open_petition(president)
    verified_signers(petition, 2)  # verified, not yet tallied

    report = tally_reconcile()

    assert report.repaired == {}, "uncounted signatures are counted, not reported as errors"
    assert count_of(petition) == 3


def test_reconciliation_removes_a_signature_invalidated_after_it_was_counted(president):
    petition = open_petition(president)
    signatures = verified_signers(petition, 3)
    tally_run()
    Signature.objects.filter(pk=signatures[0].pk).update(state=Signature.State.INVALIDATED)

    report = tally_reconcile()

    assert report.repaired == {petition.pk: (4, 3)}
    assert count_of(petition) == 3


# The authority's email


def test_authority_gets_exactly_one_email_per_milestone(council, mailbox):
    petition = open_petition(council)
    for batch in range(4):
        verified_signers(petition, 2, prefix=f"b{batch}-")
        tally_run()
        tally_run()
    milestones_fire(petition=Petition.objects.get(pk=petition.pk), now=timezone.now())
    deliver_all()
    deliver_all()

    subjects = [message["Subject"] for message in mailbox.to("clerk@")]
    assert len([s for s in subjects if "publicly listed" in s]) == 1
    assert len([s for s in subjects if "now requires your response" in s]) == 1
    assert len([s for s in subjects if "was published" in s]) == 1
    assert len(subjects) == 3
    assert OutboxMessage.objects.filter(to_email="clerk@council.example.org").count() == 3
