"""Factories and helpers that build petitions through the real services."""

from __future__ import annotations

import itertools
import re
from datetime import datetime

import factory
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission

from petitio.authorities.models import Authority, Milestone, Official, ResponsePolicy
from petitio.notifications.delivery import outbox_drain
from petitio.petitions.models import Petition
from petitio.petitions.services import petition_approve, petition_create
from petitio.signatures.canonical import email_canonicalize
from petitio.signatures.models import Signature
from petitio.signatures.services import (
    Signer,
    signature_confirm,
    signature_create,
    signature_token_issue,
    signatures_import_verified,
)
from petitio.signatures.tally import tally_run

_serial = itertools.count(1)


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()
        django_get_or_create = ("username",)
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    first_name = "Pat"
    last_name = factory.Sequence(lambda n: f"Staff{n}")
    is_staff = True
    password = factory.django.Password("correct horse battery")


def moderator():
    user = UserFactory()
    user.user_permissions.add(Permission.objects.get(codename="moderate_petition"))
    return get_user_model().objects.get(pk=user.pk)  # drop the permission cache


def official_of(authority: Authority):
    user = UserFactory()
    Official.objects.create(user=user, authority=authority)
    return user


def draft_petition(authority: Authority, *, now: datetime | None = None, **overrides) -> Petition:
    n = next(_serial)
    fields = {
        "action": f"Plant {n} trees along every school road",
        "background": "Shade and cleaner air for children walking to school.",
        "details": "",
        "creator_name": "Robin Creator",
        "creator_email": f"creator{n}@example.org",
        "postal_code": "53703" if authority.country == "US" else "SW1A 1AA",
        "country": authority.country,
        "eligible": True,
    }
    fields.update(overrides)
    return petition_create(authority=authority, now=now, **fields)


def confirm(signature: Signature, *, now: datetime | None = None) -> Signature:
    """Confirm a pending signature the way its email link would."""
    token = signature_token_issue(signature=signature)
    return signature_confirm(petition=signature.petition, token=token, now=now)


def published_petition(
    authority: Authority, *, now: datetime | None = None, **overrides
) -> Petition:
    """A petition its creator confirmed: gathering (and open, without moderation)."""
    petition = draft_petition(authority, now=now, **overrides)
    confirm(Signature.objects.get(petition=petition, is_creator=True), now=now)
    petition.refresh_from_db()
    return petition


def open_petition(authority: Authority, *, now: datetime | None = None, **overrides) -> Petition:
    """A petition that takes signatures: moderated policies are approved first."""
    petition = published_petition(authority, now=now, **overrides)
    if petition.policy.requires_moderation:
        add_verified(petition, petition.policy.supporters_needed, now=now)
        petition_approve(petition=petition, by=moderator(), now=now)
        petition.refresh_from_db()
    return petition


def sign(petition: Petition, email: str, **overrides) -> None:
    fields = {
        "name": "Sam Signer",
        "email": email,
        "postal_code": "53703",
        "country": "US",
        "eligible": True,
    }
    fields.update(overrides)
    signature_create(petition=petition, **fields)


def add_verified(petition: Petition, count: int, *, now: datetime | None = None) -> Petition:
    """Add ``count`` verified signatures and run the tally, as if people confirmed."""
    from django.utils import timezone

    at = now or timezone.now()
    prefix = f"bulk{next(_serial)}"
    signers = (
        Signer(
            name=f"Signer {i}",
            email=f"{prefix}.{i}@example.org",
            email_canonical=email_canonicalize(f"{prefix}.{i}@example.org"),
            postal_code="53703",
            country="US",
            region="",
        )
        for i in range(count)
    )
    signatures_import_verified(petition=petition, signers=signers, verified_at=at)
    while tally_run(now=at).counted:
        pass
    petition.refresh_from_db()
    return petition


CONFIRM_LINK = re.compile(r"https?://\S+/petitions/(\d+)/confirm/([\w-]+)/")


def confirm_link(message) -> tuple[int, str]:
    """The petition id and token from a confirmation email."""
    found = CONFIRM_LINK.search(message.get_content())
    assert found, "no confirmation link in the email"
    return int(found.group(1)), found.group(2)


def deliver_all() -> None:
    while outbox_drain(max_seconds=30).handled:
        pass


def small_authority(*, slug: str, name: str, milestones: list[dict], **fields) -> Authority:
    """An authority with its own 30-day policy whose milestones (kind,
    signatures, window_days, response_days) a test reaches with a few signers."""
    policy = ResponsePolicy.objects.create(
        slug=slug, name=name, open_days=30, late_confirmation_hours=24
    )
    for milestone in milestones:
        Milestone.objects.create(policy=policy, **milestone)
    fields.setdefault("country", "US")
    fields.setdefault("region", "Wisconsin")
    return Authority.objects.create(slug=slug, name=name, policy=policy, **fields)
