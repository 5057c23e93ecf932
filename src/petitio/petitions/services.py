"""Every change of a petition's state: one transaction each, with its audit event.

Transitions are conditional updates (``UPDATE ... WHERE state IN (...)``), so two
requests racing for the same petition cannot both move it.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.contrib.auth.models import AnonymousUser, User
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from petitio.authorities.jurisdiction import (
    REQUEST_ACTIONS,
    JurisdictionCheck,
    clemency_request_detect,
    jurisdiction_check,
)
from petitio.authorities.models import Authority
from petitio.authorities.schema import court_code_valid
from petitio.moderation.services import audit_record
from petitio.notifications.services import outbox_enqueue
from petitio.petitions.dates import closing_time
from petitio.petitions.models import (
    HIDING_REASONS,
    SIGNABLE_STATES,
    Addressee,
    Petition,
    RejectionReason,
    State,
)
from petitio.petitions.validators import no_formula_prefix, text_clean

Actor = User | AnonymousUser | None


class TransitionRefused(Exception):
    """The petition is not in a state that allows this change."""


class JurisdictionRefused(Exception):
    """No addressed authority can grant the petition's structured request."""

    def __init__(self, check: JurisdictionCheck) -> None:
        super().__init__(check.summary())
        self.check = check


@dataclass(frozen=True)
class PetitionRequest:
    """A structured request the jurisdiction check can read."""

    action: str  # pardon | commute
    persons: str
    court: str  # us-district | dc-superior | court-martial | state:XX


def petition_transition(
    *,
    petition: Petition,
    to_state: State,
    allowed_from: Iterable[str],
    action: str,
    actor: Actor = None,
    actor_label: str = "",
    reason: str = "",
    **fields: Any,
) -> Petition:
    """Move a petition to ``to_state`` if it is in one of ``allowed_from``; audit it."""
    allowed = tuple(allowed_from)
    with transaction.atomic():
        current = (
            Petition.objects.select_for_update()
            .filter(pk=petition.pk)
            .values_list("state", flat=True)
        ).first()
        if current not in allowed:
            raise TransitionRefused(
                f"A petition that is {State(current).label.lower() if current else 'missing'} "
                f"cannot be {action.replace('_', ' ')}."
            )
        Petition.objects.filter(pk=petition.pk, state=current).update(state=to_state, **fields)
        audit_record(
            action=action,
            petition=petition,
            actor=actor,
            actor_label=actor_label,
            from_state=current,
            to_state=to_state,
            reason=reason,
        )
    petition.refresh_from_db()
    return petition


def petition_validate_text(*, action: str, background: str, details: str) -> dict[str, str]:
    """Clean the petition's text, raising ValidationError keyed by field."""
    errors: dict[str, list[ValidationError]] = {}
    cleaned: dict[str, str] = {}
    limits = {"action": 80, "background": 300, "details": 800}
    for field, value, multiline in (
        ("action", action, False),
        ("background", background, True),
        ("details", details, True),
    ):
        try:
            text = text_clean(value, multiline=multiline)
            if field != "details" and not text:
                raise ValidationError("This is required.", code="required")
            if len(text) > limits[field]:
                raise ValidationError(
                    f"Use at most {limits[field]} characters (you used {len(text)}).",
                    code="max_length",
                )
            if field == "action":
                no_formula_prefix(text)
            cleaned[field] = text
        except ValidationError as exc:
            errors[field] = [exc]
    if errors:
        raise ValidationError(errors)
    return cleaned


def petition_request_validate(
    *, request: PetitionRequest | None, declined: bool, text: dict[str, str]
) -> PetitionRequest | None:
    """Clean a structured request, or insist on one when the text looks like clemency."""
    if request is None or not (request.action or request.persons or request.court):
        if not declined and clemency_request_detect(" ".join(text.values())):
            raise ValidationError(
                {
                    "request_action": ValidationError(
                        "This petition seems to ask for a pardon or clemency. Say who was "
                        "convicted and by which court, so we can check that the authority you "
                        "address can grant it; or tick the box to publish it unchecked.",
                        code="clemency_detected",
                    )
                }
            )
        return None
    errors = {}
    if request.action not in REQUEST_ACTIONS:
        errors["request_action"] = "Choose what you ask for: a pardon or a commutation."
    persons = text_clean(request.persons)
    if not persons:
        errors["request_persons"] = "Name the person or people convicted."
    elif len(persons) > 200:
        errors["request_persons"] = "Use at most 200 characters."
    else:
        no_formula_prefix(persons)
    if not court_code_valid(request.court):
        errors["request_court"] = "Choose the court that convicted them."
    if errors:
        raise ValidationError(errors)
    return PetitionRequest(action=request.action, persons=persons, court=request.court)


