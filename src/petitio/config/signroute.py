"""The signing form's POST on a short road: the route a viral petition takes.

Nearly every request a viral petition receives after its page is a valid
signature, and on Django's generic stack the handling around it costs more
than the signing: URL resolution, sessions, authentication, two-factor,
messages and static files, none of which a valid signature touches. This
WSGI wrapper, in front of Django, answers a signing POST with Django's own
handler and the product's own pieces, minus those:

- the site's middleware in their order, without the ones listed in
  ``SKIPPED`` (request id, log line and metrics; replica stickiness; security
  headers, HTTPS redirect and the CSP; common checks; X-Frame-Options all run);
- Django's CSRF check, by the site's own CsrfViewMiddleware;
- the same service call as the view (``signature_posted``) and the same
  answer, 302 to "check your email".

Everything that is not a valid signature goes on to Django with the body it
posted, untouched, and Django answers it exactly as before: a CSRF failure
(403 and its log line), an invalid field (the form with its errors), a
closed, draft or unknown petition, a database error (503), a body that is
not a plain urlencoded form. The service is safe to run twice for one
submission (a second run finds the signature; a confirmation email is queued
again only past the resend interval), so nothing done here before handing
on is lost or doubled.
"""

from __future__ import annotations

import io
import logging
import re
from collections.abc import Callable, Iterable
from typing import Any

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured, ValidationError
from django.core.handlers.wsgi import WSGIHandler, WSGIRequest
from django.db import DatabaseError
from django.http import Http404, HttpResponse, HttpResponseRedirect
from django.middleware.csrf import CsrfViewMiddleware
from django.urls import ResolverMatch, get_script_prefix, resolve, reverse
from django.utils.module_loading import import_string

from petitio.config.metrics import SIGNING_ROUTE as SIGNING_ROUTE_COUNT
from petitio.petitions.snapshots import petition_signing_copy
from petitio.petitions.views import signature_posted
from petitio.signatures.services import SigningRefused

logger = logging.getLogger(__name__)

StartResponse = Callable[..., Any]
WSGIApp = Callable[[dict[str, Any], StartResponse], Iterable[bytes]]

# Middleware that a valid signature's 302 does not need. Each does nothing to
# it: the session is neither read nor changed (so not saved, no cookie), the
# user is never looked at, no message is added or read, and it is no static
# file. A request they would matter to is handed on, and gets them.
SKIPPED = frozenset(
    {
        "django.contrib.sessions.middleware.SessionMiddleware",
        "django.contrib.auth.middleware.AuthenticationMiddleware",
        "django_otp.middleware.OTPMiddleware",
        "django.contrib.messages.middleware.MessageMiddleware",
        "whitenoise.middleware.WhiteNoiseMiddleware",
    }
)

FORM = "application/x-www-form-urlencoded"
MAX_BODY = 16 * 1024  # a signing form is well under 1 KB
MATCH = "petitio.signing_route"  # the environ key carrying the URL's match


# What the signing service may raise that Django answers, and the reason the
# metrics give (petitio_signing_route_total{outcome=...}).
HANDED_ON: dict[type[Exception], str] = {
    ValidationError: "invalid",
    SigningRefused: "refused",
    Http404: "not_found",
    DatabaseError: "database",
}


SAMPLE_ID = 987654321


def path_around_id(name: str) -> tuple[str, str]:
    """The path of a petition's URL ``name`` before and after its id."""
    before, _, after = reverse(name, args=[SAMPLE_ID]).partition(str(SAMPLE_ID))
    return before, after


class HandOn(Exception):
    """Not a valid signature: the full stack answers it."""


class SigningHandler(WSGIHandler):
    """Django's WSGI handler whose only view is the signing POST, behind the
    lean middleware chain. It raises HandOn instead of answering anything
    else, so its chain has none of Django's exception-to-response wrapping."""

    def __init__(self, sign_view: Callable[..., HttpResponse]) -> None:
        self.sign_view = sign_view
        self.check_email = path_around_id("petition-check-email")
        self.csrf: CsrfViewMiddleware | None = None
        super().__init__()

    def load_middleware(self, is_async: bool = False) -> None:
        handler: Callable[[Any], HttpResponse] = self._sign
        for dotted in reversed(settings.MIDDLEWARE):
            if dotted in SKIPPED:
                continue
            middleware = import_string(dotted)(handler)
            if isinstance(middleware, CsrfViewMiddleware):
                self.csrf = middleware
            handler = middleware
        if self.csrf is None:
            raise ImproperlyConfigured("The signing route needs CsrfViewMiddleware.")
        self._middleware_chain = handler

    def _sign(self, request: WSGIRequest) -> HttpResponse:
        assert self.csrf is not None
        request.resolver_match = match = request.META.pop(MATCH)
        if self.csrf.process_view(request, self.sign_view, (), match.kwargs) is not None:
            raise HandOn("csrf")
        petition_id = match.kwargs["petition_id"]
        try:
            signature_posted(petition_signing_copy(petition_id), request)
        except tuple(HANDED_ON) as refused:
            reason = next(r for kind, r in HANDED_ON.items() if isinstance(refused, kind))
            raise HandOn(reason) from refused
        before, after = self.check_email  # redirect() would reverse() every time
        return HttpResponseRedirect(f"{get_script_prefix()}{before[1:]}{petition_id}{after}")


class SigningRoute:
    def __init__(self, app: WSGIApp) -> None:
        self.app = app
        before, after = path_around_id("petition-sign")
        self.template = resolve(f"{before}{SAMPLE_ID}{after}")
        self.path = re.compile(f"{re.escape(before)}([0-9]{{1,18}}){re.escape(after)}")
        self.handler = SigningHandler(self.template.func)
        self.enabled = bool(settings.SIGNING_ROUTE)

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        found = self._ours(environ)
        if found is None:
            return self.app(environ, start_response)
        body = environ["wsgi.input"].read(int(environ["CONTENT_LENGTH"]))
        environ["wsgi.input"] = io.BytesIO(body)
        environ[MATCH] = ResolverMatch(
            self.template.func,
            (),
            {"petition_id": int(found[1])},
            url_name=self.template.url_name,
            route=self.template.route,
        )
        try:
            answer = self.handler(environ, start_response)
            SIGNING_ROUTE_COUNT.labels("answered").inc()
            return answer
        except HandOn as handed:
            SIGNING_ROUTE_COUNT.labels(str(handed)).inc()
        except Exception:  # a fault of the route itself: Django still answers
            logger.exception("signing route failed; handed on")
            SIGNING_ROUTE_COUNT.labels("fault").inc()
        environ.pop(MATCH, None)
        environ["wsgi.input"] = io.BytesIO(body)
        return self.app(environ, start_response)

    def _ours(self, environ: dict[str, Any]) -> re.Match[str] | None:
        if not self.enabled or environ.get("REQUEST_METHOD") != "POST":
            return None
        found = self.path.fullmatch(environ.get("PATH_INFO", ""))
        if found is None or environ.get("CONTENT_TYPE", "").partition(";")[0].strip() != FORM:
            return None
        length = environ.get("CONTENT_LENGTH", "")
        if not length.isdigit() or int(length) > MAX_BODY:
            return None
        return found
