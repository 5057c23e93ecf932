"""Permission predicates, named for what they allow."""

from __future__ import annotations

from typing import Any

from petitio.authorities.models import Authority, Official


def is_moderator(user: Any) -> bool:
    return bool(
        user is not None
        and user.is_authenticated
        and user.is_active
        and user.has_perm("petitions.moderate_petition")
    )


def is_official_of(user: Any, authority: Authority) -> bool:
    return bool(
        user is not None
        and user.is_authenticated
        and user.is_active
        and Official.objects.filter(user=user, authority=authority).exists()
    )


def is_official(user: Any) -> bool:
    return bool(
        user is not None
        and user.is_authenticated
        and user.is_active
        and Official.objects.filter(user=user).exists()
    )
