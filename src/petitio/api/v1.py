"""The public JSON API, version 1: read endpoints, CSV exports and partner signing.

Endpoints stay thin: each reads through one selector (or calls the signing
service) and shapes the answer with ``schemas``. HTTP concerns shared by every
endpoint (errors as JSON, CORS, conditional GET, caching, HEAD and OPTIONS)
live in ``protocol``.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Any, Literal
from urllib.parse import urlencode

from django.http import HttpRequest, HttpResponse
from django.http.response import HttpResponseBase
from django.utils import timezone
from ninja import Path, Query, Status
from ninja.security import HttpBearer

from petitio.api import selectors
from petitio.api.csv import CSV_MEDIA_TYPE, csv_response
from petitio.api.models import PartnerKey, Scope
from petitio.api.protocol import ApiError, PetitioAPI
from petitio.api.ratelimit import rate_limit_hit
from petitio.api.schemas import (
    MAX_ID,
    AuthorityItem,
    AuthorityList,
    AuthorityOut,
    Error,
    OverdueItem,
    OverdueList,
    PageQuery,
    PetitionItem,
    PetitionOut,
    PetitionPage,
    PetitionQuery,
    ResponseItem,
    ResponseOut,
    ResponsePage,
    ResponseQuery,
    SignatureAccepted,
    SignatureIn,
    StatisticsOut,
    StatisticsRow,
    petition_out,
    site_link,
)
from petitio.api.services import partner_key_authenticate
from petitio.petitions.models import Petition
from petitio.petitions.selectors import addressees_overdue
from petitio.signatures.services import SigningRefused, signature_create

logger = logging.getLogger(__name__)

DESCRIPTION = """\
Petitions, their signature counts and milestones, responses, authorities and
overdue responses, as JSON and as CSV. Reading needs no key.

* Lists are paged with a cursor: pass the previous page's `next_cursor` as
  `?cursor=`. Pages stay consistent while new petitions are created.
* Every list is also available as CSV (`?format=csv` or the `.csv` address), for
  the whole result set, streamed.
* Responses carry `ETag` and `Last-Modified`; send `If-None-Match` or
  `If-Modified-Since` to get `304 Not Modified` when nothing changed.
* Errors are JSON: `{"code", "message", "field"}`.
* Signature statistics are aggregated only; no name, email or postal code of a
  signer is ever published.
* Partner sites registered by the Petitio team can submit signatures with their
  API key (`Authorization: Bearer ptk_...`); each signer still confirms by email.
