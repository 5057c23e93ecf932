"""Writing the audit trail. Every service that changes a petition calls this."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.models import AnonymousUser, User

from petitio.moderation.models import AuditEvent


def audit_record(
    *,
    action: str,
    petition: Any = None,
    actor: User | AnonymousUser | None = None,
    actor_label: str = "",
    from_state: str = "",
    to_state: str = "",
    reason: str = "",
    detail: dict[str, Any] | None = None,
) -> AuditEvent:
    user = actor if actor is not None and actor.is_authenticated else None
    return AuditEvent.objects.create(
        action=action,
        petition=petition,
        actor=user,
        actor_label=actor_label or ("" if user else "system"),
        from_state=from_state,
        to_state=to_state,
        reason=reason,
        detail=detail or {},
    )
