"""What an outgoing email is made of: the text its kind rendered, the recipient's
unsubscribe link, its headers, and the bytes that go to the SMTP server.

Django's EmailMessage composes the MIME bytes of a message. At hundreds of emails
a second that is a third of a worker's time (every header goes through the email
package's folding). A batch's messages mostly share their text (a response to
every signer), and what differs per recipient is plain ASCII: the To, Date and
Message-ID headers, the outbox key and the unsubscribe link. So ``BatchComposer``
has Django compose each distinct text once, with a marker where the link goes and
without those headers, and makes each recipient's bytes from that. A text whose
body Django would encode (quoted-printable, for a line over 998 bytes) and an
address that is not plain ASCII are composed by Django whole, as before.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from email.utils import formatdate, make_msgid

from django.conf import settings
from django.core.mail import EmailMessage
from django.core.mail.message import sanitize_address
from django.core.mail.utils import DNS_NAME

from petitio.notifications.models import OutboxMessage
from petitio.notifications.registry import RenderedEmail
from petitio.notifications.services import unsubscribe_token

# A dot-atom address: what Django's sanitize_address leaves as it is.
_PLAIN_ADDRESS = re.compile(
    r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*"
    r"@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\Z"
)
_PLAIN_VALUE = re.compile(r"[!-~]{1,900}\Z")  # printable ASCII, no space, short: never folded
_MARKER = "https://petitio.invalid/unsubscribe-link-goes-here/"
_PER_RECIPIENT = ("To", "Date", "Message-ID")  # of the headers Django writes itself


def unsubscribe_url(message: OutboxMessage) -> str:
    return f"{settings.SITE_URL}/unsubscribe/{unsubscribe_token(message)}/"


def email_for(message: OutboxMessage, rendered: RenderedEmail, url: str = "") -> EmailMessage:
    """The message as Django's EmailMessage (what a backend other than SMTP sends)."""
    url = url or unsubscribe_url(message)
    return EmailMessage(
        subject=rendered.subject,
        body=_body(rendered, url),
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=[message.to_email],
        headers={"List-Unsubscribe": f"<{url}>", "X-Petitio-Message": message.key},
    )


def _body(rendered: RenderedEmail, url: str) -> str:
    return f"{rendered.body.rstrip()}\n\n--\nTo stop emails about this petition: {url}\n"


@dataclass(frozen=True)
class Outgoing:
    """One message as the SMTP server gets it: envelope and bytes (CRLF line ends)."""

    sender: str
    recipient: str
    content: bytes


@dataclass(frozen=True)
class _Shared:
    head: bytes  # the headers every recipient's copy has, each ending in CRLF
    before: bytes  # the body up to the unsubscribe link
    after: bytes  # and after it


@dataclass
class BatchComposer:
    """Composes the messages of one batch (see the module's docstring)."""

    encoding: str = field(default_factory=lambda: settings.DEFAULT_CHARSET)
    _shared: dict[tuple[str, str], _Shared | None] = field(default_factory=dict)
    _sender: str = ""

    def outgoing(self, message: OutboxMessage, rendered: RenderedEmail) -> Outgoing:
        if not self._sender:
            self._sender = sanitize_address(settings.DEFAULT_FROM_EMAIL, self.encoding)
        url = unsubscribe_url(message)
        shared = self._shared_for(rendered)
        if (
            shared is None
            or not _PLAIN_ADDRESS.match(message.to_email)
            or not _PLAIN_VALUE.match(message.key)
            or not _PLAIN_VALUE.match(url)
        ):
            email = email_for(message, rendered, url)
            return Outgoing(
                sender=self._sender,
                recipient=sanitize_address(message.to_email, self.encoding),
                # As Django's SMTP backend does (its message classes take linesep).
                content=email.message().as_bytes(linesep="\r\n"),  # type: ignore[call-arg]
            )
        headers = (
            f"To: {message.to_email}\r\n"
            f"Date: {formatdate(localtime=settings.EMAIL_USE_LOCALTIME)}\r\n"
            f"Message-ID: {make_msgid(domain=DNS_NAME)}\r\n"
            f"List-Unsubscribe: <{url}>\r\n"
            f"X-Petitio-Message: {message.key}\r\n"
            "\r\n"
        )
        return Outgoing(
            sender=self._sender,
            recipient=message.to_email,
            content=b"".join(
                (shared.head, headers.encode(), shared.before, url.encode(), shared.after)
            ),
        )

    def _shared_for(self, rendered: RenderedEmail) -> _Shared | None:
        key = (rendered.subject, rendered.body)
        if key not in self._shared:
            self._shared[key] = _share(rendered)
        return self._shared[key]


def _share(rendered: RenderedEmail) -> _Shared | None:
    """What Django makes of the text for every recipient, or None when the body is
    encoded (a recipient's link would be encoded with it)."""
    mime = EmailMessage(
        subject=rendered.subject,
        body=_body(rendered, _MARKER),
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=["recipient@petitio.invalid"],
    ).message()
    if mime["Content-Transfer-Encoding"] not in ("7bit", "8bit"):
        return None
    for name in _PER_RECIPIENT:
        del mime[name]
    head, blank, body = mime.as_bytes(linesep="\r\n").partition(b"\r\n\r\n")  # type: ignore[call-arg]
    before, marker, after = body.partition(_MARKER.encode())
    if not blank or not marker or _MARKER.encode() in after:
        return None
    return _Shared(head=head + b"\r\n", before=before, after=after)
