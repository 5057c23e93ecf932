"""Reads behind the API: public visibility, keyset pagination, aggregated statistics.

Every list is read in keyset order ``(sort key, id)``: a page ends at a cursor
naming the last row's key, and the next page starts strictly after it, so rows
created between two pages never shift the pages already read.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any, Generic, TypeVar, cast

from django.core.cache import cache
from django.db.models import (
    Count,
    DateTimeField,
    F,
    Model,
    OuterRef,
    Prefetch,
    Q,
    QuerySet,
    Subquery,
    Value,
)
from django.db.models.functions import Coalesce, TruncHour
from django.utils import timezone
from django_countries import countries

from petitio.api.postal import AreaKind, postal_area
from petitio.authorities.models import Authority
from petitio.petitions.models import PUBLIC_TEXT_STATES, Addressee, Petition, State
from petitio.petitions.selectors import petition_list_public
from petitio.responses.models import Response
from petitio.signatures.models import Signature

# States whose petitions (and their responses) the API shows; drafts, hidden
# and removed petitions are not there at all.
API_VISIBLE_STATES = tuple(str(s) for s in PUBLIC_TEXT_STATES)
# States a petition list can be filtered by (the ones public lists hold).
LISTED_FILTER_STATES = (
    State.OPEN,
    State.AWAITING_RESPONSE,
    State.RESPONDED,
    State.CLOSED,
    State.REJECTED,
)

_LATEST = datetime(9999, 1, 1, tzinfo=UTC)
_EARLIEST = datetime(1, 1, 2, tzinfo=UTC)

M = TypeVar("M", bound=Model)


class BadParameter(ValueError):
    """A parameter the API cannot use; ``field`` names it."""

    def __init__(self, field: str, message: str, code: str = "invalid") -> None:
        super().__init__(message)
        self.field = field
        self.code = code
        self.message = message


# --------------------------------------------------------------------------- keysets


@dataclass(frozen=True)
class Ordering:
    """A sort: the name clients use, the column (or annotation), direction, nullability."""

    name: str
    column: str
    descending: bool
    is_datetime: bool = False
    nullable: bool = False


@dataclass
class Page(Generic[M]):
    items: list[M]
    next_cursor: str | None


def _cursor_encode(ordering: Ordering, value: Any, pk: int) -> str:
    if isinstance(value, datetime):
        value = value.astimezone(UTC).isoformat()
    raw = json.dumps({"s": ordering.name, "v": value, "id": pk}, separators=(",", ":"))
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def _cursor_decode(cursor: str, ordering: Ordering) -> tuple[Any, int]:
    def refuse() -> BadParameter:
        return BadParameter(
            "cursor",
            "This cursor is not valid. Use the next_cursor of the previous page unchanged.",
            "invalid_cursor",
        )

    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        decoded = json.loads(raw)
    except (binascii.Error, ValueError, UnicodeDecodeError):
        raise refuse() from None
    if not isinstance(decoded, dict) or not isinstance(decoded.get("id"), int):
        raise refuse()
    if decoded.get("s") != ordering.name:
        raise BadParameter(
            "cursor",
            "This cursor belongs to another sort order. Keep the same sort while paging.",
            "cursor_sort_mismatch",
        )
    value = decoded.get("v")
    try:
        if ordering.is_datetime:
            value = datetime.fromisoformat(str(value))
            if value.tzinfo is None:
                raise ValueError
        elif not isinstance(value, int) or isinstance(value, bool):
            raise ValueError
    except (TypeError, ValueError):
        raise refuse() from None
    return value, decoded["id"]


def _keyset_sorted(queryset: QuerySet[M], ordering: Ordering) -> QuerySet[M]:
    if ordering.nullable:
        # Rows without a value come last in either direction.
        sentinel = _EARLIEST if ordering.descending else _LATEST
        key: Any = Coalesce(F(ordering.column), Value(sentinel, output_field=DateTimeField()))
    else:
        key = F(ordering.column)
    sign = "-" if ordering.descending else ""
    return cast("QuerySet[M]", queryset.annotate(_key=key).order_by(f"{sign}_key", f"{sign}pk"))


def _keyset_after(queryset: QuerySet[M], ordering: Ordering, value: Any, pk: int) -> QuerySet[M]:
    op = "lt" if ordering.descending else "gt"
    return queryset.filter(Q(**{f"_key__{op}": value}) | Q(_key=value, **{f"pk__{op}": pk}))


def keyset_page(
    queryset: QuerySet[M], *, ordering: Ordering, cursor: str | None, limit: int
) -> Page[M]:
    """One page of ``queryset`` in ``ordering``, starting after ``cursor``."""
    rows = _keyset_sorted(queryset, ordering)
    if cursor:
        value, pk = _cursor_decode(cursor, ordering)
        rows = _keyset_after(rows, ordering, value, pk)
    items = list(rows[: limit + 1])
    more = len(items) > limit
    items = items[:limit]
    next_cursor = None
    if more and items:
        last = items[-1]
        next_cursor = _cursor_encode(ordering, last._key, last.pk)  # type: ignore[attr-defined]
    return Page(items=items, next_cursor=next_cursor)


def keyset_all(queryset: QuerySet[M], *, ordering: Ordering, batch: int = 500) -> Iterator[list[M]]:
    """The whole result set in batches, in the same order as the pages."""
    cursor: str | None = None
    while True:
        page = keyset_page(queryset, ordering=ordering, cursor=cursor, limit=batch)
        if page.items:
            yield page.items
        if page.next_cursor is None:
            return
        cursor = page.next_cursor


# ------------------------------------------------------------------------ petitions

PETITION_SORTS = {
    ordering.name: ordering
    for ordering in (
        Ordering("-count", "signature_count", descending=True),
        Ordering("count", "signature_count", descending=False),
        Ordering("-created", "created_at", descending=True, is_datetime=True),
        Ordering("created", "created_at", descending=False, is_datetime=True),
        Ordering("deadline", "response_due_at", False, is_datetime=True, nullable=True),
        Ordering("-deadline", "response_due_at", True, is_datetime=True, nullable=True),
        Ordering("closing", "closes_at", descending=False, is_datetime=True, nullable=True),
        Ordering("-closing", "closes_at", descending=True, is_datetime=True, nullable=True),
    )
}


@dataclass(frozen=True)
class PetitionFilters:
    state: str = ""
    authority: str = ""
    query: str = ""
    created_from: date | None = None
    created_to: date | None = None
    closes_from: date | None = None
    closes_to: date | None = None
    min_count: int | None = None


def _day_start(day: date) -> datetime:
    return datetime.combine(day, time.min, tzinfo=UTC)


def _day_end(day: date) -> datetime | None:
    """The start of the next day, or None when there is none to represent."""
    return None if day >= date.max else _day_start(day + timedelta(days=1))


def _date_range(
    petitions: QuerySet[Petition], column: str, start: date | None, end: date | None, name: str
) -> QuerySet[Petition]:
    if start and end and start > end:
        raise BadParameter(
            f"{name}_from", f"{name}_from must not be after {name}_to.", "invalid_range"
        )
    if start:
        petitions = petitions.filter(**{f"{column}__gte": _day_start(start)})
    if end:
        upper = _day_end(end)
        if upper is not None:
            petitions = petitions.filter(**{f"{column}__lt": upper})
    return petitions


def response_due_outstanding() -> Subquery:
    """The earliest response deadline a petition still owes (no response yet)."""
    return Subquery(
        Addressee.objects.filter(
            petition=OuterRef("pk"), response_due_at__isnull=False, response__isnull=True
        )
        .order_by("response_due_at")
        .values("response_due_at")[:1],
        output_field=DateTimeField(),
    )


def petition_list_api(*, filters: PetitionFilters) -> QuerySet[Petition]:
    """The petitions public lists hold, filtered; unlisted petitions are not in it."""
    if filters.authority and not Authority.objects.filter(slug=filters.authority).exists():
        raise BadParameter(
            "authority", "No authority has this slug. See /api/v1/authorities.", "unknown"
        )
    petitions = petition_list_public(
        query=filters.query, state=filters.state, authority=filters.authority
    )
    petitions = _date_range(
        petitions, "created_at", filters.created_from, filters.created_to, "created"
    )
    petitions = _date_range(
        petitions, "closes_at", filters.closes_from, filters.closes_to, "closes"
    )
    if filters.min_count is not None:
        petitions = petitions.filter(signature_count__gte=filters.min_count)
    return petitions.annotate(response_due_at=response_due_outstanding()).prefetch_related(
        Prefetch(
            "addressees",
            queryset=Addressee.objects.select_related("authority").order_by("pk"),
        )
    )


def petition_get_public(*, petition_id: int) -> Petition | None:
    """A petition the API may show (any state with public text), or None."""
    return (
        Petition.objects.filter(pk=petition_id, state__in=API_VISIBLE_STATES)
        .select_related("policy", "duplicate_of")
        .first()
    )


def days_overdue(due: datetime | None, *, now: datetime) -> int | None:
    if due is None or due >= now:
        return None
    return (now - due).days


# ------------------------------------------------------------------------ responses

RESPONSE_SORTS = {
    ordering.name: ordering
    for ordering in (
        Ordering("-published", "published_at", descending=True, is_datetime=True),
        Ordering("published", "published_at", descending=False, is_datetime=True),
    )
}


def response_list_public(
    *, authority: str = "", petition_id: int | None = None
) -> QuerySet[Response]:
    """Published responses to petitions the API shows."""
    if authority and not Authority.objects.filter(slug=authority).exists():
        raise BadParameter(
            "authority", "No authority has this slug. See /api/v1/authorities.", "unknown"
        )
    responses = Response.objects.filter(
        addressee__petition__state__in=API_VISIBLE_STATES
    ).select_related("addressee__petition", "addressee__authority")
    if authority:
        responses = responses.filter(addressee__authority__slug=authority)
    if petition_id is not None:
        responses = responses.filter(addressee__petition_id=petition_id)
    return responses


def response_get_public(*, response_id: int) -> Response | None:
    return response_list_public().filter(pk=response_id).first()


# ---------------------------------------------------------------------- authorities


def authority_list_public() -> QuerySet[Authority]:
    return (
        Authority.objects.select_related("policy")
        .prefetch_related("policy__milestones", "powers")
        .order_by("name", "pk")
    )


def authority_get_public(*, slug: str) -> Authority | None:
    return authority_list_public().filter(slug=slug).first()


# ----------------------------------------------------------------------- statistics


@dataclass(frozen=True)
class AreaCount:
    country: str
    kind: AreaKind | None
    code: str | None
    label: str | None
    count: int


@dataclass(frozen=True)
class SignatureStatistics:
    """Verified signatures on one petition, counted by group. No row names a person."""

    total: int
    by_country: list[tuple[str, str, int]] = field(default_factory=list)
    by_region: list[tuple[str, str | None, int]] = field(default_factory=list)
    by_postal_area: list[AreaCount] = field(default_factory=list)
    by_day: list[tuple[date, int]] = field(default_factory=list)
    by_hour: list[tuple[datetime, int]] = field(default_factory=list)


def _sort_key(value: Any) -> tuple[Any, ...]:
    """Compare group keys with None after every value."""
    parts = value if isinstance(value, tuple) else (value,)
    return tuple((part is None, str(part or "")) for part in parts)


def _by_count(counter: Counter[Any]) -> list[tuple[Any, int]]:
    """Largest group first; ties in a stable order, unknowns last."""
    return sorted(counter.items(), key=lambda kv: (-kv[1], _sort_key(kv[0])))


def signature_statistics(*, petition: Petition) -> SignatureStatistics:
    """Aggregate the petition's verified signatures by country, region, postal area and time.

    Postal codes are read only to place each signature in its area; the codes
    themselves never leave this function. Every list adds up to ``total``.
    """
    verified = Signature.objects.filter(petition=petition, state=Signature.State.VERIFIED)
    countries_seen: Counter[str] = Counter()
    regions: Counter[tuple[str, str | None]] = Counter()
    areas: Counter[tuple[str, AreaKind | None, str | None, str | None]] = Counter()
    grouped = verified.values("country", "region", "postal_code").annotate(n=Count("id")).order_by()
    for row in grouped:
        country = str(row["country"] or "")
        n = row["n"]
        countries_seen[country] += n
        area = postal_area(country=country, postal_code=row["postal_code"] or "")
        region = row["region"] or None
        if region is None and area is not None and area.kind == "us_state":
            region = area.label
        regions[(country, region)] += n
        areas[
            (country, area.kind, area.code, area.label) if area else (country, None, None, None)
        ] += n

    hours: Counter[datetime] = Counter()
    hourly = (
        verified.annotate(hour=TruncHour(Coalesce("verified_at", "created_at"), tzinfo=UTC))
        .values("hour")
        .annotate(n=Count("id"))
        .order_by("hour")
    )
    for bucket in hourly:
        hour = bucket["hour"]
        if timezone.is_naive(hour):
            hour = hour.replace(tzinfo=UTC)
        hours[hour.astimezone(UTC)] += bucket["n"]
    days: Counter[date] = Counter()
    for hour, n in hours.items():
        days[hour.date()] += n

    return SignatureStatistics(
        total=sum(countries_seen.values()),
        by_country=[
            (code, str(countries.name(code)) if code else "", n)
            for code, n in _by_count(countries_seen)
        ],
        by_region=[(c, r, n) for (c, r), n in _by_count(regions)],
        by_postal_area=[
            AreaCount(country=c, kind=k, code=code, label=label, count=n)
            for (c, k, code, label), n in _by_count(areas)
        ],
        by_day=sorted(days.items()),
        by_hour=sorted(hours.items()),
    )


STATISTICS_CACHE_SECONDS = 30


def signature_statistics_cached(*, petition: Petition) -> SignatureStatistics:
    """The statistics, computed at most once per count change and half-minute.

    A viral petition's statistics group many thousands of rows; readers share
    one computation. The key moves with the petition's count, so a new tally
    is seen at once; invalidations show within the half-minute.
    """
    stamp = petition.count_updated_at.timestamp() if petition.count_updated_at else 0
    key = f"petitio:api:statistics:{petition.pk}:{petition.signature_count}:{stamp}"
    found = cache.get(key)
    if not isinstance(found, SignatureStatistics):
        found = signature_statistics(petition=petition)
        cache.set(key, found, STATISTICS_CACHE_SECONDS)
    return found
