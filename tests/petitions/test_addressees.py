"""Several addressees share one count, each with its own milestones, deadline and response;
and a quorum by population computes an authority's threshold from the people it serves."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from petitio.authorities.models import Authority
from petitio.petitions.models import Addressee, MilestoneReached, Petition, State
from petitio.responses.models import Response
from petitio.responses.services import response_fanout, response_publish
from petitio.signatures.models import Signature
from tests.factories import add_verified, deliver_all, official_of, open_petition, small_authority

pytestmark = pytest.mark.django_db


@pytest.fixture
def county(registry) -> Authority:
    """A second small authority with other rules than ``council``: no listing
    milestone, a response owed at 8 signatures, due 20 days later."""
    return small_authority(
        slug="small-county",
        name="Small County Board",
        kind="county board",
        contact_email="clerk@county.example.org",
        milestones=[
            {"kind": "response", "signatures": 8, "window_days": 30, "response_days": 20},
        ],
    )


@pytest.fixture
def madison(registry) -> Authority:
    return Authority.objects.get(slug="madison-council")


def addressee(petition: Petition, authority: Authority) -> Addressee:
    return Addressee.objects.get(petition=petition, authority=authority)


def reached_kinds(petition: Petition, authority: Authority) -> set[str]:
    return set(
        MilestoneReached.objects.filter(
            addressee__petition=petition, addressee__authority=authority
        ).values_list("milestone__kind", flat=True)
    )


def page(client, petition: Petition) -> str:
    response = client.get(reverse("petition-detail", args=[petition.pk]))
    assert response.status_code == 200
    return response.content.decode()


# --- One count, milestones by each addressee's policy ---------------------------------------


def test_two_addressees_share_one_count_and_each_fires_milestones_by_its_own_policy(
    council, president
):
    petition = open_petition(council, also_to=[president])
    add_verified(petition, 4)  # with the creator: 5 signatures

    assert petition.signature_count == 5
    assert reached_kinds(petition, council) == {"listing", "response"}
    assert reached_kinds(petition, president) == set(), "the President lists at 150"
    assert addressee(petition, council).response_due_at is not None
    assert addressee(petition, president).response_due_at is None
    assert petition.state == State.AWAITING_RESPONSE

    add_verified(petition, 144)  # 149
    assert reached_kinds(petition, president) == set()
    add_verified(petition, 1)  # 150
    assert petition.signature_count == 150
    assert reached_kinds(petition, president) == {"listing"}
    assert addressee(petition, president).response_due_at is None, "its response is at 100,000"
    assert reached_kinds(petition, council) == {"listing", "response"}, "nothing fires twice"


def test_the_petition_page_shows_each_addressees_progress_against_the_one_count(
    client, council, president
):
    petition = open_petition(council, also_to=[president])
    add_verified(petition, 4)
    content = page(client, petition)
    assert 'id="signature-count">5<' in content
    assert content.count('id="signature-count"') == 1
    council_panel = content[content.index("<h3>Small Town Council</h3>") :]
    president_panel = content[content.index("<h3>President of the United States</h3>") :]
    assert "Next: 150 signatures: publicly listed" in president_panel
    assert "Response due by" in council_panel.split("<h3>")[1]
    assert "Response due by" not in president_panel.split("<h3>")[1]


def test_each_addressee_gets_its_own_response_deadline_when_it_reaches_its_own_threshold(
    council, county
):
    start = timezone.now() - timedelta(days=3)
    petition = open_petition(council, also_to=[county], now=start)

    first = start + timedelta(days=1)
    add_verified(petition, 4, now=first)  # 5: the council's response threshold
    assert addressee(petition, council).response_due_at == first + timedelta(days=10)
    assert addressee(petition, county).response_due_at is None

    second = start + timedelta(days=2)
    add_verified(petition, 3, now=second)  # 8: the county's
    assert addressee(petition, county).response_due_at == second + timedelta(days=20)
    assert addressee(petition, council).response_due_at == first + timedelta(days=10), (
        "a later milestone of another addressee must not move this deadline"
    )


# --- Officials answer only their own addressee ------------------------------------------------


@pytest.fixture
def owed_by_both(council, county) -> Petition:
    petition = open_petition(council, also_to=[county])
    add_verified(petition, 7)  # 8: both owe a response
    return petition


def test_an_official_sees_only_the_addressee_of_their_own_authority(
    client, owed_by_both, council, county
):
    own, other = addressee(owed_by_both, council), addressee(owed_by_both, county)
    county_only = open_petition(county, action="Repave the county road to the school")
    add_verified(county_only, 7)

    client.force_login(official_of(council))
    dashboard = client.get(reverse("official-dashboard"))

    assert dashboard.status_code == 200
    content = dashboard.content.decode()
    assert reverse("response-edit", args=[own.pk]) in content
    assert reverse("response-edit", args=[other.pk]) not in content
    assert county_only.action not in content


def test_an_official_cannot_open_or_answer_another_authoritys_addressee(
    client, owed_by_both, council, county
):
    other = addressee(owed_by_both, county)
    client.force_login(official_of(council))
    url = reverse("response-edit", args=[other.pk])

    assert client.get(url).status_code == 403
    answer = client.post(url, {"summary": "Not ours to give.", "body": "A reply."})
    assert answer.status_code == 403
    assert not Response.objects.exists()


def test_an_official_answers_their_own_addressee_and_the_other_still_owes_its_response(
    client, owed_by_both, council, county
):
    client.force_login(official_of(council))
    answer = client.post(
        reverse("response-edit", args=[addressee(owed_by_both, council).pk]),
        {"summary": "The council agrees.", "body": "We will act on it this year."},
    )
    assert answer.status_code == 302
    assert Response.objects.get().addressee.authority == council
    owed_by_both.refresh_from_db()
    assert owed_by_both.state == State.AWAITING_RESPONSE, "the county has not answered yet"


# --- Each response emailed once ----------------------------------------------------------------


def test_each_response_is_emailed_once_to_each_verified_signer(
    client, owed_by_both, council, county, mailbox
):
    deliver_all()
    mailbox.clear()
    for authority in (council, county):
        response_publish(
            addressee=addressee(owed_by_both, authority),
            summary=f"{authority.name} agrees.",
            body=f"{authority.name} will act on it this year.",
            by=official_of(authority),
        )
    deliver_all()
    deliver_all()
    for response in Response.objects.all():  # a re-run of the fan-out queues nobody again
        assert response_fanout(response=response) == 0
    deliver_all()

    signers = list(
        Signature.objects.filter(petition=owed_by_both, state=Signature.State.VERIFIED).values_list(
            "email", flat=True
        )
    )
    assert len(signers) == 8
    for email in signers:
        subjects = sorted(m["Subject"] for m in mailbox.to(email) if "responded" in m["Subject"])
        assert subjects == [
            f"Small County Board responded: {owed_by_both.action}",
            f"Small Town Council responded: {owed_by_both.action}",
        ], email

    owed_by_both.refresh_from_db()
    assert owed_by_both.state == State.RESPONDED
    content = page(client, owed_by_both)
    assert "Response from Small Town Council" in content
    assert "Response from Small County Board" in content


# --- Quorum by population ---------------------------------------------------------------------


def test_madisons_response_threshold_is_half_a_percent_of_its_population(madison):
    response = madison.policy.milestones.get(kind="response")
    assert madison.population == 269_840
    assert response.threshold_for(madison) == 1_350  # 0.5% of 269,840 = 1,349.2, rounded up
    assert madison.policy.milestones.get(kind="listing").threshold_for(madison) == 10


@pytest.mark.parametrize(
    ("population", "threshold"),
    [(1_000, 100), (20_000, 100), (20_001, 101), (10_000_000, 50_000), (340_110_988, 50_000)],
    ids=["floor", "floor-exact", "just-above-floor", "ceiling", "country-capped"],
)
def test_the_population_quorum_keeps_to_its_floor_and_ceiling(madison, population, threshold):
    place = Authority.objects.create(
        slug=f"place-{population}",
        name=f"A place of {population:,}",
        kind="city council",
        country="US",
        population=population,
        population_source="Test figure",
        population_year=2024,
        policy=madison.policy,
    )
    assert madison.policy.milestones.get(kind="response").threshold_for(place) == threshold


def test_a_response_is_owed_at_1350_signatures_to_madison_and_not_at_1349(madison):
    petition = open_petition(madison, action="Keep Madison libraries open on Sundays")
    add_verified(petition, 1_348)  # with the creator: 1,349

    assert petition.signature_count == 1_349
    assert petition.state == State.OPEN, "listed at 10"
    assert addressee(petition, madison).response_due_at is None

    add_verified(petition, 1)
    assert petition.signature_count == 1_350
    assert petition.state == State.AWAITING_RESPONSE
    assert addressee(petition, madison).response_due_at is not None
    (reached,) = MilestoneReached.objects.filter(
        addressee__petition=petition, milestone__kind="response"
    )
    assert reached.signature_count == 1_350


def test_the_petition_page_shows_the_computed_threshold_the_formula_and_the_source(client, madison):
    petition = open_petition(madison, action="Keep Madison libraries open on Sundays")
    add_verified(petition, 10)
    content = page(client, petition)
    assert "Next: 1,350 signatures: response owed" in content
    assert "<li>1,350: response owed" in content
    (quorum,) = re.findall(r'<span class="muted quorum">(.*?)</span>', content)
    assert quorum.startswith("Quorum by population: 0.5% of the population")
    assert "269,840 people" in quorum
    assert quorum.endswith("(US Census Bureau, 2020 Census (City of Madison, Wisconsin), 2020)")