"""

CACHE_SECONDS = {
    # Counts move every second or so: a short max-age.
    "petition-list": 5,
    "petition-list-csv": 5,
    "petition-detail": 5,
    "petition-statistics": 30,
    "petition-statistics-csv": 30,
    "response-list": 60,
    "response-list-csv": 60,
    "response-detail": 60,
    "authority-list": 300,
    "authority-list-csv": 300,
    "authority-detail": 300,
    "overdue-list": 60,
    "overdue-list-csv": 60,
    "openapi-json": 300,
    "openapi-view": 300,
}

api = PetitioAPI(
    title="Petitio API",
    version="1",
    description=DESCRIPTION,
    urls_namespace="api-v1",
    docs_url="/docs",
    openapi_url="/openapi.json",
    cache_seconds=CACHE_SECONDS,
)

ERRORS: dict[int, Any] = {400: Error, 404: Error}
CSV_CONTENT = {"responses": {200: {"content": {CSV_MEDIA_TYPE: {"schema": {"type": "string"}}}}}}
CSV_ONLY = {
    "responses": {
        200: {
            "description": "CSV, one row per item, streamed.",
            "content": {CSV_MEDIA_TYPE: {"schema": {"type": "string"}}},
        }
    }
}
Format = Literal["json", "csv"]


def _next_link(request: HttpRequest, cursor: str | None) -> str | None:
    if cursor is None:
        return None
    params = {k: v for k, v in request.GET.items() if k != "cursor"}
    params["cursor"] = cursor
    return site_link(f"{request.path}?{urlencode(params)}")


# ------------------------------------------------------------------------- petitions


def _petitions_csv(petitions: PetitionQuery) -> HttpResponseBase:
    queryset = selectors.petition_list_api(filters=petitions.filters())
    ordering = selectors.PETITION_SORTS[petitions.sort]
    now = timezone.now()

    def batches() -> Iterator[list[PetitionItem]]:
        for batch in selectors.keyset_all(queryset, ordering=ordering):
            yield [PetitionItem.of(p, now=now) for p in batch]

    return csv_response(schema=PetitionItem, batches=batches(), filename="petitions.csv")


@api.get(
    "/petitions",
    response={200: PetitionPage, **ERRORS},
    url_name="petition-list",
    tags=["petitions"],
    summary="List petitions",
    openapi_extra=CSV_CONTENT,
)
def petition_list(
    request: HttpRequest,
    petitions: Query[PetitionQuery],
    page: Query[PageQuery],
    format: Format = "json",
):
    """Listed petitions (and rejected ones, with reasons), filtered and sorted.

    With `format=csv`, the whole result set as CSV (cursor and limit are ignored)."""
    if format == "csv":
        return _petitions_csv(petitions)
    result = selectors.keyset_page(
        selectors.petition_list_api(filters=petitions.filters()),
        ordering=selectors.PETITION_SORTS[petitions.sort],
        cursor=page.cursor,
        limit=page.limit,
    )
    now = timezone.now()
    return PetitionPage(
        items=[PetitionItem.of(p, now=now) for p in result.items],
        next_cursor=result.next_cursor,
        next=_next_link(request, result.next_cursor),
    )


@api.get(
    "/petitions.csv",
    response={200: None, **ERRORS},
    url_name="petition-list-csv",
    tags=["petitions"],
    summary="List petitions as CSV",
    openapi_extra=CSV_ONLY,
)
def petition_list_csv(request: HttpRequest, petitions: Query[PetitionQuery]):
    """The same rows as `GET /petitions`, all of them, as CSV."""
    return _petitions_csv(petitions)


def _petition_or_404(petition_id: int) -> Petition:
    petition = selectors.petition_get_public(petition_id=petition_id)
    if petition is None:
        raise ApiError(404, "not_found", "No public petition has this id.", "petition_id")
    return petition


PetitionId = Path(..., ge=1, le=MAX_ID, description="The petition's id.")


@api.get(
    "/petitions/{petition_id}",
    response={200: PetitionOut, **ERRORS},
    url_name="petition-detail",
    tags=["petitions"],
    summary="One petition",
)
def petition_detail(request: HttpRequest, petition_id: int = PetitionId):
    """A petition's text, addressees, milestones (threshold, window, reached-at),
    response deadlines, lateness, responses and links."""
    return petition_out(_petition_or_404(petition_id), now=timezone.now())


def _statistics(petition_id: int) -> StatisticsOut:
    petition = _petition_or_404(petition_id)
    return StatisticsOut.of(petition, selectors.signature_statistics_cached(petition=petition))


@api.get(
    "/petitions/{petition_id}/statistics",
    response={200: StatisticsOut, **ERRORS},
    url_name="petition-statistics",
    tags=["petitions"],
    summary="Signature statistics of one petition (aggregated)",
    openapi_extra=CSV_CONTENT,
)
def petition_statistics(
    request: HttpRequest,
    petition_id: int = PetitionId,
    format: Format = "json",
):
    """Verified signatures by country, region, postal area (US state from the ZIP
    code, UK postcode district), day and hour. Aggregates only: no signer's name,
    email or postal code. Each list adds up to `verified_signatures`.

    With `format=csv`: one row per group (dimension, country, key, label, count)."""
    stats = _statistics(petition_id)
    if format == "csv":
        return _statistics_csv(stats, petition_id)
    return stats


def _statistics_csv(stats: StatisticsOut, petition_id: int) -> HttpResponseBase:
    return csv_response(
        schema=StatisticsRow,
        batches=[StatisticsRow.rows(stats)],
        filename=f"petition-{petition_id}-statistics.csv",
    )


@api.get(
    "/petitions/{petition_id}/statistics.csv",
    response={200: None, **ERRORS},
    url_name="petition-statistics-csv",
    tags=["petitions"],
    summary="Signature statistics of one petition as CSV",
    openapi_extra=CSV_ONLY,
)
def petition_statistics_csv(request: HttpRequest, petition_id: int = PetitionId):
    return _statistics_csv(_statistics(petition_id), petition_id)


# ------------------------------------------------------------------- partner signing


class PartnerKeyAuth(HttpBearer):
    """A partner's API key, sent as ``Authorization: Bearer ptk_...``.

    Admission also applies the key's scope and its per-minute rate limit, so a
    refused call costs nothing more than this check.
    """

    def authenticate(self, request: HttpRequest, token: str) -> PartnerKey | None:
        partner = partner_key_authenticate(key=token)
        if partner is None:
            return None
        if not partner.has_scope(Scope.SIGNATURES_WRITE):
            raise ApiError(
                403, "scope_missing", "This API key may not submit signatures.", "authorization"
            )
        decision = rate_limit_hit(
            bucket=f"partner:{partner.pk}", limit=partner.rate_limit_per_minute
        )
        rate_headers = {
            "X-RateLimit-Limit": str(decision.limit),
            "X-RateLimit-Remaining": str(decision.remaining),
        }
        if not decision.allowed:
            raise ApiError(
                429,
                "rate_limited",
                f"This key may make {decision.limit} calls a minute. "
                f"Try again in {decision.retry_after} seconds.",
                headers={**rate_headers, "Retry-After": str(decision.retry_after)},
            )
        request.partner_rate_headers = rate_headers  # type: ignore[attr-defined]
        return partner


def partner_request_meta(request: HttpRequest, partner: PartnerKey) -> dict[str, Any]:
    """What fraud review needs about a partner's submission: which key made it."""
    return {
        "via": "api",
        "partner_key_id": partner.pk,
        "partner_key_prefix": partner.key_prefix,
        "partner": partner.name,
        "ip": request.META.get("REMOTE_ADDR", ""),
        "user_agent": request.META.get("HTTP_USER_AGENT", "")[:200],
    }