def petition_jurisdiction_check(
    *, request: PetitionRequest, authorities: Sequence[Authority]
) -> JurisdictionCheck:
    """Refuse (JurisdictionRefused) a request none of the addressees can grant."""
    check = jurisdiction_check(action=request.action, court=request.court, authorities=authorities)
    if not check.passed:
        raise JurisdictionRefused(check)
    return check


def petition_preview_check(
    *,
    authorities: Sequence[Authority],
    request: PetitionRequest | None,
    request_declined: bool,
    text: str,
) -> None:
    """The checks ``petition_create`` makes on the request, without creating anything."""
    cleaned = petition_request_validate(
        request=request, declined=request_declined, text={"text": text}
    )
    if cleaned is not None:
        petition_jurisdiction_check(request=cleaned, authorities=authorities)


def petition_create(
    *,
    action: str,
    background: str,
    details: str = "",
    authority: Authority,
    also_to: Sequence[Authority] = (),
    request: PetitionRequest | None = None,
    request_declined: bool = False,
    creator_name: str,
    creator_email: str,
    postal_code: str,
    country: str,
    region: str = "",
    eligible: bool = True,
    request_meta: dict[str, Any] | None = None,
    now: datetime | None = None,
) -> Petition:
    """Create a draft petition with its creator's (pending) signature.

    ``authority`` is the first addressee, whose policy sets the lifecycle
    (moderation, duration); ``also_to`` adds addressees, each with its own
    milestones and response. A structured request no addressee can grant is
    refused with JurisdictionRefused, which names who can. The petition is
    published when the creator confirms the email this queues.
    """
    from petitio.signatures.services import signature_insert, signer_validate

    text = petition_validate_text(action=action, background=background, details=details)
    addressees = [authority, *(a for a in dict.fromkeys(also_to) if a != authority)]
    request = petition_request_validate(request=request, declined=request_declined, text=text)
    if request is not None:
        petition_jurisdiction_check(request=request, authorities=addressees)
    signer = signer_validate(
        name=creator_name,
        email=creator_email,
        postal_code=postal_code,
        country=country,
        region=region,
        eligible=eligible,
        policy=authority.policy,
    )
    with transaction.atomic():
        petition = Petition.objects.create(
            **text,
            creator_name=signer.name,
            policy=authority.policy,
            state=State.DRAFT,
            created_at=now or timezone.now(),
            request_action=request.action if request else "",
            request_persons=request.persons if request else "",
            request_court=request.court if request else "",
            request_unchecked=request is None
            and request_declined
            and clemency_request_detect(" ".join(text.values())),
        )
        Addressee.objects.bulk_create(
            [Addressee(petition=petition, authority=a) for a in addressees]
        )
        signature_insert(
            petition=petition, signer=signer, is_creator=True, request_meta=request_meta
        )
        audit_record(
            action="created", petition=petition, actor_label="creator", to_state=State.DRAFT
        )
    return petition


def petition_publish(*, petition: Petition, now: datetime | None = None) -> Petition:
    """The creator confirmed their email: the petition starts gathering signatures.

    Under a policy without moderation it opens now (its window starts); under
    moderation it gathers supporters first and opens when a moderator approves.
    """
    now = now or timezone.now()
    if petition.request_action:
        petition_jurisdiction_check(
            request=PetitionRequest(
                petition.request_action, petition.request_persons, petition.request_court
            ),
            authorities=list(petition.authorities.all()),
        )
    fields: dict[str, Any] = {"published_at": now}
    if not petition.policy.requires_moderation:
        fields |= {"opened_at": now, "closes_at": closing_time(petition.policy, now)}
    with transaction.atomic():
        petition_transition(
            petition=petition,
            to_state=State.GATHERING,
            allowed_from=[State.DRAFT],
            action="published",
            actor_label="creator",
            **fields,
        )
        for addressee in petition.addressees.select_related("authority"):
            authority_notify(
                addressee=addressee, key=f"published:{addressee.pk}", event="published"
            )
    return petition


