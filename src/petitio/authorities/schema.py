"""Validation of the authority registry file (``data/authorities.yaml``).

The registry is reviewed data, so validation is strict: unknown keys are
errors (a misspelt key would otherwise be silently ignored), and every error
names the path of the bad entry, e.g. ``authorities[2].policy: unknown policy
'x'``. All errors are collected, not just the first, so one run shows
everything a reviewer has to fix.

This module is plain Python and does not touch the database; the limits below
mirror the model fields in ``models.py``.
"""

from __future__ import annotations

import re
import zoneinfo
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

__all__ = [
    "MILESTONE_KINDS",
    "POWER_ACTIONS",
    "AuthoritySpec",
    "MilestoneSpec",
    "PolicySpec",
    "PopulationSpec",
    "PowerSpec",
    "Registry",
    "RegistryError",
    "registry_validate",
]

MILESTONE_KINDS = ("listing", "response", "debate")
POWER_ACTIONS = ("pardon", "commute")
FEDERAL_COURTS = ("us-district", "dc-superior", "court-martial")
_STATE_COURT = re.compile(r"^state:[A-Z]{2}$")


def court_code_valid(code: str) -> bool:
    return code in FEDERAL_COURTS or bool(_STATE_COURT.match(code))


_SLUG = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
_COUNTRY = re.compile(r"^[A-Z]{2}$")
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_URL = re.compile(r"^https?://[^\s/]+\.[^\s]+$")
_SLUG_MAX = 50


class RegistryError(ValueError):
    """The registry could not be loaded; ``errors`` holds one message per problem."""

    def __init__(self, errors: list[str] | str) -> None:
        self.errors = [errors] if isinstance(errors, str) else list(errors)
        super().__init__("\n".join(self.errors))


@dataclass(frozen=True, slots=True)
class MilestoneSpec:
    kind: str
    signatures: int
    window_days: int | None
    response_days: int | None
    per_million: int | None = None
    ceiling: int | None = None


@dataclass(frozen=True, slots=True)
class PolicySpec:
    slug: str
    name: str
    description: str
    requires_moderation: bool
    supporters_needed: int
    open_months: int
    open_days: int
    late_confirmation_hours: int
    eligibility: str
    milestones: tuple[MilestoneSpec, ...]


@dataclass(frozen=True, slots=True)
class PopulationSpec:
    count: int
    year: int
    source: str


@dataclass(frozen=True, slots=True)
class PowerSpec:
    action: str
    courts: tuple[str, ...]
    scope: str
    citation: str
    source_url: str
    confirmed: bool


@dataclass(frozen=True, slots=True)
class AuthoritySpec:
    slug: str
    name: str
    kind: str
    country: str
    region: str
    city: str
    population: PopulationSpec | None
    time_zone: str
    contact_email: str
    policy: str
    description: str
    powers: tuple[PowerSpec, ...]


@dataclass(frozen=True, slots=True)
class Registry:
    policies: tuple[PolicySpec, ...]
    authorities: tuple[AuthoritySpec, ...]


_MISSING = object()


