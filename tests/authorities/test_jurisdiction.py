"""The jurisdiction check: can the addressed authority grant the pardon or commutation asked for?

The rule is the registry's data: an authority can act when one of its powers
for the requested action lists the convicting court. When none of the
addressees can, the explanation names the rule and its citation, and the
check lists who can act instead. A light detector spots free text that looks
like a clemency request.
"""

from __future__ import annotations

import pytest

from petitio.authorities.jurisdiction import clemency_request_detect, jurisdiction_check
from petitio.authorities.models import Authority, Power, ResponsePolicy

pytestmark = pytest.mark.django_db

PRESIDENT_CITATION = "US Constitution, Article II, Section 2, Clause 1"
GOVERNOR_CITATION = "Wisconsin Constitution, Article V, Section 6"
BOARD_CITATION = "Constitution of Georgia, Article IV, Section II, Paragraph II"
UNCONFIRMED_NOTE = "rule's source is not yet confirmed"

FEDERAL_COURTS = ["us-district", "dc-superior", "court-martial"]
ALL_COURTS = [*FEDERAL_COURTS, "state:WI", "state:TX", "state:GA"]

# Who can grant a pardon for a conviction in each court, among the three kinds tested.
CAN_PARDON = {
    "us-district": {"us-president"},
    "dc-superior": {"us-president"},
    "court-martial": {"us-president"},
    "state:WI": {"wi-governor"},
    "state:TX": set(),
    "state:GA": {"ga-pardons-board"},
}


@pytest.fixture
def governor(registry) -> Authority:
    return Authority.objects.get(slug="wi-governor")


@pytest.fixture
def board(registry) -> Authority:
    """An independent pardon board (Georgia's kind): boards are data, like any authority.

    Its power is left unconfirmed, as a reviewer would before checking the source."""
    authority = Authority.objects.create(
        slug="ga-pardons-board",
        name="Georgia State Board of Pardons and Paroles",
        kind="independent board",
        country="US",
        region="Georgia",
        policy=ResponsePolicy.objects.get(slug="we-the-people"),
    )
    Power.objects.create(
        authority=authority,
        action="pardon",
        courts=["state:GA"],
        scope="Offences under Georgia law, after conviction; the Governor holds no pardon power.",
        citation=BOARD_CITATION,
        source_url="https://pap.georgia.gov/",
        confirmed=False,
    )
    return authority


@pytest.fixture
def three_kinds(president, governor, board) -> list[Authority]:
    return [president, governor, board]


def check_one(authority: Authority, court: str, action: str = "pardon"):
    return jurisdiction_check(action=action, court=court, authorities=[authority])


# --- Each court kind against a president, a governor and a board -------------------------


@pytest.mark.parametrize("court", ALL_COURTS)
def test_only_an_authority_whose_pardon_power_lists_the_convicting_court_can_pardon(
    court, three_kinds
):
    for authority in three_kinds:
        check = check_one(authority, court)
        expected = authority.slug in CAN_PARDON[court]
        assert check.passed is expected, (authority.slug, court)
        (finding,) = check.findings
        assert finding.authority == authority
        assert finding.can_act is expected


@pytest.mark.parametrize("court", ALL_COURTS)
def test_commutation_follows_the_commute_power_and_a_board_without_one_cannot(court, three_kinds):
    can_commute = CAN_PARDON[court] - {"ga-pardons-board"}
    for authority in three_kinds:
        assert check_one(authority, court, "commute").passed is (authority.slug in can_commute), (
            authority.slug,
            court,
        )


@pytest.mark.parametrize(
    ("court", "label"),
    [
        ("us-district", "a US District Court (a federal conviction)"),
        ("dc-superior", "the Superior Court of the District of Columbia"),
        ("court-martial", "a military court-martial"),
    ],
)
def test_the_president_can_pardon_federal_convictions_citing_article_ii(court, label, president):
    (finding,) = check_one(president, court).findings
    assert finding.explanation.startswith(
        f"President of the United States can grant a pardon for a conviction in {label}: "
    )
    assert PRESIDENT_CITATION in finding.explanation
    assert UNCONFIRMED_NOTE not in finding.explanation  # the power's source was checked


