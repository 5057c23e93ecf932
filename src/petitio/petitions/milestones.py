"""Firing milestones when a petition's count moves. Called by the tally writer.

A milestone fires once per addressee: the ``MilestoneReached`` row is inserted
inside a savepoint and the unique constraint refuses a second one, whoever
tries. Its effects (state change, deadline, email) happen only for the insert
that won.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from django.db import IntegrityError, transaction

from petitio.authorities.models import Milestone
from petitio.moderation.services import audit_record
from petitio.petitions.models import Addressee, MilestoneReached, Petition, State
from petitio.petitions.services import (
    TransitionRefused,
    authority_notify,
    petition_transition,
)


def milestone_window_open(milestone: Milestone, petition: Petition, now: datetime) -> bool:
    if petition.opened_at is None:
        return False
    if milestone.window_days is None:
        return True
    return now <= petition.opened_at + timedelta(days=milestone.window_days)


def milestones_fire(*, petition: Petition, now: datetime) -> list[MilestoneReached]:
    """Record and act on every milestone the petition's count has reached."""
    fired: list[MilestoneReached] = []
    _supporters_check(petition)
    addressees = petition.addressees.select_related("authority__policy")
    for addressee in addressees:
        reached_ids = set(addressee.milestones.values_list("milestone_id", flat=True))
        for milestone in addressee.authority.policy.milestones.all():
            threshold = milestone.threshold_for(addressee.authority)
            if milestone.pk in reached_ids or threshold > petition.signature_count:
                continue
            if not milestone_window_open(milestone, petition, now):
                continue
            try:
                with transaction.atomic():
                    reached = MilestoneReached.objects.create(
                        addressee=addressee,
                        milestone=milestone,
                        reached_at=now,
                        signature_count=petition.signature_count,
                    )
            except IntegrityError:
                continue  # another writer fired it first
            _milestone_effects(petition, addressee, milestone, threshold, now)
            fired.append(reached)
    return fired


def _supporters_check(petition: Petition) -> None:
    """Under moderation: enough supporters (besides the creator) send it to the queue."""
    policy = petition.policy
    if (
        policy.requires_moderation
        and petition.state == State.GATHERING
        and petition.signature_count >= policy.supporters_needed + 1
    ):
        try:
            petition_transition(
                petition=petition,
                to_state=State.PENDING,
                allowed_from=[State.GATHERING],
                action="queued_for_moderation",
                actor_label="tally",
                reason=f"{policy.supporters_needed} supporters signed",
            )
        except TransitionRefused:
            pass


def _milestone_effects(
    petition: Petition, addressee: Addressee, milestone: Milestone, threshold: int, now: datetime
) -> None:
    audit_record(
        action=f"milestone_{milestone.kind}",
        petition=petition,
        actor_label="tally",
        reason=f"{threshold:,} signatures reached ({addressee.authority.name})",
    )
    if milestone.kind == Milestone.Kind.LISTING:
        _move(petition, State.OPEN, [State.GATHERING], "listed", listed_at=now)
    elif milestone.kind == Milestone.Kind.RESPONSE:
        assert milestone.response_days is not None
        Addressee.objects.filter(pk=addressee.pk, response_due_at__isnull=True).update(
            response_due_at=now + timedelta(days=milestone.response_days)
        )
        _move(
            petition,
            State.AWAITING_RESPONSE,
            # RESPONDED too: another addressee may have answered already.
            [State.GATHERING, State.OPEN, State.CLOSED, State.RESPONDED],
            "response_owed",
            listed_at=petition.listed_at or now,
        )
    authority_notify(
        addressee=addressee,
        key=f"milestone:{addressee.pk}:{milestone.pk}",
        event=f"milestone_{milestone.kind}",
        signatures=threshold,
    )


def _move(
    petition: Petition, to_state: State, allowed_from: list[State], action: str, **fields
) -> None:
    try:
        petition_transition(
            petition=petition,
            to_state=to_state,
            allowed_from=allowed_from,
            action=action,
            actor_label="tally",
            **fields,
        )
    except TransitionRefused:
        pass
