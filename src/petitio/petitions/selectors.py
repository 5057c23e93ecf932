"""Reads used by the pages: the query shapes live here, not in views."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db.models import Exists, OuterRef, Q, QuerySet
from django.http import Http404
from django.shortcuts import get_object_or_404
from django.utils import timezone

from petitio.authorities.jurisdiction import JurisdictionCheck, jurisdiction_check
from petitio.authorities.models import Authority, Milestone
from petitio.petitions.milestones import milestone_window_open
from petitio.petitions.models import (
    LISTED_STATES,
    Addressee,
    MilestoneReached,
    Petition,
    State,
)


def petition_public(petition_id: int, *, allow_draft: bool = False) -> Petition:
    """A petition with a public page. Drafts have none (404), except for the
    creator's own confirmation and resend pages."""
    petition = get_object_or_404(Petition.objects.select_related("policy"), pk=petition_id)
    if petition.state == State.DRAFT and not allow_draft:
        raise Http404("No such petition")
    return petition


def petition_list_public(
    *, query: str = "", state: str = "", authority: str = ""
) -> QuerySet[Petition]:
    """Petitions anyone can find: listed ones, and rejected ones (with reasons)."""
    # PostgreSQL cannot compare text with NUL; no stored text contains one anyway.
    query, authority = query.replace("\x00", " "), authority.replace("\x00", "")
    petitions = Petition.objects.filter(
        Q(state__in=LISTED_STATES, listed_at__isnull=False) | Q(state=State.REJECTED)
    )
    if state in State.values:
        petitions = petitions.filter(state=state)
    if authority:
        petitions = petitions.filter(addressees__authority__slug=authority)
    for word in query.split()[:8]:
        petitions = petitions.filter(
            Q(action__icontains=word) | Q(background__icontains=word) | Q(details__icontains=word)
        )
    return petitions.order_by("-signature_count", "-created_at").distinct()


def petition_list_open(*, limit: int = 10) -> QuerySet[Petition]:
    return petition_list_public(state=State.OPEN)[:limit]


def petition_list_recently_responded(*, limit: int = 5) -> QuerySet[Petition]:
    return (
        Petition.objects.filter(state=State.RESPONDED)
        .exclude(addressees__response__isnull=True)
        .order_by("-addressees__response__published_at")
        .distinct()[:limit]
    )


@dataclass(frozen=True)
class Overdue:
    addressee: Addressee
    days_overdue: int


def addressees_overdue(*, now: datetime | None = None, limit: int | None = None) -> list[Overdue]:
    """Responses owed past their deadline, worst first."""
    now = now or timezone.now()
    rows = (
        Addressee.objects.filter(response_due_at__lt=now, response__isnull=True)
        .exclude(petition__state__in=[State.REMOVED, State.HIDDEN])
        .select_related("petition", "authority")
        .order_by("response_due_at")
    )
    if limit:
        rows = rows[:limit]
    return [Overdue(a, (now - a.response_due_at).days) for a in rows if a.response_due_at]


def petitions_for_moderation() -> QuerySet[Petition]:
    return Petition.objects.filter(state=State.PENDING).order_by("published_at")


def addressees_owing_response(*, authorities: QuerySet[Authority]) -> QuerySet[Addressee]:
    from petitio.responses.models import Response

    return (
        Addressee.objects.filter(authority__in=authorities, response_due_at__isnull=False)
        .annotate(responded=Exists(Response.objects.filter(addressee=OuterRef("pk"))))
        .select_related("petition", "authority")
        .order_by("responded", "response_due_at")
    )


@dataclass(frozen=True)
class MilestoneProgress:
    milestone: Milestone
    threshold: int
    reached: MilestoneReached | None
    window_ends_at: datetime | None
    missed: bool


@dataclass(frozen=True)
class AddresseeProgress:
    addressee: Addressee
    milestones: list[MilestoneProgress]
    next_milestone: MilestoneProgress | None
    percent_to_next: int
    days_overdue: int | None


def petition_progress(
    *, petition: Petition, now: datetime | None = None
) -> list[AddresseeProgress]:
    """Each addressee's milestones, the next one to reach, and any lateness."""
    now = now or timezone.now()
    result = []
    for addressee in petition.addressees.select_related("authority__policy"):
        reached = {r.milestone_id: r for r in addressee.milestones.all()}
        rows = []
        for milestone in addressee.authority.policy.milestones.all():
            window_end = (
                petition.opened_at + timedelta(days=milestone.window_days)
                if petition.opened_at and milestone.window_days
                else None
            )
            hit = reached.get(milestone.pk)
            missed = (
                hit is None
                and petition.opened_at is not None
                and not milestone_window_open(milestone, petition, now)
            )
            threshold = milestone.threshold_for(addressee.authority)
            rows.append(MilestoneProgress(milestone, threshold, hit, window_end, missed))
        upcoming = [r for r in rows if r.reached is None and not r.missed]
        nxt = upcoming[0] if upcoming else None
        percent = min(100, petition.signature_count * 100 // nxt.threshold) if nxt else 100
        overdue = None
        due = addressee.response_due_at
        if due and due < now and not hasattr(addressee, "response"):
            overdue = (now - due).days
        result.append(AddresseeProgress(addressee, rows, nxt, percent, overdue))
    return result


def petition_jurisdiction(*, petition: Petition) -> JurisdictionCheck | None:
    """The "who can act on this" finding for a petition with a structured request."""
    if not petition.request_action:
        return None
    return jurisdiction_check(
        action=petition.request_action,
        court=petition.request_court,
        authorities=petition.authorities.all(),
    )
