"""The canonical form of an email address, used to find the same person twice."""

from __future__ import annotations

GMAIL_DOMAINS = frozenset({"gmail.com", "googlemail.com"})


def email_canonicalize(email: str) -> str:
    """Lower-case and trim; for Gmail, drop dots and ``+tag`` from the local part.

    Gmail ignores both, so ``J.Doe+petition@GoogleMail.com`` reaches the same
    inbox as ``jdoe@gmail.com``. Other providers differ, so they are left alone
    beyond case.
    """
    address = email.strip().lower()
    local, at, domain = address.rpartition("@")
    if not at:
        return address
    if domain in GMAIL_DOMAINS:
        local = local.split("+", 1)[0].replace(".", "")
        domain = "gmail.com"
    return f"{local}@{domain}"
