"""Shared fixtures: the authority registry, a real SMTP server, staff users."""

from __future__ import annotations

import email
import email.policy
import socket
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from email.message import EmailMessage

import pytest
from aiosmtpd.controller import Controller
from django.core.cache import cache
from django.db import connection

from petitio.authorities.models import Authority
from petitio.authorities.services import authorities_load
from petitio.petitions.snapshots import petition_signing_copies_clear


@dataclass
class Mailbox:
    """What a real SMTP server (aiosmtpd on a free local port) received."""

    messages: list[EmailMessage] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    async def handle_DATA(self, server, session, envelope):
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


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def mailbox(settings) -> Iterator[Mailbox]:
    box = Mailbox()
    port = free_port()
    controller = Controller(box, hostname="127.0.0.1", port=port)
    controller.start()
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST = "127.0.0.1"
    settings.EMAIL_PORT = port
    settings.EMAIL_USE_TLS = False
    try:
        yield box
    finally:
        controller.stop()


@pytest.fixture(scope="session")
def django_db_setup(django_db_setup, django_db_blocker):
    """Load the authority registry once into the test database.

    Tests run in transactions that roll back, so it stays; a transactional
    test flushes it, and the ``registry`` fixture loads it again then.
    """
    with django_db_blocker.unblock():
        authorities_load()


@pytest.fixture
def registry(db) -> None:
    if not Authority.objects.filter(slug="us-president").exists():
        authorities_load()


@pytest.fixture
def president(registry) -> Authority:
    return Authority.objects.get(slug="us-president")


@pytest.fixture
def uk_government(registry) -> Authority:
    return Authority.objects.get(slug="uk-government")


def on_postgresql() -> bool:
    return connection.vendor == "postgresql"


@pytest.fixture
def council(registry) -> Authority:
    """A small authority whose thresholds a test can reach with a handful of signers:
    listed at 3 signatures, a response owed at 5 (within 30 days, due 10 days later)."""
    from tests.factories import small_authority

    return small_authority(
        slug="small-council",
        name="Small Town Council",
        kind="council",
        city="Smallville",
        contact_email="clerk@council.example.org",
        milestones=[
            {"kind": "listing", "signatures": 3, "window_days": 30},
            {"kind": "response", "signatures": 5, "window_days": 30, "response_days": 10},
        ],
    )


@pytest.fixture(autouse=True)
def _empty_cache() -> Iterator[None]:
    """Each test starts with empty caches (ids are reused between tests)."""
    cache.clear()
    petition_signing_copies_clear()
    yield
    cache.clear()
    petition_signing_copies_clear()
