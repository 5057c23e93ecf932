"""The demo set, loaded through the service functions. Loading twice adds nothing.

It holds petitions in every state under both presets, a few thousand
signatures, and the story the project comes from: a petition asking the
President to pardon two men convicted in a Wisconsin state court, which
reached 129,895 signatures and was answered that the presidential pardon
power does not reach state convictions. Dates of the story are approximate.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from django.contrib.auth.models import Permission, User
from django.db import transaction
from django.utils import timezone

from petitio.authorities.models import Authority, Official
from petitio.authorities.services import authorities_load
from petitio.petitions.models import Addressee, Petition, RejectionReason, State
from petitio.petitions.services import (
    PetitionRequest,
    petition_approve,
    petition_create,
    petition_reject,
    petition_remove,
    petition_request_record,
    petitions_close_due,
)
from petitio.responses.services import response_publish
from petitio.signatures.canonical import email_canonicalize
from petitio.signatures.models import Signature
from petitio.signatures.services import (
    Signer,
    signature_confirm,
    signature_token_issue,
    signatures_import_verified,
)
from petitio.signatures.tally import tally_run

DEMO_PASSWORD = "petitio-demo"  # noqa: S105 - embedded demo accounts only, printed by the run command
STORY_ACTION = "Pardon Steven Avery and Brendan Dassey"
STORY_RESPONSE = """\
Thank you for writing about the convictions of Steven Avery and Brendan Dassey.

The President's power to pardon reaches only offences against the United States: \
convictions in the federal district courts, in the Superior Court of the District of \
Columbia, and by military courts-martial. Mr. Avery and Mr. Dassey were convicted in a \
Wisconsin court under Wisconsin law. They are state prisoners, so the President cannot \
pardon them.

A pardon or commutation for a state conviction can come only from the authorities of \
that state. In Wisconsin that is the Governor, advised by the state's pardon process. \
If you want to pursue clemency in this case, that is where the request must go.