def test_the_president_cannot_pardon_a_wisconsin_conviction_and_is_told_why(president):
    (finding,) = check_one(president, "state:WI").findings
    assert finding.power is not None and finding.power.action == "pardon"
    explanation = finding.explanation
    assert explanation.startswith(
        "President of the United States cannot grant a pardon for a conviction in "
        "a court of the State of Wisconsin."
    )
    assert "Its power covers only: Offences against the United States" in explanation
    assert "Not offences under state law." in explanation
    assert f"({PRESIDENT_CITATION})" in explanation


def test_the_governor_of_wisconsin_can_pardon_a_wisconsin_conviction_citing_the_state_constitution(
    governor,
):
    (finding,) = check_one(governor, "state:WI").findings
    assert finding.can_act
    assert finding.explanation.startswith(
        "Governor of Wisconsin can grant a pardon for a conviction in "
        "a court of the State of Wisconsin: Offences under Wisconsin law"
    )
    assert f"({GOVERNOR_CITATION})" in finding.explanation


@pytest.mark.parametrize("court", [*FEDERAL_COURTS, "state:TX"])
def test_the_governor_of_wisconsin_cannot_pardon_outside_wisconsin_and_is_told_why(court, governor):
    (finding,) = check_one(governor, court).findings
    assert not finding.can_act
    assert "Governor of Wisconsin cannot grant a pardon for a conviction in" in (
        finding.explanation
    )
    assert "Its power covers only: Offences under Wisconsin law" in finding.explanation
    assert f"({GOVERNOR_CITATION})" in finding.explanation


def test_a_texas_conviction_names_the_state_of_texas_in_every_refusal(three_kinds):
    check = jurisdiction_check(action="pardon", court="state:TX", authorities=three_kinds)
    assert not check.passed
    for finding in check.findings:
        assert "a court of the State of Texas" in finding.explanation, finding.authority.slug


def test_a_board_can_pardon_a_conviction_in_its_own_state_only(board):
    (finding,) = check_one(board, "state:GA").findings
    assert finding.can_act
    assert finding.explanation.startswith(
        "Georgia State Board of Pardons and Paroles can grant a pardon for a conviction in "
        "a court of the State of Georgia: Offences under Georgia law"
    )
    assert BOARD_CITATION in finding.explanation
    (elsewhere,) = check_one(board, "us-district").findings
    assert not elsewhere.can_act
    assert BOARD_CITATION in elsewhere.explanation


def test_an_authority_without_the_power_for_the_action_says_it_holds_none(board):
    (finding,) = check_one(board, "state:GA", "commute").findings
    assert finding.power is None
    assert finding.explanation == (
        "Georgia State Board of Pardons and Paroles holds no power to grant "
        "a commutation of sentence."
    )


def test_the_uk_government_cannot_pardon_any_us_conviction_and_cites_the_royal_prerogative(
    uk_government,
):
    for court in ["us-district", "dc-superior", "court-martial", "state:WI", "state:TX"]:
        (finding,) = check_one(uk_government, court).findings
        assert not finding.can_act, court
        assert "UK Government and Parliament cannot grant a pardon" in finding.explanation
        assert "Royal Prerogative of Mercy" in finding.explanation


# --- Unconfirmed powers ----------------------------------------------------------------------


def test_a_confirmed_power_carries_no_unconfirmed_note(governor):
    (finding,) = check_one(governor, "state:WI").findings
    assert finding.power is not None and finding.power.confirmed
    assert UNCONFIRMED_NOTE not in finding.explanation


def test_an_unconfirmed_power_that_can_act_is_flagged_in_the_explanation(board):
    (finding,) = check_one(board, "state:GA").findings
    assert finding.can_act
    assert UNCONFIRMED_NOTE in finding.explanation


@pytest.mark.parametrize(
    ("slug", "court"),
    [("uk-government", "us-district"), ("ga-pardons-board", "state:WI")],
    ids=["uk-royal-prerogative", "georgia-board"],
)
def test_an_unconfirmed_power_quoted_as_the_reason_for_a_refusal_is_flagged_too(
    slug, court, board, uk_government
):
    """A refusal that rests on an unchecked rule must say the rule is unchecked."""
    (finding,) = check_one(Authority.objects.get(slug=slug), court).findings
    assert not finding.can_act
    assert finding.power is not None and not finding.power.confirmed
    assert UNCONFIRMED_NOTE in finding.explanation


