"""Signing, verification and resending: the hot path of a viral petition.

The signature is inserted once and the unique constraint on (petition,
canonical email) decides whether it is new; a duplicate gets the same answer
as a new signature so the form never reveals who has signed.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django_countries import countries

from petitio.authorities.models import ResponsePolicy
from petitio.petitions.models import RESPONSE_STATES, Petition, State
from petitio.petitions.validators import no_formula_prefix, no_url, text_clean
from petitio.signatures.canonical import email_canonicalize
from petitio.signatures.models import Signature, SignatureToken
from petitio.signatures.sql import (
    confirmation_enqueue,
    signature_confirm_sql,
    signature_insert_sql,
    signature_resend_sql,
)


class SigningRefused(Exception):
    """The petition does not take signatures now; the message says why."""


class TokenRefused(Exception):
    """A confirmation link that cannot be used: unknown, used, expired or too late."""

    def __init__(self, reason: str, signature: Signature | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.signature = signature


@dataclass(frozen=True)
class Signer:
    name: str
    email: str
    email_canonical: str
    postal_code: str
    country: str
    region: str

    def signature_for(self, petition: Petition, **fields: Any) -> Signature:
        """An unsaved signature of this signer on ``petition``."""
        return Signature(
            petition=petition,
            name=self.name,
            email=self.email,
            email_canonical=self.email_canonical,
            postal_code=self.postal_code,
            country=self.country,
            region=self.region,
            **fields,
        )


def signer_validate(
    *,
    name: str,
    email: str,
    postal_code: str,
    country: str,
    region: str = "",
    eligible: bool,
    policy: ResponsePolicy,
) -> Signer:
    """Check a signer's details; raise ValidationError keyed by field."""
    errors: dict[str, str | ValidationError] = {}

    def check(field: str, fn) -> Any:
        try:
            return fn()
        except ValidationError as exc:
            errors[field] = exc
            return ""

    def clean_name() -> str:
        value = text_clean(name)
        if not value:
            raise ValidationError("Enter your name.", code="required")
        if len(value) > 100:
            raise ValidationError("Use at most 100 characters for your name.", code="max_length")
        no_formula_prefix(value)
        no_url(value)
        return value

    def clean_email() -> str:
        value = text_clean(email)
        if not value:
            raise ValidationError("Enter your email address.", code="required")
        if len(value) > 254:
            raise ValidationError("That email address is too long.", code="max_length")
        try:
            validate_email(value)
        except ValidationError:
            raise ValidationError(
                "Enter a valid email address, like name@example.com.", code="invalid"
            ) from None
        return value

    def clean_postal_code() -> str:
        value = text_clean(postal_code).upper()
        if not value:
            raise ValidationError("Enter your postal code.", code="required")
        if len(value) > 16 or not all(c.isalnum() or c in " -" for c in value):
            raise ValidationError(
                "Enter a postal code of letters, digits, spaces or hyphens.", code="invalid"
            )
        return value

    def clean_country() -> str:
        value = text_clean(country).upper()
        if value not in countries:
            raise ValidationError("Choose a country from the list.", code="invalid_country")
        return value

    def clean_region() -> str:
        value = text_clean(region)
        if len(value) > 100:
            raise ValidationError("Use at most 100 characters.", code="max_length")
        no_formula_prefix(value) if value else None
        return value

    cleaned = Signer(
        name=check("name", clean_name),
        email=(typed := check("email", clean_email)),
        email_canonical=email_canonicalize(typed) if typed else "",
        postal_code=check("postal_code", clean_postal_code),
        country=check("country", clean_country),
        region=check("region", clean_region),
    )
    if policy.eligibility and not eligible:
        errors["eligible"] = ValidationError(
            f"Please confirm: {policy.eligibility}.", code="not_eligible"
        )
    if errors:
        raise ValidationError(errors)
    return cleaned


