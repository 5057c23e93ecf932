"""The API's documented shapes, and how each is built from the domain objects.

Lists use flat items (scalars and lists of scalars) so that their CSV is the
same rows and columns as their JSON. Nothing here carries a signer's name,
email or postal code.
"""

from __future__ import annotations

import re
from datetime import date, datetime
from typing import Annotated, Literal

from django.conf import settings
from django.core.exceptions import ValidationError as DjangoValidationError
from django.urls import reverse
from ninja import Field, Schema
from pydantic import BeforeValidator

from petitio.api.postal import AreaKind
from petitio.api.selectors import (
    API_VISIBLE_STATES,
    PETITION_SORTS,
    BadParameter,
    PetitionFilters,
    SignatureStatistics,
    days_overdue,
)
from petitio.authorities.models import Authority, Milestone, Power, ResponsePolicy
from petitio.petitions.models import Petition, RejectionReason, State
from petitio.petitions.selectors import AddresseeProgress, Overdue
from petitio.petitions.validators import text_clean
from petitio.responses.models import Response

NAMESPACE = "api-v1"


def site_link(path: str) -> str:
    return f"{settings.SITE_URL}{path}"


def api_link(name: str, *args: object) -> str:
    return site_link(reverse(f"{NAMESPACE}:{name}", args=args))


def petition_page_link(petition_id: int) -> str:
    return site_link(reverse("petition-detail", args=[petition_id]))


# ---------------------------------------------------------------------------- errors


class FieldError(Schema):
    field: str | None = Field(None, description="The parameter or body field at fault.")
    code: str
    message: str


class Error(Schema):
    """Every error: a stable machine code, a message for people, and the field at fault."""

    code: str = Field(..., examples=["invalid_parameter"])
    message: str
    field: str | None = None
    errors: list[FieldError] = Field(
        default_factory=list, description="Every problem found, when there are several."
    )


# ---------------------------------------------------------------------- query input

MAX_ID = 2**63 - 1
MAX_COUNT = 2**31 - 1


def _iso_day(value: object) -> object:
    """Days are written YYYY-MM-DD; refuse the other forms pydantic would guess at."""
    if isinstance(value, str) and not re.fullmatch(r"\d{4}-\d{2}-\d{2}", value):
        raise ValueError("Write the day as YYYY-MM-DD")
    return value


Day = Annotated[date, BeforeValidator(_iso_day)]


def text_param_clean(value: str, name: str) -> str:
    try:
        return text_clean(value)
    except DjangoValidationError as invalid:
        raise BadParameter(name, invalid.messages[0], "invalid_text") from None


class PetitionQuery(Schema):
    state: Literal["open", "awaiting_response", "responded", "closed", "rejected"] | None = Field(
        None, description="Only petitions in this state."
    )
    authority: str | None = Field(
        None, max_length=50, pattern=r"^[a-z0-9-]*$", description="An authority's slug."
    )
    q: str | None = Field(None, max_length=200, description="Words in the text (all must match).")
    created_from: Day | None = Field(None, description="Created on or after this day (UTC).")
    created_to: Day | None = Field(None, description="Created on or before this day (UTC).")
    closes_from: Day | None = Field(None, description="Closing on or after this day (UTC).")
    closes_to: Day | None = Field(None, description="Closing on or before this day (UTC).")
    min_count: int | None = Field(None, ge=0, le=MAX_COUNT, description="At least this many.")
    sort: Literal[tuple(PETITION_SORTS)] = Field(  # type: ignore[valid-type]
        "-count",
        description=(
            "count, created, deadline (earliest response deadline still owed) or closing "
            "(closing date); prefix with - for descending. Ties are broken by id."
        ),
    )

    def filters(self) -> PetitionFilters:
        return PetitionFilters(
            state=self.state or "",
            authority=self.authority or "",
            query=text_param_clean(self.q or "", "q"),
            created_from=self.created_from,
            created_to=self.created_to,
            closes_from=self.closes_from,
            closes_to=self.closes_to,
            min_count=self.min_count,
        )


class PageQuery(Schema):
    cursor: str | None = Field(
        None, max_length=400, pattern=r"^[A-Za-z0-9_-]+$", description="From next_cursor."
    )
    limit: int = Field(20, ge=1, le=100, description="Items per page.")