# --- Who can act instead ------------------------------------------------------------------
#
# The registry grows (every state's pardon authority is data), so these tests
# name the authority that must be suggested and check that every suggestion
# really can act, rather than pin the whole list.


def assert_every_suggestion_can_act(check, addressed: list[Authority]) -> None:
    for power in check.can_act_instead:
        assert power.action == check.action
        assert check.court in power.courts, power.authority.slug
        assert power.authority not in addressed, power.authority.slug


def test_a_wisconsin_pardon_addressed_to_the_president_names_the_governor_as_who_can_act(
    president, governor, board
):
    check = check_one(president, "state:WI")
    suggested = {p.authority: p for p in check.can_act_instead}
    assert governor in suggested
    assert suggested[governor].citation == GOVERNOR_CITATION
    assert_every_suggestion_can_act(check, [president])
    assert "Who can act: " in check.summary()
    assert "Governor of Wisconsin" in check.summary().split("Who can act: ")[1]
    assert PRESIDENT_CITATION in check.summary()


def test_a_wisconsin_commutation_points_to_the_governors_commute_power(president, governor):
    check = check_one(president, "state:WI", "commute")
    suggested = {p.authority: p for p in check.can_act_instead}
    assert suggested[governor].action == "commute"
    assert_every_suggestion_can_act(check, [president])


@pytest.mark.parametrize("court", FEDERAL_COURTS)
def test_a_federal_conviction_addressed_to_a_governor_and_a_board_names_the_president(
    court, president, governor, board
):
    check = jurisdiction_check(action="pardon", court=court, authorities=[governor, board])
    assert not check.passed
    assert president in [p.authority for p in check.can_act_instead]
    assert_every_suggestion_can_act(check, [governor, board])
    assert "President of the United States" in check.summary().split("Who can act: ")[1]


def test_a_georgia_conviction_addressed_to_the_president_names_the_board(president, board):
    check = check_one(president, "state:GA")
    assert board in [p.authority for p in check.can_act_instead]
    assert_every_suggestion_can_act(check, [president])


def test_when_nobody_in_the_registry_can_act_the_summary_names_nobody(president, governor):
    """A state whose pardon authority is not (yet) in the registry."""
    Power.objects.filter(
        pk__in=[p.pk for p in Power.objects.all() if "state:TX" in p.courts]
    ).delete()
    check = jurisdiction_check(action="pardon", court="state:TX", authorities=[president, governor])
    assert not check.passed
    assert check.can_act_instead == []
    assert "Who can act" not in check.summary()


def test_one_addressee_that_can_act_is_enough_and_nobody_else_is_suggested(president, governor):
    check = jurisdiction_check(action="pardon", court="state:WI", authorities=[president, governor])
    assert check.passed
    assert [f.can_act for f in check.findings] == [False, True]
    assert check.can_act_instead == []
    assert check.summary() == ""


# --- The free-text detector --------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "Pardon Steven Avery",
        "pardon steven avery",
        "Grant clemency to Leonard Peltier",
        "Commute the sentence of Jane Doe",
        "The Governor should commute her sentence",
        "Exonerate the Central Park Five",
        "Free Steven Avery and Brendan Dassey",
        "We ask you to free Steven Avery now",
        "Release them",
        "Free him",
        "Issue pardons for every nonviolent offender",
        "Steven Avery must be pardoned",
    ],
)
def test_detector_spots_a_clemency_request(text):
    assert clemency_request_detect(text)


@pytest.mark.parametrize(
    "text",
    [
        "Provide free school meals",
        "Make parking free of charge",
        "Release the budget figures",
        "Free public transport for students",
        "Protect free speech on campus",
        "Free up space in school libraries",
        "Release the minutes of every council meeting",
        "Offer free wifi in every library",
        "Plant 100 trees along every school road",
    ],
)
def test_detector_leaves_ordinary_requests_alone(text):
    assert not clemency_request_detect(text)
