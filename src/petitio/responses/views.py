"""Public response pages and the official's response editor."""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_GET, require_http_methods

from petitio.authorities.models import Authority
from petitio.authorities.rules import is_official_of
from petitio.petitions.models import PUBLIC_TEXT_STATES, Addressee
from petitio.petitions.selectors import addressees_overdue, addressees_owing_response
from petitio.responses.models import Response
from petitio.responses.services import ResponseRefused, response_publish


class ResponseForm(forms.Form):
    summary = forms.CharField(label="Summary (one or two sentences)", max_length=300)
    body = forms.CharField(label="Response", widget=forms.Textarea(attrs={"rows": 14}))


@require_GET
def response_list(request: HttpRequest) -> HttpResponse:
    responses = Response.objects.select_related(
        "addressee__petition", "addressee__authority"
    ).filter(addressee__petition__state__in=PUBLIC_TEXT_STATES)
    return render(request, "responses/list.html", {"responses": responses[:100]})


@require_GET
def overdue_list(request: HttpRequest) -> HttpResponse:
    return render(request, "responses/overdue.html", {"overdue": addressees_overdue()})


@require_GET
@login_required
def official_dashboard(request: HttpRequest) -> HttpResponse:
    assert request.user.pk is not None  # login_required
    authorities = Authority.objects.filter(officials__user_id=request.user.pk)
    if not authorities.exists():
        raise PermissionDenied("Only officials of an authority can see this page.")
    return render(
        request,
        "responses/official.html",
        {
            "authorities": authorities,
            "addressees": addressees_owing_response(authorities=authorities),
        },
    )


@require_http_methods(["GET", "POST"])
@login_required
def response_edit(request: HttpRequest, addressee_id: int) -> HttpResponse:
    addressee = get_object_or_404(
        Addressee.objects.select_related("petition", "authority"), pk=addressee_id
    )
    if not is_official_of(request.user, addressee.authority):
        raise PermissionDenied("Only officials of the addressed authority can respond.")
    form = ResponseForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            response_publish(
                addressee=addressee,
                summary=form.cleaned_data["summary"],
                body=form.cleaned_data["body"],
                by=request.user,  # type: ignore[arg-type]  # login_required
            )
        except ValidationError as invalid:
            form.add_error(None, invalid)
        except ResponseRefused as refused:
            messages.error(request, str(refused))
        else:
            messages.success(request, "The response is published; signers are being emailed.")
            return redirect("petition-detail", addressee.petition_id)
    return render(
        request,
        "responses/edit.html",
        {"addressee": addressee, "petition": addressee.petition, "form": form},
        status=400 if form.errors else 200,
    )