class ResponseQuery(Schema):
    authority: str | None = Field(
        None, max_length=50, pattern=r"^[a-z0-9-]*$", description="An authority's slug."
    )
    petition: int | None = Field(None, ge=1, le=MAX_ID, description="A petition's id.")
    sort: Literal["-published", "published"] = "-published"


# ------------------------------------------------------------------------- petitions


class PetitionItem(Schema):
    id: int
    action: str
    state: str = Field(..., description=f"One of: {', '.join(State.values)}.")
    signature_count: int
    created_at: datetime
    opened_at: datetime | None
    closes_at: datetime | None
    closed_at: datetime | None
    authorities: list[str] = Field(..., description="Slugs of the addressed authorities.")
    response_due_at: datetime | None = Field(
        ..., description="The earliest response deadline still owed, if any."
    )
    days_overdue: int | None
    url: str
    api_url: str

    @classmethod
    def of(cls, petition: Petition, *, now: datetime) -> PetitionItem:
        due = getattr(petition, "response_due_at", None)
        return cls(
            id=petition.pk,
            action=petition.action,
            state=petition.state,
            signature_count=petition.signature_count,
            created_at=petition.created_at,
            opened_at=petition.opened_at,
            closes_at=petition.closes_at,
            closed_at=petition.closed_at,
            authorities=[a.authority.slug for a in petition.addressees.all()],
            response_due_at=due,
            days_overdue=days_overdue(due, now=now),
            url=petition_page_link(petition.pk),
            api_url=api_link("petition-detail", petition.pk),
        )


class PetitionPage(Schema):
    items: list[PetitionItem]
    next_cursor: str | None = Field(
        ..., description="Pass as ?cursor= for the next page; null on the last page."
    )
    next: str | None = Field(..., description="The next page's full address, or null.")


class AuthorityRef(Schema):
    slug: str
    name: str
    api_url: str

    @classmethod
    def of(cls, authority: Authority) -> AuthorityRef:
        return cls(
            slug=authority.slug,
            name=authority.name,
            api_url=api_link("authority-detail", authority.slug),
        )


class MilestoneProgressOut(Schema):
    kind: str
    label: str
    threshold: int = Field(..., description="Signatures needed for this addressee.")
    window_days: int | None = Field(
        ..., description="Days from opening to reach it; null: while open."
    )
    window_ends_at: datetime | None
    response_days: int | None
    reached_at: datetime | None
    reached_with: int | None = Field(..., description="The count when it was reached.")
    missed: bool


class ResponseRef(Schema):
    id: int
    summary: str
    published_at: datetime
    api_url: str


class AddresseeOut(Schema):
    authority: AuthorityRef
    milestones: list[MilestoneProgressOut]
    next_milestone: str | None
    response_due_at: datetime | None
    days_overdue: int | None
    response: ResponseRef | None

    @classmethod
    def of(cls, progress: AddresseeProgress) -> AddresseeOut:
        addressee = progress.addressee
        response: Response | None = getattr(addressee, "response", None)
        return cls(
            authority=AuthorityRef.of(addressee.authority),
            milestones=[
                MilestoneProgressOut(
                    kind=row.milestone.kind,
                    label=row.milestone.get_kind_display(),
                    threshold=row.threshold,
                    window_days=row.milestone.window_days,
                    window_ends_at=row.window_ends_at,
                    response_days=row.milestone.response_days,
                    reached_at=row.reached.reached_at if row.reached else None,
                    reached_with=row.reached.signature_count if row.reached else None,
                    missed=row.missed,
                )
                for row in progress.milestones
            ],
            next_milestone=progress.next_milestone.milestone.kind
            if progress.next_milestone
            else None,
            response_due_at=addressee.response_due_at,
            days_overdue=progress.days_overdue,
            response=ResponseRef(
                id=response.pk,
                summary=response.summary,
                published_at=response.published_at,
                api_url=api_link("response-detail", response.pk),
            )
            if response
            else None,
        )


class RejectionOut(Schema):
    reason: str
    reason_label: str
    details: str
    duplicate_of: int | None = Field(..., description="The petition it duplicates, if public.")


