"""The two baselines the benchmark compares the signing path with (bench only).

Served by a second web server (same Procfile command, this WSGI app), against the
same database, with the same settings except the URLconf:

``naive``  ``POST /naive/<id>/sign/`` - the product's request handling (the
           product's whole middleware stack, CSRF, the same form and the same
           signer validation), then the textbook write: one transaction that
           inserts the signature and updates the petition's count, per signature.
           It queues no email.
``floor``  ``POST /floor/<id>/sign/`` - a bare Django view behind no middleware
           at all: read the form fields and insert the row with one SQL
           statement (``INSERT ... ON CONFLICT DO NOTHING``). Nothing else.

Both answer like the product: 302 to the petition's "check your email" page.
"""

from __future__ import annotations

import json
import os

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "baseline_settings")

import django

django.setup()

from django.core.exceptions import ValidationError  # noqa: E402
from django.core.handlers.exception import convert_exception_to_response  # noqa: E402
from django.core.handlers.wsgi import WSGIHandler  # noqa: E402
from django.db import IntegrityError, connection, transaction  # noqa: E402
from django.db.models import F  # noqa: E402
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect  # noqa: E402
from django.urls import path  # noqa: E402
from django.utils import timezone  # noqa: E402
from django.views.decorators.http import require_POST  # noqa: E402

from petitio.petitions.forms import SignatureForm  # noqa: E402
from petitio.petitions.models import Petition  # noqa: E402
from petitio.petitions.selectors import petition_public  # noqa: E402
from petitio.petitions.views import request_meta  # noqa: E402
from petitio.signatures.canonical import email_canonicalize  # noqa: E402
from petitio.signatures.services import signer_validate, signing_refusal  # noqa: E402


def _check_email(petition_id: int) -> HttpResponseRedirect:
    return HttpResponseRedirect(f"/petitions/{petition_id}/check-your-email/")


@require_POST
def naive_sign(request: HttpRequest, petition_id: int) -> HttpResponse:
    petition = petition_public(petition_id)
    if signing_refusal(petition):
        return HttpResponse("closed", status=409)
    form = SignatureForm(request.POST, eligibility=petition.policy.eligibility)
    if not form.is_valid():
        return HttpResponse("invalid", status=400)
    try:
        signer = signer_validate(
            name=form.cleaned_data["name"],
            email=form.cleaned_data["email"],
            postal_code=form.cleaned_data["postal_code"],
            country=form.cleaned_data["country"],
            eligible=form.cleaned_data.get("eligible", True),
            policy=petition.policy,
        )
    except ValidationError:
        return HttpResponse("invalid", status=400)
    now = timezone.now()
    try:
        with transaction.atomic():
            signer.signature_for(
                petition, created_at=now, last_email_at=now, request_meta=request_meta(request)
            ).save(force_insert=True)
            Petition.objects.filter(pk=petition.pk).update(
                signature_count=F("signature_count") + 1, count_updated_at=now
            )
    except IntegrityError:
        pass  # signed already: the same answer
    return _check_email(petition_id)


FLOOR_SQL = """
    INSERT INTO signatures_signature
        (petition_id, name, email, email_canonical, postal_code, country, region, state,
         is_creator, created_at, last_email_at, tallied, request_meta)
    VALUES (%s, %s, %s, %s, %s, %s, '', 'pending', false, now(), now(), false, %s::jsonb)
    ON CONFLICT (petition_id, email_canonical) DO NOTHING
"""


def floor_sign(request: HttpRequest, petition_id: int) -> HttpResponse:
    if request.method != "POST":
        return HttpResponse(status=405)
    post = request.POST
    email = post.get("email", "")
    with connection.cursor() as cursor:
        cursor.execute(
            FLOOR_SQL,
            [
                petition_id,
                post.get("name", "")[:100],
                email[:254],
                email_canonicalize(email)[:254],
                post.get("postal_code", "")[:16],
                post.get("country", "")[:2],
                json.dumps({"ip": request.META.get("REMOTE_ADDR", "")}),
            ],
        )
    return _check_email(petition_id)


urlpatterns = [
    path("naive/<int:petition_id>/sign/", naive_sign, name="naive-sign"),
    path("floor/<int:petition_id>/sign/", floor_sign, name="floor-sign"),
]


class BareHandler(WSGIHandler):
    """Django's WSGI handler with no middleware at all (the floor)."""

    def load_middleware(self, is_async: bool = False) -> None:
        self._view_middleware = []
        self._template_response_middleware = []
        self._exception_middleware = []
        self._middleware_chain = convert_exception_to_response(self._get_response)


_naive = WSGIHandler()  # the product's MIDDLEWARE
_floor = BareHandler()


def application(environ, start_response):
    if environ.get("PATH_INFO", "").startswith("/floor/"):
        return _floor(environ, start_response)
    return _naive(environ, start_response)
