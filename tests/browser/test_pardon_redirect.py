"""The 2015 story as it should have gone: a pardon for a Wisconsin conviction,
addressed to the President, is flagged before anyone signs and redirected in
one click to the authority that can grant it."""

from __future__ import annotations

import pytest
from django.urls import reverse
from playwright.sync_api import Page, expect

from petitio.petitions.models import Petition

pytestmark = pytest.mark.django_db(transaction=True)


def test_wisconsin_pardon_to_the_president_is_redirected_to_the_governor(
    live_server, registry, page: Page
):
    page.goto(live_server.url + reverse("petition-new"))
    page.get_by_label("Who should act on it?", exact=True).select_option(
        label="President of the United States"
    )
    page.get_by_label("What do you want them to do?", exact=True).fill(
        "Pardon Steven Avery and Brendan Dassey"
    )
    page.get_by_label("Why?", exact=True).fill(
        "Two men were convicted after a flawed investigation shown in a documentary."
    )
    page.get_by_label("Does it ask for a pardon or a commutation?").select_option("pardon")
    page.get_by_label("Who was convicted?").fill("Steven Avery and Brendan Dassey")
    page.get_by_label("Which court convicted them?").select_option("state:WI")
    page.get_by_label("Your full name", exact=True).fill("Jordan Rivera")
    page.get_by_label("Email address", exact=True).fill("jordan@example.org")
    page.get_by_label("Postal code", exact=True).fill("54220")
    page.get_by_label("Country", exact=True).select_option("US")
    page.get_by_role("button", name="Create petition").click()

    refusal = page.locator(".jurisdiction-refused")
    expect(refusal).to_contain_text("President of the United States cannot grant a pardon")
    expect(refusal).to_contain_text("Article II, Section 2")
    expect(refusal).to_contain_text("Governor of Wisconsin")
    assert not Petition.objects.exists(), "nothing is created while the check fails"

    refusal.get_by_role("button", name="Address Governor of Wisconsin instead").click()
    expect(page.get_by_role("heading", name="Check your email")).to_be_visible()
    petition = Petition.objects.get()
    assert [a.slug for a in petition.authorities.all()] == ["wi-governor"]
    assert (petition.request_action, petition.request_court) == ("pardon", "state:WI")
