"""A batch's messages, composed from one shared rendering, are the messages Django's
EmailMessage would have composed for each recipient: same headers, same body, the
recipient's own address, key and unsubscribe link."""

from __future__ import annotations

import email
import email.policy
import re

import pytest
from django.conf import settings
from django.core.mail import EmailMessage
from django.core.mail.message import sanitize_address

from petitio.notifications.compose import BatchComposer, email_for, unsubscribe_url
from petitio.notifications.models import OutboxMessage
from petitio.notifications.registry import RenderedEmail

ASCII = RenderedEmail(
    subject="Small Town Council responded: Fix the potholes on every street of the town",
    body="You signed the petition.\n\nThe council has responded:\n\nWe will fix them.\n",
)
ACCENTED = RenderedEmail(
    subject="Conseil municipal a répondu : réparez les nids-de-poule 道路",
    body="Vous avez signé la pétition « Réparez les routes ».\n\nRéponse : oui. 🎉\n",
)
LONG_LINE = RenderedEmail(subject="Responded", body="A very long line: " + "x" * 1200 + "\n")


def _message(pk: int, to_email: str) -> OutboxMessage:
    return OutboxMessage(
        pk=pk,
        key=f"response:7:signature:{pk}",
        kind="response",
        to_email=to_email,
        petition_id=3,
        attempts=1,
    )


def _fields(content: bytes) -> tuple[list[tuple[str, str]], bytes]:
    """Headers (unfolded, without Date and Message-ID, which differ each time) and body."""
    parsed = email.message_from_bytes(content, policy=email.policy.compat32)
    headers = [
        (name, re.sub(r"\r?\n(?=[ \t])", "", value).strip())
        for name, value in parsed.items()
        if name not in ("Date", "Message-ID")
    ]
    assert parsed["Date"] and parsed["Message-ID"]
    return headers, parsed.get_payload(decode=True)


@pytest.mark.parametrize("rendered", [ASCII, ACCENTED, LONG_LINE], ids=["ascii", "utf8", "qp"])
@pytest.mark.parametrize(
    "to_email",
    ["signer@example.org", "O'Neil.Pat+petitions@Example.ORG", "dots..twice@example.org"],
)
def test_each_recipient_s_copy_is_what_django_composes_for_them(rendered, to_email, monkeypatch):
    composer = BatchComposer()
    composer.outgoing(_message(1, "first@example.org"), rendered)  # shared from here on
    message = _message(123456, to_email)
    composed = []
    django_message = EmailMessage.message
    monkeypatch.setattr(
        EmailMessage, "message", lambda self: composed.append(1) or django_message(self)
    )

    outgoing = composer.outgoing(message, rendered)

    # Django composes the whole message again only for an encoded body or an
    # address it would rewrite
    shared = rendered is not LONG_LINE and to_email != "dots..twice@example.org"
    assert len(composed) == (0 if shared else 1)
    monkeypatch.undo()

    expected = email_for(message, rendered, unsubscribe_url(message)).message()
    assert _fields(outgoing.content) == _fields(expected.as_bytes(linesep="\r\n"))
    assert outgoing.recipient == sanitize_address(to_email, "utf-8")
    assert outgoing.sender == sanitize_address(settings.DEFAULT_FROM_EMAIL, "utf-8")
    assert b"\r\n" in outgoing.content and b"\n" not in outgoing.content.replace(b"\r\n", b"")


def test_copies_of_one_rendering_differ_only_in_the_recipient_s_own_parts():
    composer = BatchComposer()
    first, second = _message(41, "ann@example.org"), _message(42, "bob@example.org")

    one = email.message_from_bytes(composer.outgoing(first, ASCII).content)
    two = email.message_from_bytes(composer.outgoing(second, ASCII).content)

    assert (one["To"], two["To"]) == ("ann@example.org", "bob@example.org")
    assert (one["X-Petitio-Message"], two["X-Petitio-Message"]) == (first.key, second.key)
    assert one["List-Unsubscribe"] == f"<{unsubscribe_url(first)}>"
    assert two["List-Unsubscribe"] == f"<{unsubscribe_url(second)}>"
    assert unsubscribe_url(first) in one.get_payload()
    assert unsubscribe_url(second) in two.get_payload()
    assert one.get_payload().replace(unsubscribe_url(first), "") == two.get_payload().replace(
        unsubscribe_url(second), ""
    )
    assert one["Message-ID"] != two["Message-ID"]