class _Entry:
    """Reads the keys of one mapping, recording an error for each bad value."""

    def __init__(self, data: Mapping[str, Any], path: str, errors: list[str]) -> None:
        self.data = data
        self.path = path
        self.errors = errors
        self.seen: set[str] = set()

    def error(self, key: str | None, message: str) -> None:
        if key is None:
            where = self.path or "(top level)"
        else:
            where = f"{self.path}.{key}" if self.path else key
        self.errors.append(f"{where}: {message}")

    def _get(self, key: str, required: bool) -> Any:
        self.seen.add(key)
        value = self.data.get(key, _MISSING)
        if value is _MISSING and required:
            self.error(key, "required")
        return value

    def text(
        self,
        key: str,
        *,
        required: bool = False,
        default: str = "",
        max_length: int | None = None,
        pattern: re.Pattern[str] | None = None,
        pattern_hint: str = "",
    ) -> str:
        value = self._get(key, required)
        if value is _MISSING:
            return default
        if value is None:
            if required:
                self.error(key, "required")
            return default
        if not isinstance(value, str):
            # YAML 1.1 reads bare yes/no/on/off (so the country code NO) as booleans.
            hint = " (put it in quotes)" if isinstance(value, bool) else ""
            self.error(key, f"expected text, got {_describe(value)}{hint}")
            return default
        value = value.strip()
        if required and not value:
            self.error(key, "must not be empty")
        elif max_length is not None and len(value) > max_length:
            self.error(key, f"at most {max_length} characters, got {len(value)}")
        elif pattern is not None and value and not pattern.match(value):
            self.error(key, f"{pattern_hint}, got {value!r}")
        return value

    def integer(
        self, key: str, *, required: bool = False, default: int | None = 0, minimum: int = 0
    ) -> int | None:
        """An integer >= ``minimum``; ``None`` (YAML ``null``) gives ``default``."""
        value = self._get(key, required)
        if value is _MISSING or value is None:
            if value is None and required:
                self.error(key, "required")
            return default
        # bool is a subclass of int; `true` is not a count.
        if isinstance(value, bool) or not isinstance(value, int):
            self.error(key, f"expected a whole number, got {_describe(value)}")
            return default
        if value < minimum:
            kind = "a positive whole number" if minimum == 1 else f"at least {minimum}"
            self.error(key, f"must be {kind}, got {value}")
            return default
        return value

    def boolean(self, key: str, *, required: bool = False, default: bool = False) -> bool:
        value = self._get(key, required)
        if value is _MISSING:
            return default
        if not isinstance(value, bool):
            self.error(key, f"expected true or false, got {_describe(value)}")
            return default
        return value

    def items(self, key: str, *, required: bool = False) -> list[Any]:
        value = self._get(key, required)
        if value is _MISSING or (value is None and not required):
            return []
        if not isinstance(value, list):
            self.error(key, f"expected a list, got {_describe(value)}")
            return []
        return value

    def mapping(self, key: str) -> Mapping[str, Any] | None:
        value = self._get(key, False)
        if value is _MISSING or value is None:
            return None
        if not isinstance(value, Mapping):
            self.error(key, f"expected a mapping, got {_describe(value)}")
            return None
        return value

    def finish(self) -> None:
        """Report keys nobody read: almost always a typo."""
        for key in self.data:
            if key not in self.seen:
                self.error(str(key), "unknown key")


def _describe(value: Any) -> str:
    if value is None:
        return "nothing (null)"
    if isinstance(value, bool):
        return f"{str(value).lower()} (a boolean)"
    if isinstance(value, Mapping):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    return f"{value!r} ({type(value).__name__})"


def _entries(items: list[Any], path: str, errors: list[str]) -> list[tuple[str, Mapping]]:
    out = []
    for index, item in enumerate(items):
        item_path = f"{path}[{index}]"
        if isinstance(item, Mapping):
            out.append((item_path, item))
        else:
            errors.append(f"{item_path}: expected a mapping, got {_describe(item)}")
    return out


def _slug(entry: _Entry) -> str:
    return entry.text(
        "slug",
        required=True,
        max_length=_SLUG_MAX,
        pattern=_SLUG,
        pattern_hint="expected lowercase letters, digits and single hyphens",
    )


def _check_unique_slugs(entries: list[tuple[str, Mapping[str, Any]]], errors: list[str]) -> None:
    first_seen: dict[str, str] = {}
    for path, data in entries:
        slug = data.get("slug")
        if not isinstance(slug, str) or not slug:
            continue
        if slug in first_seen:
            errors.append(
                f"{path}.slug: duplicate slug {slug!r} (first used at {first_seen[slug]})"
            )
        else:
            first_seen[slug] = path


