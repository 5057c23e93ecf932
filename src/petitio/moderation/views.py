"""The moderation queue and decisions. Moderators only."""

from __future__ import annotations

from functools import wraps

from django.contrib import messages
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_GET, require_POST

from petitio.authorities.rules import is_moderator
from petitio.moderation.forms import RejectForm, RemoveForm
from petitio.petitions.models import Petition
from petitio.petitions.selectors import petitions_for_moderation
from petitio.petitions.services import (
    TransitionRefused,
    petition_approve,
    petition_reject,
    petition_remove,
)


def moderator_required(view):
    @wraps(view)
    def wrapped(request: HttpRequest, *args, **kwargs):
        if not request.user.is_authenticated:
            return redirect_to_login(request.get_full_path())
        if not is_moderator(request.user):
            raise PermissionDenied("Moderators only.")
        return view(request, *args, **kwargs)

    return wrapped


@require_GET
@moderator_required
def moderation_queue(request: HttpRequest) -> HttpResponse:
    return render(request, "moderation/queue.html", {"petitions": petitions_for_moderation()})


@require_GET
@moderator_required
def moderation_petition(request: HttpRequest, petition_id: int) -> HttpResponse:
    petition = get_object_or_404(Petition, pk=petition_id)
    return render(
        request,
        "moderation/petition.html",
        {
            "petition": petition,
            "reject_form": RejectForm(),
            "remove_form": RemoveForm(),
            "events": petition.audit_events.select_related("actor")[:50],
        },
    )


@require_POST
@moderator_required
def moderation_decide(request: HttpRequest, petition_id: int, decision: str) -> HttpResponse:
    petition = get_object_or_404(Petition, pk=petition_id)
    try:
        if decision == "approve":
            petition_approve(petition=petition, by=request.user)
        elif decision == "reject":
            form = RejectForm(request.POST)
            if not form.is_valid():
                raise ValidationError(form.errors.as_text())
            original_id = form.cleaned_data["duplicate_of"]
            petition_reject(
                petition=petition,
                by=request.user,
                reason=form.cleaned_data["reason"],
                details=form.cleaned_data["details"],
                duplicate_of=Petition.objects.filter(pk=original_id).first()
                if original_id
                else None,
            )
        elif decision == "remove":
            petition_remove(
                petition=petition,
                by=request.user,
                reason=RemoveForm(request.POST).data.get("reason", ""),
            )
        else:
            raise PermissionDenied("Unknown decision.")
    except (TransitionRefused, ValidationError) as refused:
        text = "; ".join(refused.messages) if isinstance(refused, ValidationError) else str(refused)
        messages.error(request, text)
    else:
        messages.success(request, f"Petition {petition.pk}: {decision} recorded.")
    return redirect("moderation-petition", petition.pk)
