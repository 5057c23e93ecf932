"""Public petition pages. Each view calls one service or selector."""

from __future__ import annotations

from django.contrib import messages
from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse, JsonResponse, QueryDict
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods

from petitio.authorities.jurisdiction import court_label
from petitio.authorities.models import Authority
from petitio.config.pagecache import page_cache_allow
from petitio.petitions import selectors
from petitio.petitions.forms import PetitionForm, ResendForm, SignatureForm, form_errors_add
from petitio.petitions.models import Petition, State
from petitio.petitions.search import SUGGESTED_STATES, SimilarPetition, petitions_similar
from petitio.petitions.selectors import petition_public
from petitio.petitions.services import (
    JurisdictionRefused,
    PetitionRequest,
    petition_create,
    petition_preview_check,
)
from petitio.petitions.snapshots import petition_signing_copy
from petitio.signatures.models import TallyState
from petitio.signatures.services import (
    SigningRefused,
    signature_confirmation_resend,
    signature_create,
    signing_refusal,
)


def request_meta(request: HttpRequest) -> dict[str, str]:
    """What fraud review may need about a submission; never logged."""
    return {
        "ip": request.META.get("REMOTE_ADDR", ""),
        "user_agent": request.META.get("HTTP_USER_AGENT", "")[:200],
    }


@require_GET
def home(request: HttpRequest) -> HttpResponse:
    return render(
        request,
        "petitions/home.html",
        {
            "open_petitions": selectors.petition_list_open(limit=10),
            "responded": selectors.petition_list_recently_responded(limit=5),
            "overdue": selectors.addressees_overdue(limit=5),
        },
    )


@require_GET
def petition_list(request: HttpRequest) -> HttpResponse:
    query = request.GET.get("q", "")[:200]
    state = request.GET.get("state", "")
    authority = request.GET.get("authority", "")
    petitions = selectors.petition_list_public(query=query, state=state, authority=authority)
    page = Paginator(petitions, 20).get_page(request.GET.get("page"))
    return render(
        request,
        "petitions/list.html",
        {
            "page": page,
            "query": query,
            "state": state,
            "authority": authority,
            "states": [
                s
                for s in State
                if s
                in (
                    State.OPEN,
                    State.AWAITING_RESPONSE,
                    State.RESPONDED,
                    State.CLOSED,
                    State.REJECTED,
                )
            ],
            "authorities": Authority.objects.all(),
        },
    )


@require_GET
def petition_detail(request: HttpRequest, petition_id: int) -> HttpResponse:
    petition = petition_public(petition_id)
    status = 410 if petition.state == State.REMOVED else 200
    form = SignatureForm(eligibility=petition.policy.eligibility)
    return page_cache_allow(_detail(request, petition, form, status=status))


def _similar_cached(petition: Petition) -> list[SimilarPetition]:
    """Similar petitions for a petition page, recomputed at most once a minute:
    a full-text search on every view of a viral petition would cost more than
    the rest of the page."""
    key = f"petitio:similar:{petition.pk}"
    ids = cache.get(key)
    if ids is None:
        found = petitions_similar(
            text=f"{petition.action} {petition.background}", exclude_id=petition.pk
        )
        cache.set(key, [s.petition.pk for s in found], 60)
        return found
    # States change within the minute: a petition hidden since is not shown.
    petitions = Petition.objects.filter(state__in=SUGGESTED_STATES).in_bulk(ids)
    return [SimilarPetition(petitions[pk], 0.0) for pk in ids if pk in petitions]


def _detail(request: HttpRequest, petition: Petition, form: SignatureForm, status: int = 200):
    tally = TallyState.objects.filter(id=1).first()
    return render(
        request,
        "petitions/detail.html",
        {
            "petition": petition,
            "form": form,
            "refusal": signing_refusal(petition),
            "progress": selectors.petition_progress(petition=petition),
            "responses": [a.response for a in petition.addressees.all() if hasattr(a, "response")],
            "count_checked_at": tally.last_run_at if tally else None,
            "duplicate_of": (
                petition.duplicate_of
                if petition.duplicate_of is not None and petition.duplicate_of.shows_text
                else None
            ),
            "jurisdiction": selectors.petition_jurisdiction(petition=petition),
            "similar": _similar_cached(petition) if petition.shows_text else [],
            "jurisdiction_court": court_label(petition.request_court),
        },
        status=status,
    )


def signature_posted(petition: Petition, request: HttpRequest) -> None:
    """Sign ``petition`` with the signing form's POST (this view, and the
    signing route in front of Django: config/signroute.py)."""
    posted = request.POST
    signature_create(
        petition=petition,
        name=posted.get("name", ""),
        email=posted.get("email", ""),
        postal_code=posted.get("postal_code", ""),
        country=posted.get("country", ""),
        eligible=bool(SignatureForm.base_fields["eligible"].to_python(posted.get("eligible"))),
        request_meta=request_meta(request),
    )


@require_http_methods(["GET", "POST"])
def petition_sign(request: HttpRequest, petition_id: int) -> HttpResponse:
    """The signing form's POST: the hottest path of a viral petition.

    The service validates what was posted, so a valid signature costs no form
    object; the form is built only to show errors, with what was typed.
    """
    petition = petition_signing_copy(petition_id)
    if request.method == "GET":  # e.g. Enter in the address bar after a refused form
        return redirect("petition-detail", petition.pk)
    try:
        signature_posted(petition, request)
    except SigningRefused as refused:
        messages.error(request, str(refused))
        return redirect("petition-detail", petition.pk)
    except ValidationError as invalid:
        form = SignatureForm(request.POST, eligibility=petition.policy.eligibility)
        form_errors_add(form, invalid)
        return _detail(request, petition, form, status=400)
    return redirect("petition-check-email", petition.pk)