def _milestone(path: str, data: Mapping[str, Any], errors: list[str]) -> MilestoneSpec | None:
    entry = _Entry(data, path, errors)
    before = len(errors)
    kind = entry.text("kind", required=True)
    if kind and kind not in MILESTONE_KINDS:
        entry.error("kind", f"unknown kind {kind!r}; expected one of {', '.join(MILESTONE_KINDS)}")
    signatures = entry.integer("signatures", required=True, default=None, minimum=1)
    window_days = entry.integer("window_days", default=None, minimum=1)
    response_days = entry.integer("response_days", default=None, minimum=1)
    per_million = entry.integer("per_million", default=None, minimum=1)
    ceiling = entry.integer("ceiling", default=None, minimum=1)
    if ceiling is not None and per_million is None:
        entry.error("ceiling", "a ceiling needs per_million (a quorum by population)")
    if ceiling is not None and signatures is not None and ceiling < signatures:
        entry.error("ceiling", "the ceiling is below the floor (signatures)")
    if kind == "response":
        # A present but invalid value has already been reported by integer().
        if data.get("response_days") is None:
            entry.error("response_days", "required for a response milestone")
    elif response_days is not None:
        entry.error("response_days", "only a response milestone has a response deadline")
    entry.finish()
    if len(errors) > before or signatures is None:
        return None
    return MilestoneSpec(kind, signatures, window_days, response_days, per_million, ceiling)


def _policy(path: str, data: Mapping[str, Any], errors: list[str]) -> PolicySpec | None:
    entry = _Entry(data, path, errors)
    before = len(errors)
    slug = _slug(entry)
    name = entry.text("name", required=True, max_length=120)
    description = entry.text("description")
    requires_moderation = entry.boolean("requires_moderation")
    supporters_needed = entry.integer("supporters_needed") or 0
    open_months = entry.integer("open_months") or 0
    open_days = entry.integer("open_days") or 0
    late_hours = entry.integer("late_confirmation_hours", default=24)
    eligibility = entry.text("eligibility", max_length=200)
    duration_errors = (f"{path}.open_months:", f"{path}.open_days:")
    if not (open_months or open_days) and not any(
        e.startswith(duration_errors) for e in errors[before:]
    ):
        entry.error(None, "no duration: set open_months or open_days (or both) above zero")

    milestones: list[MilestoneSpec] = []
    raw_milestones = entry.items("milestones", required=True)
    if "milestones" in data and isinstance(data["milestones"], list) and not raw_milestones:
        entry.error("milestones", "a policy needs at least one milestone")
    kinds_seen: dict[str, str] = {}
    for m_path, m_data in _entries(raw_milestones, f"{path}.milestones", errors):
        milestone = _milestone(m_path, m_data, errors)
        if milestone is None:
            continue
        if milestone.kind in kinds_seen:
            errors.append(
                f"{m_path}.kind: a policy has one {milestone.kind} milestone "
                f"(already at {kinds_seen[milestone.kind]})"
            )
            continue
        kinds_seen[milestone.kind] = m_path
        milestones.append(milestone)
    entry.finish()
    if len(errors) > before:
        return None
    return PolicySpec(
        slug=slug,
        name=name,
        description=description,
        requires_moderation=requires_moderation,
        supporters_needed=supporters_needed,
        open_months=open_months,
        open_days=open_days,
        late_confirmation_hours=late_hours if late_hours is not None else 24,
        eligibility=eligibility,
        milestones=tuple(milestones),
    )


def _population(path: str, data: Mapping[str, Any], errors: list[str]) -> PopulationSpec | None:
    entry = _Entry(data, path, errors)
    before = len(errors)
    count = entry.integer("count", required=True, default=None, minimum=1)
    year = entry.integer("year", required=True, default=None, minimum=1800)
    source = entry.text("source", required=True, max_length=200)
    entry.finish()
    if len(errors) > before or count is None or year is None:
        return None
    return PopulationSpec(count=count, year=year, source=source)