class RequestOut(Schema):
    action: str = Field(..., description="pardon or commute")
    persons: str
    court: str


class JurisdictionOut(Schema):
    passed: bool = Field(..., description="Whether an addressee can grant the request.")
    summary: str
    can_act_instead: list[AuthorityRef]


class PetitionLinks(Schema):
    html: str
    api: str
    statistics: str
    responses: str
    sign: str = Field(..., description="Partners POST signatures here (API key required).")


class PetitionOut(Schema):
    id: int
    action: str
    background: str
    details: str
    state: str
    state_label: str
    signature_count: int
    count_updated_at: datetime | None
    created_at: datetime
    published_at: datetime | None
    opened_at: datetime | None
    listed_at: datetime | None
    closes_at: datetime | None
    closed_at: datetime | None
    signable: bool
    eligibility: str = Field(..., description="What signers must confirm; empty when nothing.")
    policy: str
    request: RequestOut | None
    jurisdiction: JurisdictionOut | None
    addressees: list[AddresseeOut]
    rejection: RejectionOut | None
    links: PetitionLinks


# ------------------------------------------------------------------------ statistics


class CountryCount(Schema):
    country: str = Field(..., description="ISO 3166-1 alpha-2 code.")
    name: str
    count: int


class RegionCount(Schema):
    country: str
    region: str | None = Field(..., description="null: not known.")
    count: int


class PostalAreaCount(Schema):
    country: str
    kind: AreaKind | None
    area: str | None = Field(..., description="US state code or UK outward code; null: unknown.")
    label: str | None
    count: int


class DayCount(Schema):
    date: date
    count: int


class HourCount(Schema):
    hour: datetime = Field(..., description="Start of the hour, UTC.")
    count: int


class StatisticsOut(Schema):
    """Verified signatures counted by group. Each list adds up to verified_signatures."""

    petition_id: int
    signature_count: int = Field(..., description="The petition's published count.")
    count_updated_at: datetime | None
    verified_signatures: int = Field(..., description="Verified signatures counted here.")
    by_country: list[CountryCount]
    by_region: list[RegionCount]
    by_postal_area: list[PostalAreaCount]
    by_day: list[DayCount]
    by_hour: list[HourCount]

    @classmethod
    def of(cls, petition: Petition, stats: SignatureStatistics) -> StatisticsOut:
        return cls(
            petition_id=petition.pk,
            signature_count=petition.signature_count,
            count_updated_at=petition.count_updated_at,
            verified_signatures=stats.total,
            by_country=[
                CountryCount(country=c, name=name, count=n) for c, name, n in stats.by_country
            ],
            by_region=[RegionCount(country=c, region=r, count=n) for c, r, n in stats.by_region],
            by_postal_area=[
                PostalAreaCount(
                    country=a.country,
                    kind=a.kind,
                    area=a.code,
                    label=a.label,
                    count=a.count,
                )
                for a in stats.by_postal_area
            ],
            by_day=[DayCount(date=d, count=n) for d, n in stats.by_day],
            by_hour=[HourCount(hour=h, count=n) for h, n in stats.by_hour],
        )


class StatisticsRow(Schema):
    """One group of the statistics, as a CSV row."""

    dimension: Literal["country", "region", "postal_area", "day", "hour"]
    country: str
    key: str
    label: str
    count: int

    @classmethod
    def rows(cls, stats: StatisticsOut) -> list[StatisticsRow]:
        rows = [
            cls(dimension="country", country=c.country, key=c.country, label=c.name, count=c.count)
            for c in stats.by_country
        ]
        rows += [
            cls(
                dimension="region",
                country=r.country,
                key=r.region or "",
                label=r.region or "",
                count=r.count,
            )
            for r in stats.by_region
        ]
        rows += [
            cls(
                dimension="postal_area",
                country=a.country,
                key=a.area or "",
                label=a.label or "",
                count=a.count,
            )
            for a in stats.by_postal_area
        ]
        rows += [
            cls(dimension="day", country="", key=d.date.isoformat(), label="", count=d.count)
            for d in stats.by_day
        ]
        rows += [
            cls(dimension="hour", country="", key=h.hour.isoformat(), label="", count=h.count)
            for h in stats.by_hour
        ]
        return rows


