"""The canonical form of an email address: how Petitio tells that two addresses
reach the same person, so that each person signs a petition once."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from petitio.signatures.canonical import email_canonicalize

# Examples


@pytest.mark.parametrize(
    ("typed", "canonical"),
    [
        ("Ann@Example.ORG", "ann@example.org"),
        ("  ann@example.org\n", "ann@example.org"),
        ("\tANN@EXAMPLE.ORG  ", "ann@example.org"),
    ],
)
def test_canonical_form_is_lower_case_and_trimmed(typed, canonical):
    assert email_canonicalize(typed) == canonical


@pytest.mark.parametrize(
    "typed",
    [
        "janedoe@gmail.com",
        "jane.doe@gmail.com",
        "J.A.N.E.D.O.E@gmail.com",
        "jane.doe+petition@gmail.com",
        "janedoe+a+b@gmail.com",
        "Jane.Doe+Petition@GMail.com",
        "jane.doe@googlemail.com",
        "JaneDoe+x@GoogleMail.com",
        "  jane.doe@gmail.com  ",
    ],
)
def test_gmail_ignores_dots_and_plus_tags_like_gmail_does(typed):
    assert email_canonicalize(typed) == "janedoe@gmail.com"


def test_googlemail_is_the_same_inbox_as_gmail():
    assert email_canonicalize("someone@googlemail.com") == "someone@gmail.com"


@pytest.mark.parametrize(
    ("typed", "canonical"),
    [
        ("jane.doe@example.org", "jane.doe@example.org"),
        ("jane.doe+petition@example.org", "jane.doe+petition@example.org"),
        ("Jane.Doe+Tag@Outlook.com", "jane.doe+tag@outlook.com"),
        # A look-alike domain is not Gmail.
        ("jane.doe+x@gmail.co", "jane.doe+x@gmail.co"),
        ("jane.doe+x@mail.gmail.com", "jane.doe+x@mail.gmail.com"),
    ],
)
def test_other_providers_keep_dots_and_plus_tags(typed, canonical):
    assert email_canonicalize(typed) == canonical


def test_dotted_address_elsewhere_is_a_different_person():
    assert email_canonicalize("a.nn@example.org") != email_canonicalize("ann@example.org")
    assert email_canonicalize("ann+1@example.org") != email_canonicalize("ann@example.org")


# Properties

any_text = st.text(max_size=80)
ascii_emails = st.emails()

local_letters = st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789", min_size=1, max_size=20)


@st.composite
def gmail_variants(draw) -> tuple[str, str]:
    """An address Gmail delivers to ``<base>@gmail.com``, and that base."""
    base = draw(local_letters)
    local = ""
    for char in base:
        local += "." * draw(st.integers(0, 2)) + char
    if draw(st.booleans()):
        local += "+" + draw(st.text(alphabet="abcxyz.+-_019", max_size=12))
    domain = draw(st.sampled_from(["gmail.com", "googlemail.com"]))
    typed = f"{local}@{domain}"
    flips = draw(st.lists(st.booleans(), min_size=len(typed), max_size=len(typed)))
    typed = "".join(c.upper() if flip else c for c, flip in zip(typed, flips, strict=True))
    padding = draw(st.sampled_from(["", " ", "\t", " \n"]))
    return padding + typed + padding, f"{base}@gmail.com"


def random_case(draw, text: str) -> str:
    flips = draw(st.lists(st.booleans(), min_size=len(text), max_size=len(text)))
    return "".join(c.upper() if flip else c.lower() for c, flip in zip(text, flips, strict=True))


@given(any_text)
def test_canonical_form_is_idempotent_for_any_text(text):
    once = email_canonicalize(text)
    assert email_canonicalize(once) == once


@given(ascii_emails)
def test_canonical_form_is_idempotent_for_addresses(address):
    once = email_canonicalize(address)
    assert email_canonicalize(once) == once


@given(st.data(), ascii_emails)
def test_canonical_form_ignores_letter_case(data, address):
    recased = random_case(data.draw, address)
    assert email_canonicalize(recased) == email_canonicalize(address)
    assert email_canonicalize(address.upper()) == email_canonicalize(address.lower())


@given(gmail_variants())
def test_every_gmail_variant_reaches_the_same_canonical_form(variant):
    typed, expected = variant
    assert email_canonicalize(typed) == expected


@given(ascii_emails)
def test_non_gmail_addresses_change_only_in_case_and_whitespace(address):
    if address.rpartition("@")[2].lower() in {"gmail.com", "googlemail.com"}:
        return
    assert email_canonicalize(f"  {address} ") == address.lower()