def signature_insert(
    *,
    petition: Petition,
    signer: Signer,
    is_creator: bool = False,
    request_meta: dict[str, Any] | None = None,
    require_signable: bool = False,
) -> int | None:
    """Insert a pending signature and queue its confirmation email.

    Returns the new signature's id, or None when nothing was stored: the
    person has already signed (the constraint said so) or, with
    ``require_signable``, the petition's row says it takes no signatures now.
    """
    return signature_insert_sql(
        petition_id=petition.pk,
        signer=signer,
        is_creator=is_creator,
        request_meta=request_meta or {},
        now=timezone.now(),
        require_signable=require_signable,
    )


def signing_refusal(petition: Petition, now: datetime | None = None) -> str | None:
    """Why this petition takes no signatures now, in words for the signer; None if it does."""
    if petition.is_signable(now):
        return None
    if petition.state == State.DRAFT:
        return "This petition has not been published yet, so it cannot be signed."
    if petition.state in (State.REJECTED, State.HIDDEN):
        return "This petition was rejected, so it cannot be signed."
    if petition.state == State.REMOVED:
        return "This petition was removed, so it cannot be signed."
    return "This petition is closed: it no longer accepts signatures."


def signature_create(
    *,
    petition: Petition,
    name: str,
    email: str,
    postal_code: str,
    country: str,
    region: str = "",
    eligible: bool = True,
    request_meta: dict[str, Any] | None = None,
) -> None:
    """Sign a petition. The caller always answers "check your email".

    New signer: a pending signature and a confirmation email. Someone who has
    signed already: nothing new is stored; if still unconfirmed, the email is
    sent again (at most once per resend interval).
    """
    refusal = signing_refusal(petition)
    if refusal:
        raise SigningRefused(refusal)
    signer = signer_validate(
        name=name,
        email=email,
        postal_code=postal_code,
        country=country,
        region=region,
        eligible=eligible,
        policy=petition.policy,
    )
    stored = signature_insert(
        petition=petition, signer=signer, request_meta=request_meta, require_signable=True
    )
    if stored is not None:
        return
    # Nothing stored: a duplicate, or the petition stopped taking signatures
    # after the caller read it (callers may pass a copy up to a second old).
    now = timezone.now()
    if signature_resend_sql(
        petition_id=petition.pk,
        email_canonical=signer.email_canonical,
        now=now,
        resend_before=now - _resend_interval(),
    ):
        return  # still signable: the email is queued again if it was due
    current = Petition.objects.select_related("policy").get(pk=petition.pk)
    refusal = signing_refusal(current)
    if refusal:
        raise SigningRefused(refusal)
    signature_confirmation_resend(petition=current, email=signer.email)


def _resend_interval() -> timedelta:
    return timedelta(minutes=settings.PETITIO["VERIFICATION_RESEND_MINUTES"])


def signature_confirmation_resend(*, petition: Petition, email: str) -> None:
    """Send the confirmation email again to an unconfirmed signer, rate-limited.

    The conditional update lets exactly one of several simultaneous requests
    through per interval; an unknown or already-confirmed address does nothing,
    and the caller answers the same either way.
    """
    now = timezone.now()
    interval = _resend_interval()
    with transaction.atomic():
        mine = Signature.objects.filter(
            petition=petition,
            email_canonical=email_canonicalize(email),
            state=Signature.State.PENDING,
        )
        updated = mine.filter(Q(last_email_at__isnull=True) | Q(last_email_at__lt=now - interval))
        if not updated.update(last_email_at=now):
            return
        signature = mine.get()
        confirmation_enqueue(
            signature_id=signature.pk,
            email=signature.email,
            petition_id=signature.petition_id,
            now=now,
        )


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def signature_token_issue(*, signature: Signature) -> str:
    """A new random confirmation token; only its hash is stored."""
    token = secrets.token_urlsafe(32)
    SignatureToken.objects.create(
        signature=signature,
        token_hash=_token_hash(token),
        expires_at=timezone.now() + timedelta(days=settings.PETITIO["VERIFICATION_TOKEN_DAYS"]),
    )
    return token


