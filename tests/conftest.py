"""Shared fixtures: the authority registry, a real SMTP server, staff users."""

from __future__ import annotations

import email
import email.policy
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from email.message import EmailMessage

import pytest
from aiosmtpd.controller import Controller
from django.db import connection

from petitio.authorities.models import Authority
from petitio.authorities.services import authorities_load


@dataclass
class Mailbox:
    """What a real SMTP server (aiosmtpd on a free local port) received."""

    messages: list[EmailMessage] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 - aiosmtpd hook
        message = email.message_from_bytes(envelope.content, policy=email.policy.default)
        with self.lock:
            self.messages.append(message)  # type: ignore[arg-type]
        return "250 OK"

    def to(self, address: str) -> list[EmailMessage]:
        with self.lock:
            return [m for m in self.messages if address in m["To"]]

    def clear(self) -> None:
        with self.lock:
            self.messages.clear()


@pytest.fixture
def mailbox(settings) -> Iterator[Mailbox]:
    box = Mailbox()
    controller = Controller(box, hostname="127.0.0.1", port=0)
    controller.start()
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST = "127.0.0.1"
    settings.EMAIL_PORT = controller.server.sockets[0].getsockname()[1]
    settings.EMAIL_USE_TLS = False
    try:
        yield box
    finally:
        controller.stop()


@pytest.fixture
def registry(db) -> None:
    authorities_load()


@pytest.fixture
def president(registry) -> Authority:
    return Authority.objects.get(slug="us-president")


@pytest.fixture
def uk_government(registry) -> Authority:
    return Authority.objects.get(slug="uk-government")


def on_postgresql() -> bool:
    return connection.vendor == "postgresql"