def _power(path: str, data: Mapping[str, Any], errors: list[str]) -> PowerSpec | None:
    entry = _Entry(data, path, errors)
    before = len(errors)
    action = entry.text("action", required=True)
    if action and action not in POWER_ACTIONS:
        entry.error(
            "action", f"unknown action {action!r}; expected one of {', '.join(POWER_ACTIONS)}"
        )
    courts: list[str] = []
    for index, court in enumerate(entry.items("courts")):
        if not isinstance(court, str) or not court_code_valid(court):
            errors.append(
                f"{path}.courts[{index}]: unknown court {court!r}; expected one of "
                f"{', '.join(FEDERAL_COURTS)} or state:XX (a US state's two-letter code)"
            )
        else:
            courts.append(court)
    scope = entry.text("scope", required=True)
    citation = entry.text("citation", required=True)
    source_url = entry.text(
        "source_url", required=True, pattern=_URL, pattern_hint="expected an http(s) URL"
    )
    confirmed = entry.boolean("confirmed", required=True)
    entry.finish()
    if len(errors) > before:
        return None
    return PowerSpec(action, tuple(courts), scope, citation, source_url, confirmed)


def _time_zone(entry: _Entry) -> str:
    value = entry.text("time_zone", default="UTC", max_length=64) or "UTC"
    try:
        zoneinfo.ZoneInfo(value)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        entry.error("time_zone", f"unknown time zone {value!r}; expected an IANA name")
    return value


def _authority(
    path: str, data: Mapping[str, Any], policy_slugs: set[str], errors: list[str]
) -> AuthoritySpec | None:
    entry = _Entry(data, path, errors)
    before = len(errors)
    slug = _slug(entry)
    name = entry.text("name", required=True, max_length=200)
    kind = entry.text("kind", required=True, max_length=60)
    country = entry.text(
        "country",
        required=True,
        pattern=_COUNTRY,
        pattern_hint="expected a two-letter country code in capitals (ISO 3166-1), e.g. 'US'",
    )
    region = entry.text("region", max_length=100)
    city = entry.text("city", max_length=100)
    population = None
    raw_population = entry.mapping("population")
    if raw_population is not None:
        population = _population(f"{path}.population", raw_population, errors)
    time_zone = _time_zone(entry)
    contact_email = entry.text(
        "contact_email", max_length=254, pattern=_EMAIL, pattern_hint="expected an email address"
    )
    policy = entry.text("policy", required=True)
    if policy and policy not in policy_slugs:
        entry.error("policy", f"unknown policy {policy!r}")
    description = entry.text("description")
    powers = []
    for p_path, p_data in _entries(entry.items("powers"), f"{path}.powers", errors):
        power = _power(p_path, p_data, errors)
        if power is not None:
            powers.append(power)
    entry.finish()
    if len(errors) > before:
        return None
    return AuthoritySpec(
        slug=slug,
        name=name,
        kind=kind,
        country=country,
        region=region,
        city=city,
        population=population,
        time_zone=time_zone,
        contact_email=contact_email,
        policy=policy,
        description=description,
        powers=tuple(powers),
    )


def registry_validate(data: Any) -> Registry:
    """Check parsed YAML and return it as typed specs, or raise ``RegistryError``.

    Authorities are checked against every policy slug in the file, even policies
    that are themselves invalid, so one bad policy does not also produce an
    "unknown policy" error for each authority that uses it.
    """
    errors: list[str] = []
    if not isinstance(data, Mapping):
        raise RegistryError(
            f"(top level): expected a mapping with 'policies' and 'authorities', "
            f"got {_describe(data)}"
        )
    top = _Entry(data, "", errors)
    raw_policies = top.items("policies", required=True)
    raw_authorities = top.items("authorities", required=True)
    top.finish()

    policy_entries = _entries(raw_policies, "policies", errors)
    policy_slugs = {d["slug"].strip() for _, d in policy_entries if isinstance(d.get("slug"), str)}
    policies = [_policy(path, d, errors) for path, d in policy_entries]
    _check_unique_slugs(policy_entries, errors)

    authority_entries = _entries(raw_authorities, "authorities", errors)
    authorities = [_authority(path, d, policy_slugs, errors) for path, d in authority_entries]
    _check_unique_slugs(authority_entries, errors)

    if errors:
        raise RegistryError(errors)
    return Registry(
        policies=tuple(p for p in policies if p is not None),
        authorities=tuple(a for a in authorities if a is not None),
    )
