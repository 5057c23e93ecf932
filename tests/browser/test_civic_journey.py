"""The civic loop in a real browser against a live server: a petition is
created, confirmed from its email, signed and confirmed by three people,
counted, answered by the authority, and the answer emailed to every signer."""

from __future__ import annotations

from collections.abc import Callable
from email.message import EmailMessage

import pytest
from django.urls import reverse
from playwright.sync_api import Page, expect

from petitio.petitions.models import Addressee, Petition, State
from petitio.signatures.tally import tally_run
from tests.factories import CONFIRM_LINK, add_verified, confirm_link, deliver_all, official_of

pytestmark = pytest.mark.django_db(transaction=True)

ACTION = "Light every crossing near the school"
CREATOR = ("Robin Creator", "robin@example.org")
SIGNERS = [
    ("Ann Signer", "ann@example.org"),
    ("Bob Signer", "bob@example.org"),
    ("Cy Signer", "cy@example.org"),
]
SUMMARY = "We will light all four crossings by spring."
BODY = "The council has approved the budget for new lights at every school crossing."


def only_message(mailbox, address: str, subject_part: str) -> EmailMessage:
    found = [m for m in mailbox.to(address) if subject_part in m["Subject"]]
    assert len(found) == 1, f"{address}: {[m['Subject'] for m in mailbox.to(address)]}"
    return found[0]


def link_in(message: EmailMessage, base_url: str) -> str:
    """The confirmation link from an email; it must point at the live server."""
    found = CONFIRM_LINK.search(message.get_content())
    assert found, "no confirmation link in the email"
    assert found.group(0).startswith(f"{base_url}/"), found.group(0)
    return found.group(0)


def fill_signer(page: Page, name_label: str, name: str, email: str, postal_code: str) -> None:
    page.get_by_label(name_label, exact=True).fill(name)
    page.get_by_label("Email address", exact=True).fill(email)
    page.get_by_label("Postal code", exact=True).fill(postal_code)
    page.get_by_label("Country", exact=True).select_option("US")


def test_petition_created_signed_counted_and_answered_in_the_browser(
    live_server, settings, mailbox, council, page: Page, new_page: Callable[[], Page]
):
    settings.SITE_URL = live_server.url  # the links in the emails lead to the live server
    base = live_server.url

    # The creator starts a petition addressed to the council.
    page.goto(base + reverse("petition-new"))
    page.get_by_label("Who should act on it?", exact=True).select_option(label="Small Town Council")
    page.get_by_label("What do you want them to do?", exact=True).fill(ACTION)
    page.get_by_label("Why?", exact=True).fill("Children cross there in the dark in winter.")
    fill_signer(page, "Your full name", *CREATOR, postal_code="53703")
    page.get_by_role("button", name="Create petition").click()
    expect(page.get_by_role("heading", name="Check your email")).to_be_visible()
    petition = Petition.objects.get(action=ACTION)
    assert petition.state == State.DRAFT

    # The confirmation link shows a button; opening it publishes nothing.
    deliver_all()
    creator_email = only_message(mailbox, CREATOR[1], "Confirm your petition")
    petition_id, _ = confirm_link(creator_email)
    assert petition_id == petition.pk
    page.goto(link_in(creator_email, base))
    expect(page.get_by_role("heading", name="Publish your petition")).to_be_visible()
    publish = page.get_by_role("button", name="Confirm and publish")
    expect(publish).to_be_visible()
    petition.refresh_from_db()
    assert petition.state == State.DRAFT, "a GET on the link must not confirm"
    publish.click()
    expect(page.get_by_role("heading", name="Your petition is published")).to_be_visible()
    petition.refresh_from_db()
    assert petition.state == State.GATHERING
    petition_url = base + reverse("petition-detail", args=[petition.pk])

    # Three people sign, each in their own browser, and confirm from their email.
    signer_pages = {}
    for name, email in SIGNERS:
        signer = signer_pages[email] = new_page()
        signer.goto(petition_url)
        expect(signer.get_by_role("heading", name=ACTION, level=1)).to_be_visible()
        fill_signer(signer, "Full name", name, email, postal_code="10001")
        signer.get_by_role("button", name="Sign this petition").click()
        expect(signer.get_by_role("heading", name="Check your email")).to_be_visible()
    deliver_all()
    for _, email in SIGNERS:
        signer = signer_pages[email]
        signer.goto(link_in(only_message(mailbox, email, "Confirm your signature"), base))
        expect(signer.get_by_role("heading", name="Confirm your signature")).to_be_visible()
        signer.get_by_role("button", name="Confirm my signature").click()
        expect(
            signer.get_by_role("heading", name="Thank you: your signature is confirmed")
        ).to_be_visible()

    # The tally counts the creator and the three signers; one more reaches 5,
    # the milestone at which the council owes a response.
    assert tally_run().counted == 4
    page.goto(petition_url)
    count = page.get_by_role("complementary", name="Signatures").locator("#signature-count")
    expect(count).to_have_text("4")
    add_verified(petition, 1)
    assert Addressee.objects.get(petition=petition).response_due_at is not None
    page.reload()
    expect(count).to_have_text("5")

    # An official of the council logs in and publishes the response.
    official = official_of(council)
    desk = new_page()
    desk.goto(base + reverse("login"))
    desk.get_by_label("Username", exact=True).fill(official.username)
    desk.get_by_label("Password", exact=True).fill("correct horse battery")
    desk.get_by_role("button", name="Log in").click()
    expect(desk.get_by_role("button", name="Log out")).to_be_visible()
    desk.goto(base + reverse("official-dashboard"))
    row = desk.get_by_role("row").filter(has_text=ACTION)
    row.get_by_role("link", name="Write the response").click()
    expect(
        desk.get_by_role("heading", name="Response from Small Town Council", level=1)
    ).to_be_visible()
    desk.get_by_label("Summary (one or two sentences)", exact=True).fill(SUMMARY)
    desk.get_by_label("Response", exact=True).fill(BODY)
    desk.get_by_role("button", name="Publish the response").click()
    expect(desk.get_by_role("status")).to_contain_text("The response is published")

    # Delivery twice: the second run must not send anything again.
    deliver_all()
    deliver_all()
    assert any("now requires your response" in m["Subject"] for m in mailbox.to("clerk@"))
    for _, email in [CREATOR, *SIGNERS]:
        response_email = only_message(mailbox, email, "responded")
        assert SUMMARY in response_email.get_content()
        assert petition_url in response_email.get_content()
    petition.refresh_from_db()
    assert petition.state == State.RESPONDED

    # Anyone sees the response on the petition page.
    page.reload()
    response = page.get_by_role("region", name="Response from Small Town Council")
    expect(response).to_contain_text(SUMMARY)
    expect(response).to_contain_text(BODY)
    expect(response).to_contain_text(f"Published by {official.get_full_name()}")
    expect(count).to_have_text("5")
