"""Email kinds: each app registers how its messages are rendered at send time.

Rendering at send time (not at enqueue time) keeps secrets such as
verification tokens out of the outbox table, and lets the hot path enqueue a
row with ids only.

A kind whose text is the same for many recipients (a response emailed to every
signer) registers ``render_many`` too: delivery renders a claimed batch with one
call per kind, so one query and one template rendering serve the whole batch.
What differs per recipient (the unsubscribe link) is added by delivery.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from petitio.notifications.models import OutboxMessage


@dataclass(frozen=True)
class RenderedEmail:
    subject: str
    body: str


Render = Callable[[OutboxMessage], RenderedEmail | None]
# The rendering of each message, in the order given.
RenderMany = Callable[[Sequence[OutboxMessage]], list[RenderedEmail | None]]


@dataclass(frozen=True)
class EmailKind:
    render: Render
    # Transactional messages the recipient asked for (a confirmation link)
    # are sent even to an address that unsubscribed from the petition.
    honours_unsubscribe: bool = True
    render_many: RenderMany | None = None


_kinds: dict[str, EmailKind] = {}


def email_kind_register(
    kind: str,
    render: Render,
    *,
    honours_unsubscribe: bool = True,
    render_many: RenderMany | None = None,
) -> None:
    _kinds[kind] = EmailKind(
        render=render, honours_unsubscribe=honours_unsubscribe, render_many=render_many
    )


def email_kind_get(kind: str) -> EmailKind:
    return _kinds[kind]


def email_render_batch(messages: Sequence[OutboxMessage]) -> dict[int, RenderedEmail | None]:
    """Each message's rendering by id (None: nothing to send), one call per kind."""
    by_kind: defaultdict[str, list[OutboxMessage]] = defaultdict(list)
    for message in messages:
        by_kind[message.kind].append(message)
    rendered: dict[int, RenderedEmail | None] = {}
    for kind, group in by_kind.items():
        email_kind = email_kind_get(kind)
        if email_kind.render_many is not None:
            results = email_kind.render_many(group)
        else:
            results = [email_kind.render(message) for message in group]
        rendered.update(zip((message.pk for message in group), results, strict=True))
    return rendered