SIGNATURE_ACCEPTED = SignatureAccepted(
    status="pending_confirmation",
    message=(
        "Thank you. We have emailed the signer a link to confirm their signature; "
        "it counts once they confirm. (A person who has signed already gets the same answer.)"
    ),
)


@api.post(
    "/petitions/{petition_id}/signatures",
    auth=PartnerKeyAuth(),
    response={
        202: SignatureAccepted,
        400: Error,
        401: Error,
        403: Error,
        404: Error,
        409: Error,
        429: Error,
    },
    url_name="petition-sign",
    tags=["partners"],
    summary="Submit a signature (partners)",
)
def petition_sign(
    request: HttpRequest,
    response: HttpResponse,
    signer: SignatureIn,
    petition_id: int = PetitionId,
):
    """Create a pending signature through the same service as the site's form:
    the signer confirms by email, someone who signed already gets the same
    answer as a new signer, and the same rules apply. The call is recorded
    against the partner's key. Rate-limited per key (429 with Retry-After)."""
    partner: PartnerKey = request.auth  # type: ignore[attr-defined]
    for header, value in getattr(request, "partner_rate_headers", {}).items():
        response[header] = value
    petition = _petition_or_404(petition_id)
    try:
        signature_create(
            petition=petition,
            name=signer.name,
            email=signer.email,
            postal_code=signer.postal_code,
            country=signer.country,
            eligible=signer.eligible,
            request_meta=partner_request_meta(request, partner),
        )
    except SigningRefused as refused:
        raise ApiError(409, "not_signable", str(refused)) from None
    return Status(202, SIGNATURE_ACCEPTED)


# ------------------------------------------------------------------------- responses


def _responses(query: ResponseQuery):
    return selectors.response_list_public(
        authority=query.authority or "", petition_id=query.petition
    )


def _responses_csv(query: ResponseQuery) -> HttpResponseBase:
    queryset = _responses(query)
    ordering = selectors.RESPONSE_SORTS[query.sort]
    batches = (
        [ResponseItem.of(r) for r in batch]
        for batch in selectors.keyset_all(queryset, ordering=ordering)
    )
    return csv_response(schema=ResponseItem, batches=batches, filename="responses.csv")