We understand why so many of you signed, and we wanted you to know who can act."""

FIRST = ["Alex", "Sam", "Jordan", "Taylor", "Morgan", "Casey", "Riley", "Jamie", "Avery", "Quinn"]
LAST = ["Smith", "Jones", "Garcia", "Brown", "Patel", "Nguyen", "Kowalski", "Okafor", "Lee"]


@dataclass(frozen=True)
class DemoPetition:
    authority: str
    action: str
    background: str
    target: State
    signatures: int = 0
    days_ago: int = 0
    reason: RejectionReason | None = None
    also_to: tuple[str, ...] = ()


def _signers(key: str, count: int, country: str) -> Iterator[Signer]:
    rng = random.Random(key)
    for i in range(count):
        email = f"signer{i}.{key}@example.invalid"
        postal = (
            f"{rng.randint(10000, 99999)}" if country == "US" else f"SW1A {rng.randint(1, 9)}AA"
        )
        yield Signer(
            name=f"{rng.choice(FIRST)} {rng.choice(LAST)}",
            email=email,
            email_canonical=email_canonicalize(email),
            postal_code=postal,
            country=country,
            region="",
        )


def _create(spec: DemoPetition, key: str, now: datetime) -> Petition:
    authority = Authority.objects.get(slug=spec.authority)
    return petition_create(
        action=spec.action,
        background=spec.background,
        authority=authority,
        also_to=list(Authority.objects.filter(slug__in=spec.also_to)),
        request_declined=True,
        creator_name="Jordan Rivera" if key == "story" else f"Demo creator {key.upper()}",
        creator_email=f"creator.{key}@example.invalid",
        postal_code="53201" if authority.country == "US" else "SW1A 1AA",
        country=authority.country,
        eligible=True,
        now=now,
    )


def _confirm_creator(petition: Petition, now: datetime) -> None:
    creator = Signature.objects.get(petition=petition, is_creator=True)
    signature_confirm(petition=petition, token=signature_token_issue(signature=creator), now=now)


def _grow(petition: Petition, key: str, count: int, at: datetime) -> None:
    country = "US" if petition.policy.slug == "we-the-people" else "GB"
    signatures_import_verified(
        petition=petition, signers=_signers(key, count, country), verified_at=at
    )
    while tally_run(now=at).counted:
        pass
    petition.refresh_from_db()


def _users() -> dict[str, User]:
    user_model = User
    users = {}
    for username, authority in (
        ("moderator", None),
        ("official-us", "us-president"),
        ("official-uk", "uk-government"),
        ("official-wi", "wi-governor"),
    ):
        user, created = user_model.objects.get_or_create(
            username=username, defaults={"is_staff": True, "first_name": username.title()}
        )
        if created:
            user.set_password(DEMO_PASSWORD)
            user.save()
        if authority:
            Official.objects.get_or_create(
                user=user, authority=Authority.objects.get(slug=authority)
            )
        else:
            user.user_permissions.add(Permission.objects.get(codename="moderate_petition"))
        users[username] = user
    return users


CATALOGUE = [
    DemoPetition(
        "us-president",
        "Fund every public library for longer opening hours",
        "Libraries are the last free indoor public space in many towns.",
        State.DRAFT,
    ),
    DemoPetition(
        "us-president",
        "Make daylight saving time permanent",
        "Changing clocks twice a year harms sleep and road safety.",
        State.GATHERING,
        40,
        3,
    ),
    DemoPetition(
        "us-president",
        "Require plain-language summaries of every federal rule",
        "People should be able to read the rules they must follow.",
        State.OPEN,
        2400,
        10,
    ),
    DemoPetition(
        "us-president",
        "Protect the night sky with national lighting standards",
        "Light pollution hides the stars from most Americans.",
        State.CLOSED,
        300,
        45,
    ),
    DemoPetition(
        "us-president",
        "Rename a holiday after a fictional character",
        "It would be funny.",
        State.REMOVED,
        20,
        5,
    ),
    DemoPetition(
        "madison-council",
        "Open a public defender review office in Madison",
        "People convicted without a proper defence deserve a second look.",
        State.OPEN,
        1400,
        15,
        also_to=("wi-governor",),
    ),
    DemoPetition(
        "uk-government",
        "Provide free school meals to every primary pupil",
        "No child should learn on an empty stomach.",
        State.GATHERING,
        3,
        2,
    ),
    DemoPetition(
        "uk-government",
        "Ban disposable vapes",
        "Disposable vapes litter streets and harm children.",
        State.PENDING,
        6,
        1,
    ),
    DemoPetition(
        "uk-government",
        "Fund lifeguards on every public beach",
        "Drownings rise every summer where no lifeguard watches.",
        State.OPEN,
        1500,
        20,
    ),
    DemoPetition(
        "uk-government",
        "Lower the voting age to 16 in general elections",
        "Sixteen-year-olds can work and pay tax.",
        State.AWAITING_RESPONSE,
        10200,
        5,
    ),
    DemoPetition(
        "uk-government",
        "Publish the waiting times of every NHS hospital weekly",
        "Patients deserve to compare waiting times.",
        State.AWAITING_RESPONSE,
        10050,
        45,
    ),
    DemoPetition(
        "uk-government",
        "Cap rail fares at the rate of inflation",
        "Fares rose faster than wages for a decade.",
        State.RESPONDED,
        12000,
        60,
    ),
    DemoPetition(
        "uk-government",
        "Build more cycle lanes in every city",
        "Safe lanes would get more people cycling.",
        State.REJECTED,
        6,
        3,
        RejectionReason.DUPLICATE,
    ),
    DemoPetition(
        "uk-government",
        "Insult a named politician",
        "Abusive text that a moderator hid.",
        State.HIDDEN,
        6,
        3,
        RejectionReason.OFFENSIVE,
    ),
]


@transaction.atomic
def demo_load() -> list[Petition]:
    """Load the demo set; petitions that exist already (by action) are left alone."""
    authorities_load()
    users = _users()
    now = timezone.now()
    loaded = []
    if not Petition.objects.filter(action=STORY_ACTION).exists():
        loaded.append(_story(users))
    for index, spec in enumerate(CATALOGUE):
        if Petition.objects.filter(action=spec.action).exists():
            continue
        loaded.append(_build(spec, f"p{index}", now - timedelta(days=spec.days_ago), now, users))
    return loaded


def _build(spec: DemoPetition, key: str, start: datetime, now: datetime, users) -> Petition:
    petition = _create(spec, key, start)
    if spec.target == State.DRAFT:
        return petition
    _confirm_creator(petition, start)
    uk = petition.policy.requires_moderation
    supporters = min(spec.signatures, petition.policy.supporters_needed + 1) if uk else 0
    if supporters:
        _grow(petition, f"{key}s", supporters - 1, start)
    if uk and spec.target not in (State.GATHERING, State.PENDING, State.REJECTED, State.HIDDEN):
        petition_approve(petition=petition, by=users["moderator"], now=start)
    remaining = spec.signatures - petition.signature_count
    if remaining > 0 and spec.target not in (State.REJECTED, State.HIDDEN):
        _grow(petition, key, remaining, start + timedelta(hours=1))
    if spec.target == State.CLOSED:
        petitions_close_due(now=now)
    elif spec.target == State.REMOVED:
        petition_remove(petition=petition, by=users["moderator"], reason="A joke, not a request.")
    elif spec.target in (State.REJECTED, State.HIDDEN):
        original = Petition.objects.filter(action__startswith="Fund lifeguards").first()
        petition_reject(
            petition=petition,
            by=users["moderator"],
            reason=spec.reason or RejectionReason.NO_ACTION,
            details="",
            duplicate_of=original if spec.reason == RejectionReason.DUPLICATE else None,
        )
    elif spec.target == State.RESPONDED:
        response_publish(
            addressee=petition.addressees.get(),
            summary="The government will ask the rail regulator to review the fare cap.",
            body="We thank everyone who signed. Fares are set each year by a formula; "
            "we will ask the regulator to report on capping rises at inflation.",
            by=users["official-uk"],
            now=start + timedelta(days=10),
            email_signers=False,
        )
    petition.refresh_from_db()
    return petition


def _story(users) -> Petition:
    """The 2015 petition, as it happened on We the People (dates approximate)."""
    submitted = datetime(2015, 12, 20, 15, 0, tzinfo=UTC)
    spec = DemoPetition(
        "us-president",
        STORY_ACTION,
        "Two men from Manitowoc County, Wisconsin, were convicted after what many "
        "believe was a flawed investigation, shown in a documentary series.",
        State.RESPONDED,
    )
    petition = _create(spec, "story", submitted)
    _confirm_creator(petition, submitted)
    # The check did not exist in 2015: record the request the petition made,
    # so its page shows what should have happened.
    petition_request_record(
        petition=petition,
        request=PetitionRequest("pardon", "Steven Avery and Brendan Dassey", "state:WI"),
    )
    _grow(petition, "story-early", 149, submitted + timedelta(hours=6))
    _grow(petition, "story", 129_895 - petition.signature_count, submitted + timedelta(days=12))
    addressee: Addressee = petition.addressees.get()
    response_publish(
        addressee=addressee,
        summary="The President cannot pardon state convictions; only Wisconsin's authorities can.",
        body=STORY_RESPONSE,
        by=users["official-us"],
        now=submitted + timedelta(days=29),
        email_signers=False,
    )
    petitions_close_due(now=submitted + timedelta(days=31))
    petition.refresh_from_db()
    return petition