# ------------------------------------------------------------------------- responses


class ResponseItem(Schema):
    id: int
    petition_id: int
    petition_action: str
    authority: str
    authority_name: str
    summary: str
    published_at: datetime
    due_at: datetime | None
    on_time: bool | None = Field(..., description="Published by its deadline; null: no deadline.")
    url: str
    api_url: str

    @classmethod
    def of(cls, response: Response) -> ResponseItem:
        addressee = response.addressee
        due = addressee.response_due_at
        return cls(
            id=response.pk,
            petition_id=addressee.petition_id,
            petition_action=addressee.petition.action,
            authority=addressee.authority.slug,
            authority_name=addressee.authority.name,
            summary=response.summary,
            published_at=response.published_at,
            due_at=due,
            on_time=response.published_at <= due if due else None,
            url=petition_page_link(addressee.petition_id),
            api_url=api_link("response-detail", response.pk),
        )


class ResponsePage(Schema):
    items: list[ResponseItem]
    next_cursor: str | None
    next: str | None


class ResponseOut(ResponseItem):
    body: str
    published_by_name: str = Field(..., description="The official who published it.")
    petition_api_url: str

    @classmethod
    def detail(cls, response: Response) -> ResponseOut:
        item = ResponseItem.of(response)
        return cls(
            **item.model_dump(),
            body=response.body,
            published_by_name=response.published_by_name,
            petition_api_url=api_link("petition-detail", item.petition_id),
        )


# ------------------------------------------------------------------------ authorities


class AuthorityItem(Schema):
    slug: str
    name: str
    kind: str
    country: str
    region: str
    city: str
    population: int | None
    policy: str
    time_zone: str
    api_url: str

    @classmethod
    def of(cls, authority: Authority) -> AuthorityItem:
        return cls(
            slug=authority.slug,
            name=authority.name,
            kind=authority.kind,
            country=authority.country,
            region=authority.region,
            city=authority.city,
            population=authority.population,
            policy=authority.policy.slug,
            time_zone=authority.time_zone,
            api_url=api_link("authority-detail", authority.slug),
        )


class MilestoneRuleOut(Schema):
    kind: str
    label: str
    signatures: int = Field(..., description="The minimum (or fixed) threshold.")
    threshold: int = Field(..., description="The threshold for this authority.")
    formula: str = Field(..., description="The population quorum rule in words, if any.")
    window_days: int | None
    response_days: int | None


class PolicyOut(Schema):
    slug: str
    name: str
    description: str
    requires_moderation: bool
    supporters_needed: int
    open_months: int
    open_days: int
    eligibility: str


class PowerOut(Schema):
    action: str
    courts: list[str]
    scope: str
    citation: str
    source_url: str
    confirmed: bool = Field(..., description="Whether the citation was checked.")


class AuthorityOut(AuthorityItem):
    population_source: str
    description: str
    policy_rules: PolicyOut
    milestones: list[MilestoneRuleOut]
    powers: list[PowerOut]
    petitions_api_url: str

    @classmethod
    def detail(cls, authority: Authority) -> AuthorityOut:
        policy: ResponsePolicy = authority.policy
        milestones: list[Milestone] = list(policy.milestones.all())
        powers: list[Power] = list(authority.powers.all())
        return cls(
            **AuthorityItem.of(authority).model_dump(),
            population_source=authority.population_source,
            description=authority.description,
            policy_rules=PolicyOut(
                slug=policy.slug,
                name=policy.name,
                description=policy.description,
                requires_moderation=policy.requires_moderation,
                supporters_needed=policy.supporters_needed,
                open_months=policy.open_months,
                open_days=policy.open_days,
                eligibility=policy.eligibility,
            ),
            milestones=[
                MilestoneRuleOut(
                    kind=m.kind,
                    label=m.get_kind_display(),
                    signatures=m.signatures,
                    threshold=m.threshold_for(authority),
                    formula=m.formula(),
                    window_days=m.window_days,
                    response_days=m.response_days,
                )
                for m in milestones
            ],
            powers=[
                PowerOut(
                    action=p.action,
                    courts=[str(c) for c in (p.courts or [])],
                    scope=p.scope,
                    citation=p.citation,
                    source_url=p.source_url,
                    confirmed=p.confirmed,
                )
                for p in powers
            ],
            petitions_api_url=api_link("petition-list") + f"?authority={authority.slug}",
        )