def signature_token_lookup(
    *, petition: Petition, token: str, now: datetime | None = None
) -> SignatureToken:
    """The token behind a confirmation link, or TokenRefused saying why not."""
    if not token or len(token) > 100:
        raise TokenRefused("unknown")
    found = (
        SignatureToken.objects.select_related("signature__petition")
        .filter(token_hash=_token_hash(token), signature__petition=petition)
        .first()
    )
    if found is None:
        raise TokenRefused("unknown")
    if found.used_at is not None or found.signature.state != Signature.State.PENDING:
        raise TokenRefused("used", found.signature)
    if found.expires_at <= (now or timezone.now()):
        raise TokenRefused("expired", found.signature)
    if not confirmation_allowed(found.signature.petition, now):
        raise TokenRefused("closed", found.signature)
    return found


def confirmation_allowed(petition: Petition, now: datetime | None = None) -> bool:
    """Signatures may be confirmed while the petition is signable, and for the
    policy's grace period after it closes (they were made before closing)."""
    now = now or timezone.now()
    if petition.state == State.DRAFT:
        return True
    if petition.is_signable(now):
        return True
    if petition.closes_at is None or petition.state in (
        State.REJECTED,
        State.HIDDEN,
        State.REMOVED,
    ):
        return False
    grace = timedelta(hours=petition.policy.late_confirmation_hours)
    return now < petition.closes_at + grace


def signature_confirm(*, petition: Petition, token: str, now: datetime | None = None) -> Signature:
    """Verify a signature from its link (on POST only: mail scanners GET links).

    The token is used once: of two simultaneous confirmations one wins and the
    other is told the link was used. The count moves at the next tally.

    ``petition`` may be a copy a second old (petitions/snapshots.py): on a
    signable petition one statement does the work and checks the row itself;
    everything else (a refusal to explain, a creator's draft, a grace period,
    a petition owing or having a response) goes the ORM's way, atomically.
    """
    from petitio.petitions.services import petition_publish
    from petitio.responses.services import responses_enqueue_for_signature

    now = now or timezone.now()
    if petition.is_signable(now) and petition.state not in RESPONSE_STATES:
        token_hash = _token_hash(token)
        done = signature_confirm_sql(petition_id=petition.pk, token_hash=token_hash, now=now)
        if done is not None:
            signature, state_now = done
            signature.petition = petition
            if state_now in RESPONSE_STATES:  # a response since ``petition`` was read
                responses_enqueue_for_signature(
                    signature=Signature.objects.select_related("petition").get(pk=signature.pk)
                )
            return signature
    with transaction.atomic():
        found = signature_token_lookup(petition=petition, token=token, now=now)
        if not SignatureToken.objects.filter(pk=found.pk, used_at__isnull=True).update(used_at=now):
            raise TokenRefused("used", found.signature)
        signature = found.signature
        Signature.objects.filter(pk=signature.pk, state=Signature.State.PENDING).update(
            state=Signature.State.VERIFIED, verified_at=now
        )
        signature.refresh_from_db()
        if signature.is_creator and signature.petition.state == State.DRAFT:
            petition_publish(petition=signature.petition, now=now)
        responses_enqueue_for_signature(signature=signature)
    return signature


def signatures_import_verified(
    *, petition: Petition, signers: Iterable[Signer], verified_at: datetime, batch: int = 5000
) -> int:
    """Add signatures that were verified elsewhere (an earlier system, demo data).

    They arrive uncounted; the tally writer counts them like any other, so
    milestones fire the usual way. A person already signed is skipped.
    """
    added = 0
    rows: list[Signature] = []

    def flush() -> None:
        nonlocal added
        Signature.objects.bulk_create(rows, ignore_conflicts=True)
        added += len(rows)
        rows.clear()

    with transaction.atomic():
        for signer in signers:
            rows.append(
                signer.signature_for(
                    petition,
                    state=Signature.State.VERIFIED,
                    created_at=verified_at,
                    verified_at=verified_at,
                )
            )
            if len(rows) >= batch:
                flush()
        flush()
    return added
