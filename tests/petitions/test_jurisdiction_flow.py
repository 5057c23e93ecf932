"""The jurisdiction check in a petition's life: at creation, at publication, on its pages.

A petition asking for a pardon or commutation must be addressed to an
authority able to grant it before anyone signs: creation and publication are
refused otherwise, with the rule and who can act instead; free text that
looks like a clemency request must be described or explicitly left
unchecked; and every petition page says who can act on it.
"""

from __future__ import annotations

import html
import re

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from petitio.authorities.models import Authority, Power
from petitio.petitions.models import Petition, State
from petitio.petitions.services import (
    JurisdictionRefused,
    PetitionRequest,
    petition_create,
    petition_publish,
)
from petitio.signatures.models import Signature
from petitio.signatures.services import signature_token_issue
from tests.factories import published_petition

pytestmark = pytest.mark.django_db

AVERY = "Steven Avery and Brendan Dassey"
PARDON_ACTION = f"Pardon {AVERY}"
WISCONSIN_PARDON = PetitionRequest("pardon", AVERY, "state:WI")
PRESIDENT_CITATION = "US Constitution, Article II, Section 2, Clause 1"
GOVERNOR_CITATION = "Wisconsin Constitution, Article V, Section 6"


@pytest.fixture
def governor(registry) -> Authority:
    return Authority.objects.get(slug="wi-governor")


def create(authority: Authority, **overrides) -> Petition:
    fields = {
        "action": PARDON_ACTION,
        "background": "Two men convicted in Manitowoc County after a flawed investigation.",
        "creator_name": "Robin Creator",
        "creator_email": "robin@example.org",
        "postal_code": "53703",
        "country": "US",
        "request": WISCONSIN_PARDON,
    }
    fields.update(overrides)
    return petition_create(authority=authority, **fields)


def page(client, petition: Petition) -> str:
    response = client.get(reverse("petition-detail", args=[petition.pk]))
    assert response.status_code == 200
    return response.content.decode()


def text_of(markup: str) -> str:
    """The page as a reader sees it: tags dropped, entities decoded, spaces collapsed."""
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", markup)).split())


# --- Creation ----------------------------------------------------------------------------


def test_a_wisconsin_pardon_addressed_to_the_president_is_refused_naming_the_governor(
    president, governor
):
    with pytest.raises(JurisdictionRefused) as refused:
        create(president)
    check = refused.value.check
    assert not check.passed
    assert governor in [p.authority for p in check.can_act_instead]
    assert PRESIDENT_CITATION in str(refused.value)
    assert "Who can act: " in str(refused.value)
    assert "Governor of Wisconsin" in str(refused.value).split("Who can act: ")[1]
    assert not Petition.objects.exists(), "a refused petition must not be created"


def test_a_wisconsin_pardon_addressed_to_the_governor_is_created_with_its_request(governor):
    petition = create(governor)
    assert petition.state == State.DRAFT
    assert list(petition.authorities.all()) == [governor]
    assert (petition.request_action, petition.request_persons, petition.request_court) == (
        "pardon",
        AVERY,
        "state:WI",
    )
    assert not petition.request_unchecked


def test_a_wisconsin_pardon_addressed_to_the_president_and_the_governor_is_accepted(
    president, governor
):
    petition = create(president, also_to=[governor])
    assert set(petition.authorities.all()) == {president, governor}


def test_a_federal_pardon_addressed_to_the_governor_is_refused_naming_the_president(
    president, governor
):
    with pytest.raises(JurisdictionRefused) as refused:
        create(governor, request=PetitionRequest("pardon", "Jane Doe", "us-district"))
    assert president in [p.authority for p in refused.value.check.can_act_instead]
    assert GOVERNOR_CITATION in str(refused.value)


def test_free_text_that_looks_like_clemency_needs_the_structured_request(president):
    with pytest.raises(ValidationError) as invalid:
        create(president, action=f"Free {AVERY}", request=None)
    assert "request_action" in invalid.value.message_dict
    assert "pardon or clemency" in invalid.value.message_dict["request_action"][0]
    assert not Petition.objects.exists()


def test_a_clemency_word_in_the_background_also_asks_for_the_structured_request(president):
    with pytest.raises(ValidationError) as invalid:
        create(
            president,
            action="Review the Manitowoc County convictions",
            background="The Governor should pardon them both.",
            request=None,
        )
    assert "request_action" in invalid.value.message_dict


def test_declining_the_structured_request_publishes_it_marked_not_checked(client, president):
    petition = published_petition(
        president, action=f"Free {AVERY}", request=None, request_declined=True
    )
    assert petition.request_unchecked
    assert petition.request_action == ""
    assert "This request was not checked" in page(client, petition)


def test_a_petition_that_asks_for_no_clemency_is_not_marked_unchecked(client, president):
    petition = published_petition(president, request_declined=True)
    assert not petition.request_unchecked
    assert "This request was not checked" not in page(client, petition)


# --- Publication re-checks -----------------------------------------------------------------


def test_publication_is_refused_when_the_addressee_lost_the_power_meanwhile(client, governor):
    petition = create(governor)
    Power.objects.filter(authority=governor, action="pardon").delete()
    creator = Signature.objects.get(petition=petition, is_creator=True)
    token = signature_token_issue(signature=creator)

    answer = client.post(reverse("signature-confirm", args=[petition.pk, token]))

    assert answer.status_code == 409
    shown = text_of(answer.content.decode())
    assert "This petition cannot be published as it is" in shown
    assert "Governor of Wisconsin holds no power to grant a pardon." in shown
    petition.refresh_from_db()
    assert petition.state == State.DRAFT
    assert petition.published_at is None
    creator.refresh_from_db()
    assert creator.state == Signature.State.PENDING, "the refused confirmation must not count"


