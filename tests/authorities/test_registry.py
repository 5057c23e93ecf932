"""The authority registry: the shipped data, validation, loading, the command."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from django.core.management import call_command
from django.core.management.base import CommandError

from petitio.authorities.models import Authority, Milestone, Power, ResponsePolicy
from petitio.authorities.schema import registry_validate
from petitio.authorities.services import (
    DEFAULT_REGISTRY_PATH,
    RegistryError,
    authorities_load,
    registry_read,
)


@pytest.fixture(autouse=True)
def empty_registry(request):
    """These tests load the registry themselves: start each from empty tables
    (the session loads it once for every other test; this rolls back)."""
    if "django_db" not in {m.name for m in request.node.iter_markers()}:
        return
    request.getfixturevalue("db")
    Authority.objects.all().delete()
    ResponsePolicy.objects.all().delete()


def shipped() -> dict:
    return yaml.safe_load(DEFAULT_REGISTRY_PATH.read_text(encoding="utf-8"))


def write(tmp_path: Path, data: dict) -> Path:
    path = tmp_path / "authorities.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    return path


def errors_of(data: dict) -> list[str]:
    with pytest.raises(RegistryError) as caught:
        registry_validate(data)
    return caught.value.errors


# The shipped file


def test_shipped_file_validates():
    registry = registry_read(path=DEFAULT_REGISTRY_PATH)
    assert {"we-the-people", "uk-parliament", "population-quorum"} <= {
        p.slug for p in registry.policies
    }
    assert {"us-president", "uk-government", "wi-governor"} <= {
        a.slug for a in registry.authorities
    }


def test_shipped_contact_emails_are_undeliverable():
    registry = registry_read(path=DEFAULT_REGISTRY_PATH)
    for authority in registry.authorities:
        assert authority.contact_email.endswith(".invalid"), authority.slug


def test_shipped_powers_point_to_the_right_authority():
    powers = {a.slug: a.powers for a in registry_read(path=DEFAULT_REGISTRY_PATH).authorities}
    president = {p.action: p for p in powers["us-president"]}
    assert "Article II, Section 2, Clause 1" in president["pardon"].citation
    assert "state" in president["pardon"].scope
    assert president["pardon"].source_url == "https://www.justice.gov/pardon"
    governor = {p.action: p for p in powers["wi-governor"]}
    assert "Article V, Section 6" in governor["pardon"].citation
    assert {p.action for p in powers["uk-government"]} == {"pardon"}
    assert not powers["uk-government"][0].confirmed


@pytest.mark.django_db
def test_shipped_file_loads():
    report = authorities_load()
    assert report.created == ResponsePolicy.objects.count() + Milestone.objects.count() + (
        Authority.objects.count() + Power.objects.count()
    )
    assert (report.updated, report.deleted) == (0, 0)

    president = Authority.objects.select_related("policy").get(slug="us-president")
    assert president.name == "President of the United States"
    assert president.kind == "head of government"
    assert president.country == "US"
    assert president.population == 340_110_988
    assert "Census" in president.population_source
    assert president.time_zone == "America/New_York"
    assert president.contact_email == "president@petitio.invalid"
    assert president.policy.slug == "we-the-people"
    assert president.description

    uk = Authority.objects.get(slug="uk-government")
    assert (uk.country, uk.time_zone, uk.policy.slug) == ("GB", "Europe/London", "uk-parliament")
    assert "ONS" in uk.population_source

    governor = Authority.objects.get(slug="wi-governor")
    assert (governor.kind, governor.country, governor.region) == ("governor", "US", "Wisconsin")
    assert (governor.time_zone, governor.policy.slug) == ("America/Chicago", "we-the-people")


@pytest.mark.django_db
def test_loading_twice_changes_nothing():
    first = authorities_load()
    second = authorities_load()
    assert first.created > 0
    assert (second.created, second.updated, second.deleted) == (0, 0, 0)
    assert second.unchanged == first.created


@pytest.mark.django_db
def test_we_the_people_preset():
    authorities_load()
    policy = ResponsePolicy.objects.get(slug="we-the-people")
    assert not policy.requires_moderation
    assert policy.supporters_needed == 0
    assert (policy.open_months, policy.open_days) == (0, 30)
    assert policy.late_confirmation_hours == 24
    assert policy.eligibility == ""
    milestones = {m.kind: m for m in policy.milestones.all()}
    assert set(milestones) == {"listing", "response"}
    listing, response = milestones["listing"], milestones["response"]
    assert (listing.signatures, listing.window_days, listing.response_days) == (150, 30, None)
    assert (response.signatures, response.window_days, response.response_days) == (
        100_000,
        30,
        30,
    )


@pytest.mark.django_db
def test_uk_parliament_preset():
    authorities_load()
    policy = ResponsePolicy.objects.get(slug="uk-parliament")
    assert policy.requires_moderation
    assert policy.supporters_needed == 5
    assert (policy.open_months, policy.open_days) == (6, 0)
    assert policy.late_confirmation_hours == 24
    assert policy.eligibility == "I am a British citizen or UK resident"
    milestones = {m.kind: m for m in policy.milestones.all()}
    assert set(milestones) == {"response", "debate"}
    response, debate = milestones["response"], milestones["debate"]
    assert (response.signatures, response.window_days, response.response_days) == (
        10_000,
        None,
        30,
    )
    assert (debate.signatures, debate.window_days) == (100_000, None)


@pytest.mark.django_db
def test_changed_data_updates_and_prunes_milestones(tmp_path):
    authorities_load()
    data = shipped()
    uk = next(p for p in data["policies"] if p["slug"] == "uk-parliament")
    uk["milestones"] = [m for m in uk["milestones"] if m["kind"] != "debate"]
    uk["supporters_needed"] = 4
    report = authorities_load(path=write(tmp_path, data))
    assert (report.created, report.updated, report.deleted) == (0, 1, 1)
    policy = ResponsePolicy.objects.get(slug="uk-parliament")
    assert policy.supporters_needed == 4
    assert set(policy.milestones.values_list("kind", flat=True)) == {"response"}


@pytest.mark.django_db
def test_reached_milestone_is_not_deleted(tmp_path):
    from petitio.petitions.models import Addressee, MilestoneReached, Petition

    authorities_load()
    policy = ResponsePolicy.objects.get(slug="uk-parliament")
    petition = Petition.objects.create(
        action="Test", background="Test", creator_name="Test", policy=policy
    )
    addressee = Addressee.objects.create(
        petition=petition, authority=Authority.objects.get(slug="uk-government")
    )
    MilestoneReached.objects.create(
        addressee=addressee,
        milestone=policy.milestones.get(kind="debate"),
        signature_count=100_000,
    )
    data = shipped()
    uk = next(p for p in data["policies"] if p["slug"] == "uk-parliament")
    uk["milestones"] = [m for m in uk["milestones"] if m["kind"] != "debate"]
    uk["name"] = "Renamed"
    with pytest.raises(RegistryError, match=r"policies\[1\]\.milestones: cannot remove the debate"):
        authorities_load(path=write(tmp_path, data))
    # All or nothing: the rename in the same load was rolled back.
    assert ResponsePolicy.objects.get(slug="uk-parliament").name == "UK Parliament petitions"
    assert policy.milestones.filter(kind="debate").exists()


# Bad files


@pytest.mark.django_db
def test_unknown_policy_reference(tmp_path):
    data = shipped()
    data["authorities"][2]["policy"] = "x"
    with pytest.raises(RegistryError) as caught:
        authorities_load(path=write(tmp_path, data))
    assert "authorities[2].policy: unknown policy 'x'" in caught.value.errors
    assert not Authority.objects.exists()  # nothing loaded from a bad file


def test_negative_signature_count(tmp_path):
    data = shipped()
    data["policies"][0]["milestones"][0]["signatures"] = -150
    with pytest.raises(RegistryError) as caught:
        authorities_load(path=write(tmp_path, data))
    assert caught.value.errors == [
        "policies[0].milestones[0].signatures: must be a positive whole number, got -150"
    ]


def test_response_milestone_without_response_days(tmp_path):
    data = shipped()
    del data["policies"][1]["milestones"][0]["response_days"]
    with pytest.raises(RegistryError) as caught:
        authorities_load(path=write(tmp_path, data))
    assert caught.value.errors == [
        "policies[1].milestones[0].response_days: required for a response milestone"
    ]


def test_duplicate_authority_slug(tmp_path):
    data = shipped()
    data["authorities"].append(dict(data["authorities"][0]))
    index = len(data["authorities"]) - 1
    with pytest.raises(RegistryError) as caught:
        authorities_load(path=write(tmp_path, data))
    assert caught.value.errors == [
        f"authorities[{index}].slug: duplicate slug 'us-president' (first used at authorities[0])"
    ]


def test_duplicate_policy_slug():
    data = shipped()
    data["policies"].append(dict(data["policies"][1]))
    last = len(data["policies"]) - 1
    assert errors_of(data) == [
        f"policies[{last}].slug: duplicate slug 'uk-parliament' (first used at policies[1])"
    ]


def test_all_errors_are_reported_at_once():
    data = shipped()
    data["policies"][0]["milestones"][0]["signatures"] = 0
    data["authorities"][0]["country"] = "usa"
    data["authorities"][1]["powers"][0]["action"] = "amnesty"
    errors = errors_of(data)
    assert len(errors) == 3
    assert errors[0].startswith("policies[0].milestones[0].signatures:")
    assert errors[1].startswith("authorities[0].country: expected a two-letter country code")
    assert errors[2].startswith("authorities[1].powers[0].action: unknown action 'amnesty'")


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (
            lambda d: d["policies"][0]["milestones"][0].update(kind="petition"),
            "policies[0].milestones[0].kind: unknown kind 'petition'",
        ),
        (
            lambda d: d["policies"][0].pop("open_days"),
            "policies[0]: no duration: set open_months or open_days",
        ),
        (
            lambda d: d["policies"][0]["milestones"][0].update(response_days=5),
            "policies[0].milestones[0].response_days: only a response milestone",
        ),
        (
            lambda d: d["policies"][0]["milestones"].append({"kind": "listing", "signatures": 10}),
            "policies[0].milestones[2].kind: a policy has one listing milestone",
        ),
        (
            lambda d: d["policies"][0].update(requires_moderation="no"),
            "policies[0].requires_moderation: expected true or false",
        ),
        (
            lambda d: d["policies"][1].update(supporters_needed=True),
            "policies[1].supporters_needed: expected a whole number",
        ),
        (lambda d: d["policies"][1].pop("name"), "policies[1].name: required"),
        (lambda d: d["policies"][1].update(colour="red"), "policies[1].colour: unknown key"),
        (lambda d: d["authorities"][1].update(country=False), "authorities[1].country: expected"),
        (
            lambda d: d["authorities"][1].update(time_zone="Europe/Lundon"),
            "authorities[1].time_zone: unknown time zone 'Europe/Lundon'",
        ),
        (
            lambda d: d["authorities"][1]["powers"][0].pop("confirmed"),
            "authorities[1].powers[0].confirmed: required",
        ),
        (
            lambda d: d["authorities"][1]["powers"][0].update(source_url="justice.gov"),
            "authorities[1].powers[0].source_url: expected an http(s) URL",
        ),
        (
            lambda d: d["authorities"][0]["population"].update(count=0),
            "authorities[0].population.count: must be a positive whole number",
        ),
        (lambda d: d.pop("authorities"), "authorities: required"),
        (lambda d: d.update(policies={}), "policies: expected a list"),
    ],
)
def test_bad_entries_name_their_path(change, expected):
    data = shipped()
    change(data)
    assert any(error.startswith(expected) for error in errors_of(data)), errors_of(data)


def test_not_a_mapping_and_not_yaml(tmp_path):
    assert errors_of(["policies"])[0].startswith("(top level): expected a mapping")  # type: ignore[arg-type]
    path = tmp_path / "broken.yaml"
    path.write_text("policies: [\n", encoding="utf-8")
    with pytest.raises(RegistryError, match="not valid YAML"):
        registry_read(path=path)
    with pytest.raises(RegistryError, match="cannot read the file"):
        registry_read(path=tmp_path / "missing.yaml")


# The command


@pytest.mark.django_db
def test_command_loads(capsys):
    call_command("authorities", "load")
    out = capsys.readouterr().out
    assert "created" in out and "0 updated" in out
    assert Authority.objects.filter(slug="us-president").exists()
    call_command("authorities", "load")
    assert "0 created, 0 updated" in capsys.readouterr().out


@pytest.mark.django_db
def test_command_with_file(tmp_path, capsys):
    path = write(tmp_path, shipped())
    call_command("authorities", "load", "--file", str(path))
    assert str(path) in capsys.readouterr().out


@pytest.mark.django_db
def test_command_bad_file_raises_command_error(tmp_path):
    data = shipped()
    data["authorities"][0]["policy"] = "x"
    with pytest.raises(CommandError, match=r"authorities\[0\]\.policy: unknown policy 'x'"):
        call_command("authorities", "load", file=write(tmp_path, data))
    assert not Authority.objects.exists()
