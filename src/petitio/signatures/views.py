"""The confirmation link: GET shows a button, only the POST confirms."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_http_methods

from petitio.petitions.forms import ResendForm
from petitio.petitions.selectors import petition_public
from petitio.petitions.services import JurisdictionRefused
from petitio.petitions.snapshots import petition_signing_copy
from petitio.signatures.services import (
    TokenRefused,
    signature_confirm,
    signature_token_lookup,
)

REFUSALS = {
    "unknown": (
        "This confirmation link is not valid",
        "It may have been copied incompletely, or replaced by a newer email.",
    ),
    "used": (
        "This link has already been used",
        "If you confirmed with it, your signature is counted. Nothing has changed.",
    ),
    "expired": (
        "This confirmation link has expired",
        "Your signature is still pending. Ask for a new link below.",
    ),
    "closed": (
        "This petition has closed",
        "It no longer accepts confirmations, so your signature was not counted.",
    ),
}


@require_http_methods(["GET", "POST"])
def signature_confirm_page(request: HttpRequest, petition_id: int, token: str) -> HttpResponse:
    petition = petition_signing_copy(petition_id, allow_draft=True)
    try:
        if request.method == "POST":
            signature = signature_confirm(petition=petition, token=token)
            if signature.is_creator:  # the next page says their petition is published
                request.session["confirmed_creator"] = True
            return redirect("signature-confirmed", petition.pk)
        found = signature_token_lookup(petition=petition, token=token)
    except JurisdictionRefused as refused:
        return render(
            request,
            "signatures/confirm_refused.html",
            {
                "petition": petition,
                "title": "This petition cannot be published as it is",
                "explanation": str(refused),
                "can_resend": False,
            },
            status=409,
        )
    except TokenRefused as refused:
        title, explanation = REFUSALS[refused.reason]
        status = 410 if refused.reason in ("used", "expired", "closed") else 404
        return render(
            request,
            "signatures/confirm_refused.html",
            {
                "petition": petition,
                "title": title,
                "explanation": explanation,
                "can_resend": refused.reason != "closed",
                "form": ResendForm(),
            },
            status=status,
        )
    return render(
        request,
        "signatures/confirm.html",
        {"petition": petition, "is_creator": found.signature.is_creator},
    )


@require_GET
def signature_confirmed(request: HttpRequest, petition_id: int) -> HttpResponse:
    petition = petition_public(petition_id)
    return render(
        request,
        "signatures/confirmed.html",
        {"petition": petition, "is_creator": request.session.pop("confirmed_creator", False)},
    )