@require_GET
def petition_check_email(request: HttpRequest, petition_id: int) -> HttpResponse:
    petition = petition_public(petition_id, allow_draft=True)
    return render(
        request, "petitions/check_email.html", {"petition": petition, "form": ResendForm()}
    )


@require_http_methods(["GET", "POST"])
def petition_resend(request: HttpRequest, petition_id: int) -> HttpResponse:
    """Ask for the confirmation email again. The answer never says who signed."""
    petition = petition_public(petition_id, allow_draft=True)
    form = ResendForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        signature_confirmation_resend(petition=petition, email=form.cleaned_data["email"])
        messages.info(
            request,
            "If that address has an unconfirmed signature on this petition, "
            "we have sent the confirmation email again.",
        )
        return redirect("petition-check-email", petition.pk)
    return render(request, "petitions/resend.html", {"petition": petition, "form": form})


def _petition_new_data(request: HttpRequest) -> QueryDict | None:
    """The form data, with a one-click "address this instead / also" applied."""
    if request.method != "POST":
        return None
    data = request.POST.copy()
    if instead := data.get("address_instead"):
        data["authority"] = instead
        data.setlist("also_to", [])
    elif also := data.get("also_address"):
        data.setlist("also_to", [*data.getlist("also_to"), also])
    return data


def _petition_new_initial(request: HttpRequest) -> dict[str, object]:
    """Start from another petition's text (the "address this instead" link)."""
    initial: dict[str, object] = {"authority": request.GET.get("authority", "")}
    source = Petition.objects.filter(
        pk=request.GET.get("from", "0") if request.GET.get("from", "").isdigit() else 0
    ).first()
    if source is not None and source.shows_text:
        initial |= {
            "action": source.action,
            "background": source.background,
            "details": source.details,
            "request_action": source.request_action,
            "request_persons": source.request_persons,
            "request_court": source.request_court,
        }
    return initial


@require_http_methods(["GET", "POST"])
def petition_new(request: HttpRequest) -> HttpResponse:
    form = PetitionForm(_petition_new_data(request), initial=_petition_new_initial(request))
    refused: JurisdictionRefused | None = None
    similar: list[SimilarPetition] = []
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        similar = petitions_similar(text=f"{data['action']} {data['background']}")
        petition_request = PetitionRequest(
            data["request_action"], data["request_persons"], data["request_court"]
        )
        try:
            if similar and not data["seen_similar"]:
                form.add_error(
                    "seen_similar",
                    "Similar petitions exist (listed above). Sign one of them instead, or "
                    "tick this box to confirm yours asks for something different.",
                )
                petition_preview_check(
                    authorities=[data["authority"], *data["also_to"]],
                    request=petition_request,
                    request_declined=data["request_declined"],
                    text=data["action"] + " " + data["background"],
                )
            else:
                petition = petition_create(
                    action=data["action"],
                    background=data["background"],
                    details=data["details"],
                    authority=data["authority"],
                    also_to=list(data["also_to"]),
                    request=petition_request,
                    request_declined=data["request_declined"],
                    creator_name=data["name"],
                    creator_email=data["email"],
                    postal_code=data["postal_code"],
                    country=data["country"],
                    eligible=data["eligible"],
                    request_meta=request_meta(request),
                )
                request.session["created_petition"] = petition.pk
                return redirect(reverse("petition-created"))
        except ValidationError as invalid:
            form.add_error(None, invalid)
        except JurisdictionRefused as exc:
            refused = exc
    status = 400 if form.errors or refused else 200
    return render(
        request,
        "petitions/new.html",
        {"form": form, "refused": refused.check if refused else None, "similar": similar},
        status=status,
    )


@require_GET
def petition_created(request: HttpRequest) -> HttpResponse:
    return render(request, "petitions/created.html")


@require_GET
def petition_count(request: HttpRequest, petition_id: int) -> JsonResponse:
    """The live count, cheap to serve: one primary-key read, cached briefly."""
    row = (
        Petition.objects.filter(pk=petition_id)
        .exclude(state__in=[State.DRAFT, State.HIDDEN, State.REMOVED])
        .values("pk", "signature_count", "state", "count_updated_at")
        .first()
    )
    if row is None:
        return JsonResponse({"code": "not_found", "message": "No such petition."}, status=404)
    response = JsonResponse(
        {
            "id": row["pk"],
            "signature_count": row["signature_count"],
            "state": row["state"],
            "count_updated_at": row["count_updated_at"],
        }
    )
    response["Cache-Control"] = "public, max-age=2"
    # Half a second: with the tally every second, a confirmation shows within two.
    return page_cache_allow(response, seconds=0.5)


@require_GET
def petition_similar_json(request: HttpRequest) -> JsonResponse:
    """Similar petitions for the text a creator is typing (progressive enhancement)."""
    text = request.GET.get("q", "")[:1000]
    found = petitions_similar(text=text, limit=5)
    return JsonResponse(
        {
            "petitions": [
                {
                    "id": s.petition.pk,
                    "action": s.petition.action,
                    "state": s.petition.get_state_display(),
                    "signature_count": s.petition.signature_count,
                    "url": reverse("petition-detail", args=[s.petition.pk]),
                }
                for s in found
            ]
        }
    )