class AuthorityList(Schema):
    items: list[AuthorityItem]


# --------------------------------------------------------------------------- overdue


class OverdueItem(Schema):
    petition_id: int
    petition_action: str
    authority: str
    authority_name: str
    signature_count: int
    response_due_at: datetime
    days_overdue: int
    url: str
    api_url: str

    @classmethod
    def of(cls, overdue: Overdue) -> OverdueItem:
        addressee = overdue.addressee
        petition = addressee.petition
        assert addressee.response_due_at is not None
        return cls(
            petition_id=petition.pk,
            petition_action=petition.action,
            authority=addressee.authority.slug,
            authority_name=addressee.authority.name,
            signature_count=petition.signature_count,
            response_due_at=addressee.response_due_at,
            days_overdue=overdue.days_overdue,
            url=petition_page_link(petition.pk),
            api_url=api_link("petition-detail", petition.pk),
        )


class OverdueList(Schema):
    items: list[OverdueItem]


# ------------------------------------------------------------------- partner signing


class SignatureIn(Schema):
    """A signer's details, collected by the partner's own form."""

    name: str = Field(..., min_length=1, max_length=100)
    email: str = Field(..., min_length=3, max_length=254)
    postal_code: str = Field(..., min_length=1, max_length=16)
    country: str = Field(..., min_length=2, max_length=2, description="ISO 3166-1 alpha-2 code.")
    eligible: bool = Field(
        False, description="The signer confirmed the petition's eligibility statement, if any."
    )


class SignatureAccepted(Schema):
    """The same answer whether the person is new or has signed already."""

    status: Literal["pending_confirmation"]
    message: str


REJECTION_LABELS = dict(RejectionReason.choices)


def petition_out(petition: Petition, *, now: datetime) -> PetitionOut:
    """The full public record of one petition."""
    from petitio.petitions.selectors import petition_jurisdiction, petition_progress

    check = petition_jurisdiction(petition=petition)
    rejection = None
    if petition.state == State.REJECTED and petition.rejection_reason:
        rejection = RejectionOut(
            reason=petition.rejection_reason,
            reason_label=REJECTION_LABELS.get(petition.rejection_reason, ""),
            details=petition.rejection_details,
            # An original later hidden or removed is not revealed, not even by id.
            duplicate_of=petition.duplicate_of_id
            if petition.duplicate_of and petition.duplicate_of.state in API_VISIBLE_STATES
            else None,
        )
    return PetitionOut(
        id=petition.pk,
        action=petition.action,
        background=petition.background,
        details=petition.details,
        state=petition.state,
        state_label=petition.get_state_display(),
        signature_count=petition.signature_count,
        count_updated_at=petition.count_updated_at,
        created_at=petition.created_at,
        published_at=petition.published_at,
        opened_at=petition.opened_at,
        listed_at=petition.listed_at,
        closes_at=petition.closes_at,
        closed_at=petition.closed_at,
        signable=petition.is_signable(now),
        eligibility=petition.policy.eligibility,
        policy=petition.policy.slug,
        request=RequestOut(
            action=petition.request_action,
            persons=petition.request_persons,
            court=petition.request_court,
        )
        if petition.request_action
        else None,
        jurisdiction=JurisdictionOut(
            passed=check.passed,
            summary=check.summary(),
            can_act_instead=[AuthorityRef.of(p.authority) for p in check.can_act_instead],
        )
        if check
        else None,
        addressees=[AddresseeOut.of(p) for p in petition_progress(petition=petition, now=now)],
        rejection=rejection,
        links=PetitionLinks(
            html=petition_page_link(petition.pk),
            api=api_link("petition-detail", petition.pk),
            statistics=api_link("petition-statistics", petition.pk),
            responses=api_link("response-list") + f"?petition={petition.pk}",
            sign=api_link("petition-sign", petition.pk),
        ),
    )