def test_publication_succeeds_while_the_addressee_can_grant_the_request(governor):
    petition = petition_publish(petition=create(governor))
    assert petition.state == State.GATHERING


# --- Through the page ------------------------------------------------------------------------


def form_data(**overrides) -> dict[str, str]:
    data = {
        "authority": "us-president",
        "action": PARDON_ACTION,
        "background": "Two men convicted in Manitowoc County after a flawed investigation.",
        "details": "",
        "request_action": "pardon",
        "request_persons": AVERY,
        "request_court": "state:WI",
        "name": "Robin Creator",
        "email": "robin@example.org",
        "postal_code": "53703",
        "country": "US",
        "seen_similar": "on",
    }
    data.update(overrides)
    return data


def test_the_form_shows_the_rule_and_one_click_buttons_for_the_governor(client, president):
    answer = client.post(reverse("petition-new"), form_data())
    assert answer.status_code == 400
    content = answer.content.decode()
    shown = text_of(content)
    assert "The authority you address cannot grant this request" in shown
    assert (
        "President of the United States cannot grant a pardon for a conviction in "
        "a court of the State of Wisconsin." in shown
    )
    assert PRESIDENT_CITATION in shown
    assert GOVERNOR_CITATION in shown
    assert re.search(
        r'<button[^>]*name="address_instead" value="wi-governor"[^>]*>\s*'
        r"Address Governor of Wisconsin instead\s*</button>",
        content,
    )
    assert re.search(
        r'<button[^>]*name="also_address" value="wi-governor"[^>]*>\s*'
        r"Also address Governor of Wisconsin\s*</button>",
        content,
    )
    assert not Petition.objects.exists()


def test_address_instead_creates_the_petition_addressed_to_the_governor_only(
    client, president, governor
):
    answer = client.post(reverse("petition-new"), form_data(address_instead="wi-governor"))
    assert answer.status_code == 302
    petition = Petition.objects.get()
    assert list(petition.authorities.all()) == [governor]
    assert petition.request_court == "state:WI"


def test_also_address_creates_the_petition_addressed_to_both(client, president, governor):
    answer = client.post(reverse("petition-new"), form_data(also_address="wi-governor"))
    assert answer.status_code == 302
    petition = Petition.objects.get()
    assert set(petition.authorities.all()) == {president, governor}


def test_the_form_asks_for_the_request_when_the_text_looks_like_clemency(client, president):
    data = form_data(action=f"Free {AVERY}", request_action="", request_persons="")
    data["request_court"] = ""
    answer = client.post(reverse("petition-new"), data)
    assert answer.status_code == 400
    assert "This petition seems to ask for a pardon or clemency" in text_of(answer.content.decode())
    assert not Petition.objects.exists()

    data["request_declined"] = "on"
    assert client.post(reverse("petition-new"), data).status_code == 302
    assert Petition.objects.get().request_unchecked


def test_the_petition_page_shows_who_can_act_with_the_citation_before_the_sign_form(
    client, governor
):
    petition = published_petition(governor, action=PARDON_ACTION, request=WISCONSIN_PARDON)
    content = page(client, petition)
    box = content.index("Who can act on this")
    sign = content.index('id="sign-h"')
    assert box < sign, "signers must see who can act before the sign form"
    between = text_of(content[box:sign])
    assert f"This petition asks for a pardon for {AVERY}" in between
    assert "a court of the State of Wisconsin" in between
    assert "Can act: Governor of Wisconsin can grant a pardon" in between
    assert GOVERNOR_CITATION in between
    assert 'href="https://docs.legis.wisconsin.gov/constitution/wi"' in content[box:sign]


def test_a_petition_without_a_structured_request_lists_its_addressees_in_the_box(client, president):
    petition = published_petition(president)
    content = page(client, petition)
    box = text_of(content[content.index("Who can act on this") : content.index('id="sign-h"')])
    assert "President of the United States" in box
    assert "makes no request the check reads" in box


# --- The demo story ----------------------------------------------------------------------------


def test_the_demo_story_shows_the_president_cannot_act_and_links_to_the_governor(client):
    from petitio.petitions.demo import STORY_ACTION, demo_load

    demo_load()
    story = Petition.objects.get(action=STORY_ACTION)
    assert story.action == PARDON_ACTION
    content = page(client, story)
    shown = text_of(content)

    assert (
        "Cannot act: President of the United States cannot grant a pardon for a conviction "
        "in a court of the State of Wisconsin." in shown
    )
    assert PRESIDENT_CITATION in shown
    assert "None of the addressees can grant this request." in shown
    link = f"/petitions/new/?authority=wi-governor&amp;from={story.pk}"
    assert f'href="{link}"' in content
    assert "Start this petition addressed to Governor of Wisconsin" in shown

    form = client.get(html.unescape(link))
    assert form.status_code == 200
    prefilled = form.content.decode()
    assert re.search(r'<option value="wi-governor"[^>]*\bselected\b', prefilled)
    assert re.search(rf'<input[^>]*name="action"[^>]*value="{PARDON_ACTION}"', prefilled)
    assert re.search(r'<option value="pardon"[^>]*\bselected\b', prefilled)
    assert re.search(rf'<input[^>]*name="request_persons"[^>]*value="{AVERY}"', prefilled)
    assert re.search(r'<option value="state:WI"[^>]*\bselected\b', prefilled)