def authority_notify(*, addressee: Addressee, key: str, event: str, **payload: Any) -> None:
    """Tell an authority's contact address about its petition (once per key)."""
    if not addressee.authority.contact_email:
        return
    outbox_enqueue(
        key=f"authority:{key}",
        kind="authority_event",
        to_email=addressee.authority.contact_email,
        petition=addressee.petition,
        payload={"addressee_id": addressee.pk, "event": event, **payload},
    )


def petition_approve(*, petition: Petition, by: Actor, now: datetime | None = None) -> Petition:
    """A moderator opens a petition that gathered its supporters: it is listed now."""
    now = now or timezone.now()
    return petition_transition(
        petition=petition,
        to_state=State.OPEN,
        allowed_from=[State.PENDING],
        action="approved",
        actor=by,
        opened_at=now,
        listed_at=now,
        moderated_at=now,
        closes_at=closing_time(petition.policy, now),
    )


def petition_reject(
    *,
    petition: Petition,
    by: Actor,
    reason: RejectionReason | str,
    details: str = "",
    duplicate_of: Petition | None = None,
) -> Petition:
    """Reject with a standard public reason; some reasons also hide the text."""
    reason = RejectionReason(reason)
    if reason == RejectionReason.DUPLICATE:
        if duplicate_of is None:
            raise ValidationError({"duplicate_of": "Choose the petition this one duplicates."})
        if duplicate_of.pk == petition.pk or not duplicate_of.shows_text:
            raise ValidationError({"duplicate_of": "Choose another, public petition."})
    else:
        duplicate_of = None
    to_state = State.HIDDEN if reason in HIDING_REASONS else State.REJECTED
    return petition_transition(
        petition=petition,
        to_state=to_state,
        allowed_from=[*SIGNABLE_STATES, State.CLOSED, State.REJECTED],
        action="rejected",
        actor=by,
        reason=f"{reason.label}. {details}".strip(),
        rejection_reason=reason,
        rejection_details=text_clean(details, multiline=True),
        duplicate_of=duplicate_of,
        moderated_at=timezone.now(),
    )


def petition_remove(*, petition: Petition, by: Actor, reason: str) -> Petition:
    """Take a petition down. The reason is recorded for the audit, not shown."""
    reason = text_clean(reason, multiline=True)
    if not reason:
        raise ValidationError({"reason": "Record why the petition is removed."})
    return petition_transition(
        petition=petition,
        to_state=State.REMOVED,
        allowed_from=[*SIGNABLE_STATES, State.CLOSED, State.REJECTED, State.HIDDEN],
        action="removed",
        actor=by,
        reason=reason,
        removal_reason=reason,
        moderated_at=timezone.now(),
    )


def petitions_close_due(*, now: datetime | None = None) -> int:
    """Close every petition whose window has ended. Run periodically; idempotent.

    A petition owed or given a response keeps that state, but stops taking
    signatures all the same (``Petition.is_signable`` reads ``closes_at``).
    """
    now = now or timezone.now()
    closed = 0
    due = Petition.objects.filter(closes_at__lte=now, closed_at__isnull=True)
    for petition in due.only("pk", "state"):
        if petition.state in (State.GATHERING, State.OPEN):
            try:
                petition_transition(
                    petition=petition,
                    to_state=State.CLOSED,
                    allowed_from=[State.GATHERING, State.OPEN],
                    action="closed",
                    actor_label="closing job",
                    closed_at=now,
                )
            except TransitionRefused:
                continue
            closed += 1
        else:
            Petition.objects.filter(pk=petition.pk, closed_at__isnull=True).update(closed_at=now)
    return closed


def petition_request_record(
    *, petition: Petition, request: PetitionRequest, actor_label: str = "import"
) -> Petition:
    """Attach a structured request to a petition imported from before the check
    existed (the demo's 2015 petition), without refusing it; audited."""
    Petition.objects.filter(pk=petition.pk).update(
        request_action=request.action,
        request_persons=request.persons,
        request_court=request.court,
        request_unchecked=False,
    )
    audit_record(
        action="request_recorded",
        petition=petition,
        actor_label=actor_label,
        reason="Structured request recorded for an imported petition.",
    )
    petition.refresh_from_db()
    return petition
