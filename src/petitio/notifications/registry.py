"""Email kinds: each app registers how its messages are rendered at send time.

Rendering at send time (not at enqueue time) keeps secrets such as
verification tokens out of the outbox table, and lets the hot path enqueue a
row with ids only.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from petitio.notifications.models import OutboxMessage


@dataclass(frozen=True)
class RenderedEmail:
    subject: str
    body: str


@dataclass(frozen=True)
class EmailKind:
    render: Callable[[OutboxMessage], RenderedEmail | None]
    # Transactional messages the recipient asked for (a confirmation link)
    # are sent even to an address that unsubscribed from the petition.
    honours_unsubscribe: bool = True


_kinds: dict[str, EmailKind] = {}


def email_kind_register(
    kind: str,
    render: Callable[[OutboxMessage], RenderedEmail | None],
    *,
    honours_unsubscribe: bool = True,
) -> None:
    _kinds[kind] = EmailKind(render=render, honours_unsubscribe=honours_unsubscribe)


def email_kind_get(kind: str) -> EmailKind:
    return _kinds[kind]
