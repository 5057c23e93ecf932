"""Publishing responses and owing them: deadlines, fan-out, overdue notices."""

from __future__ import annotations

from datetime import datetime

from django.contrib.auth.models import User
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from petitio.authorities.rules import is_official_of
from petitio.moderation.services import audit_record
from petitio.notifications.services import outbox_enqueue, outbox_enqueue_verified_signers
from petitio.petitions.models import RESPONSE_STATES, Addressee, State
from petitio.petitions.services import (
    TransitionRefused,
    authority_notify,
    petition_transition,
)
from petitio.petitions.validators import text_clean
from petitio.responses.models import Response
from petitio.signatures.models import Signature


class ResponseRefused(Exception):
    """This addressee cannot publish a response now; the message says why."""


def response_publish(
    *,
    addressee: Addressee,
    summary: str,
    body: str,
    by: User,
    now: datetime | None = None,
    email_signers: bool = True,
) -> Response:
    """Publish an authority's response and queue it for every verified signer.

    The outbox rows are written in the same transaction as the response, so
    the response is never public without its emails being owed, nor the
    reverse. Publishing twice is refused by the one-to-one constraint.

    ``email_signers=False`` is only for importing a response that was already
    emailed elsewhere (the demo's historical petition); it is audited.
    """
    if not is_official_of(by, addressee.authority):
        raise PermissionDenied("Only an official of the addressed authority can respond.")
    errors = {}
    summary = text_clean(summary)
    body = text_clean(body, multiline=True)
    if not summary:
        errors["summary"] = "Write a one-sentence summary."
    elif len(summary) > 300:
        errors["summary"] = "Use at most 300 characters for the summary."
    if not body:
        errors["body"] = "Write the response."
    elif len(body) > 20000:
        errors["body"] = "Use at most 20,000 characters."
    if errors:
        raise ValidationError(errors)
    if addressee.response_due_at is None:
        raise ResponseRefused(
            "This petition has not reached the signatures that oblige a response."
        )
    petition = addressee.petition
    with transaction.atomic():
        try:
            with transaction.atomic():
                response = Response.objects.create(
                    addressee=addressee,
                    summary=summary,
                    body=body,
                    published_at=now or timezone.now(),
                    published_by=by,
                    published_by_name=by.get_full_name() or by.get_username(),
                )
        except IntegrityError:
            raise ResponseRefused(
                "A response to this petition has already been published."
            ) from None
        audit_record(
            action="response_published",
            petition=petition,
            actor=by,
            reason=f"Response from {addressee.authority.name}"
            + ("" if email_signers else " (imported; signers not emailed)"),
        )
        if email_signers:
            response_fanout(response=response)
        if not Addressee.objects.filter(
            petition=petition, response_due_at__isnull=False, response__isnull=True
        ).exists():
            try:
                petition_transition(
                    petition=petition,
                    to_state=State.RESPONDED,
                    allowed_from=[State.AWAITING_RESPONSE],
                    action="responded",
                    actor=by,
                )
            except TransitionRefused:
                pass
    return response


def response_fanout(*, response: Response) -> int:
    """Queue the response for every verified signer not yet queued. Re-runnable."""
    return outbox_enqueue_verified_signers(
        petition_id=response.addressee.petition_id,
        kind="response",
        key_prefix=f"response:{response.pk}",
        payload={"response_id": response.pk},
    )


def responses_enqueue_for_signature(*, signature: Signature) -> None:
    """A signer confirmed after a response was published: they get it too."""
    if signature.petition.state not in RESPONSE_STATES:
        return
    for response in Response.objects.filter(addressee__petition_id=signature.petition_id):
        outbox_enqueue(
            key=f"response:{response.pk}:signature:{signature.pk}",
            kind="response",
            to_email=signature.email,
            petition=signature.petition,
            payload={"response_id": response.pk},
        )


def responses_overdue_notify(*, now: datetime | None = None) -> int:
    """Tell each authority once when a response it owes passes its deadline."""
    now = now or timezone.now()
    overdue = Addressee.objects.filter(
        response_due_at__lt=now, response__isnull=True
    ).select_related("authority", "petition")
    count = 0
    for addressee in overdue:
        authority_notify(addressee=addressee, key=f"overdue:{addressee.pk}", event="overdue")
        count += 1
    return count
