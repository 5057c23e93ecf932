"""Partner keys: issue (shown once), revoke, authenticate.

A key looks like ``ptk_<prefix>_<secret>``. The prefix is stored in clear to
find the row; the whole key is stored only as its SHA-256 hash and compared in
constant time, so a database leak does not leak usable keys.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Iterable
from datetime import datetime

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from petitio.api.models import PartnerKey, Scope
from petitio.petitions.validators import text_clean

KEY_PREFIX = "ptk_"
MAX_RATE_PER_MINUTE = 100_000


def _key_hash(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def _key_new() -> tuple[str, str]:
    prefix = secrets.token_hex(5)
    return prefix, f"{KEY_PREFIX}{prefix}_{secrets.token_urlsafe(32)}"


def partner_key_validate(
    *, name: str, scopes: Iterable[str], rate_limit_per_minute: int
) -> tuple[str, list[str], int]:
    """Clean a partner's details; raise ValidationError keyed by field."""
    errors: dict[str, str] = {}
    try:
        name = text_clean(name)
    except ValidationError as exc:
        errors["name"] = exc.messages[0]
    else:
        if not name:
            errors["name"] = "Enter the partner's name."
        elif len(name) > 120:
            errors["name"] = "Use at most 120 characters."
    chosen = sorted(set(scopes))
    unknown = [s for s in chosen if s not in Scope.values]
    if unknown:
        errors["scopes"] = f"Unknown scope: {', '.join(unknown)}. Known: {', '.join(Scope.values)}."
    if not 1 <= rate_limit_per_minute <= MAX_RATE_PER_MINUTE:
        errors["rate_limit_per_minute"] = f"Choose between 1 and {MAX_RATE_PER_MINUTE:,}."
    if errors:
        raise ValidationError(errors)
    return name, chosen, rate_limit_per_minute


def partner_key_create(
    *,
    name: str,
    scopes: Iterable[str] = (Scope.SIGNATURES_WRITE,),
    rate_limit_per_minute: int = 60,
    now: datetime | None = None,
) -> tuple[PartnerKey, str]:
    """Register a partner and issue its key. The plaintext key is returned once, never stored."""
    name, chosen, rate = partner_key_validate(
        name=name, scopes=scopes, rate_limit_per_minute=rate_limit_per_minute
    )
    for _attempt in range(5):
        prefix, key = _key_new()
        try:
            with transaction.atomic():
                partner = PartnerKey.objects.create(
                    name=name,
                    key_prefix=prefix,
                    key_hash=_key_hash(key),
                    scopes=chosen,
                    rate_limit_per_minute=rate,
                    created_at=now or timezone.now(),
                )
        except IntegrityError:  # a prefix collision: draw again
            continue
        return partner, key
    raise RuntimeError("could not draw a unique partner key prefix")


def partner_key_revoke(*, partner: PartnerKey, now: datetime | None = None) -> PartnerKey:
    """Revoke a key for good. Revoking twice keeps the first revocation time."""
    PartnerKey.objects.filter(pk=partner.pk, revoked_at__isnull=True).update(
        revoked_at=now or timezone.now()
    )
    partner.refresh_from_db()
    return partner


def partner_key_authenticate(*, key: str) -> PartnerKey | None:
    """The active partner holding this key, or None (unknown, malformed or revoked)."""
    if not key or len(key) > 200 or not key.startswith(KEY_PREFIX):
        return None
    prefix = key[len(KEY_PREFIX) :].split("_", 1)[0]
    partner = PartnerKey.objects.filter(key_prefix=prefix).first() if prefix else None
    offered = _key_hash(key)
    # Compare even when nothing was found, so timing does not tell prefixes apart.
    stored = partner.key_hash if partner else "0" * 64
    if not hmac.compare_digest(offered, stored) or partner is None:
        return None
    if partner.revoked_at is not None:
        return None
    return partner


def partner_key_update(
    *, partner: PartnerKey, name: str, scopes: Iterable[str], rate_limit_per_minute: int
) -> PartnerKey:
    """Change a partner's name, scopes or rate limit. The key itself never changes."""
    name, chosen, rate = partner_key_validate(
        name=name, scopes=scopes, rate_limit_per_minute=rate_limit_per_minute
    )
    PartnerKey.objects.filter(pk=partner.pk).update(
        name=name, scopes=chosen, rate_limit_per_minute=rate
    )
    partner.refresh_from_db()
    return partner