@api.get(
    "/responses",
    response={200: ResponsePage, **ERRORS},
    url_name="response-list",
    tags=["responses"],
    summary="List published responses",
    openapi_extra=CSV_CONTENT,
)
def response_list(
    request: HttpRequest,
    query: Query[ResponseQuery],
    page: Query[PageQuery],
    format: Format = "json",
):
    if format == "csv":
        return _responses_csv(query)
    result = selectors.keyset_page(
        _responses(query),
        ordering=selectors.RESPONSE_SORTS[query.sort],
        cursor=page.cursor,
        limit=page.limit,
    )
    return ResponsePage(
        items=[ResponseItem.of(r) for r in result.items],
        next_cursor=result.next_cursor,
        next=_next_link(request, result.next_cursor),
    )


@api.get(
    "/responses.csv",
    response={200: None, **ERRORS},
    url_name="response-list-csv",
    tags=["responses"],
    summary="List published responses as CSV",
    openapi_extra=CSV_ONLY,
)
def response_list_csv(request: HttpRequest, query: Query[ResponseQuery]):
    return _responses_csv(query)


@api.get(
    "/responses/{response_id}",
    response={200: ResponseOut, **ERRORS},
    url_name="response-detail",
    tags=["responses"],
    summary="One response",
)
def response_detail(request: HttpRequest, response_id: int = Path(..., ge=1, le=MAX_ID)):
    found = selectors.response_get_public(response_id=response_id)
    if found is None:
        raise ApiError(404, "not_found", "No published response has this id.", "response_id")
    return ResponseOut.detail(found)


# ----------------------------------------------------------------------- authorities


def _authorities_csv() -> HttpResponseBase:
    items = [AuthorityItem.of(a) for a in selectors.authority_list_public()]
    return csv_response(schema=AuthorityItem, batches=[items], filename="authorities.csv")


@api.get(
    "/authorities",
    response={200: AuthorityList, **ERRORS},
    url_name="authority-list",
    tags=["authorities"],
    summary="List authorities",
    openapi_extra=CSV_CONTENT,
)
def authority_list(request: HttpRequest, format: Format = "json"):
    """Every authority petitions can be addressed to."""
    if format == "csv":
        return _authorities_csv()
    return AuthorityList(items=[AuthorityItem.of(a) for a in selectors.authority_list_public()])


@api.get(
    "/authorities.csv",
    response={200: None, **ERRORS},
    url_name="authority-list-csv",
    tags=["authorities"],
    summary="List authorities as CSV",
    openapi_extra=CSV_ONLY,
)
def authority_list_csv(request: HttpRequest):
    return _authorities_csv()


@api.get(
    "/authorities/{slug}",
    response={200: AuthorityOut, **ERRORS},
    url_name="authority-detail",
    tags=["authorities"],
    summary="One authority, with its powers and response policy",
)
def authority_detail(
    request: HttpRequest, slug: str = Path(..., max_length=50, pattern=r"^[a-z0-9-]+$")
):
    authority = selectors.authority_get_public(slug=slug)
    if authority is None:
        raise ApiError(404, "not_found", "No authority has this slug.", "slug")
    return AuthorityOut.detail(authority)


# --------------------------------------------------------------------------- overdue


def _overdue_items() -> list[OverdueItem]:
    return [
        OverdueItem.of(o)
        for o in addressees_overdue()
        if o.addressee.petition.state in selectors.API_VISIBLE_STATES
    ]


@api.get(
    "/overdue",
    response={200: OverdueList, **ERRORS},
    url_name="overdue-list",
    tags=["responses"],
    summary="Responses owed past their deadline",
    openapi_extra=CSV_CONTENT,
)
def overdue_list(request: HttpRequest, format: Format = "json"):
    """Every response owed past its deadline, the most overdue first."""
    if format == "csv":
        return _overdue_csv()
    return OverdueList(items=_overdue_items())


def _overdue_csv() -> HttpResponseBase:
    return csv_response(schema=OverdueItem, batches=[_overdue_items()], filename="overdue.csv")


@api.get(
    "/overdue.csv",
    response={200: None, **ERRORS},
    url_name="overdue-list-csv",
    tags=["responses"],
    summary="Overdue responses as CSV",
    openapi_extra=CSV_ONLY,
)
def overdue_list_csv(request: HttpRequest):
    return _overdue_csv()
