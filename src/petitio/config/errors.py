"""Error pages that say what happened and what to do next."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.template.loader import render_to_string


def _page(request: HttpRequest | None, status: int, title: str, text: str) -> HttpResponse:
    body = render_to_string(
        "error.html", {"status": status, "title": title, "text": text}, request=None
    )
    return HttpResponse(body, status=status)


def bad_request(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    return _page(
        request,
        400,
        "We could not read that request",
        "It may have been too large or malformed. Go back, shorten what you entered and try again.",
    )


def forbidden(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    return _page(request, 403, "You cannot do that", "This page is for staff with the right role.")


def not_found(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    return _page(
        request,
        404,
        "Page not found",
        "There is no petition or page at this address. Check the link, or search the petitions.",
    )


def server_error(request: HttpRequest) -> HttpResponse:
    return _page(
        request,
        500,
        "Something went wrong on our side",
        "Nothing you entered was lost. Please try again.",
    )


def csrf_failure(request: HttpRequest, reason: str = "") -> HttpResponse:
    return _page(
        request,
        403,
        "Your form expired",
        "For your security the form must be sent from this site with cookies enabled. "
        "Go back, reload the page and submit it again.",
    )


def service_unavailable(request: HttpRequest) -> HttpResponse:
    response = _page(
        request,
        503,
        "Please try again in a moment",
        "The site is busy or restarting. What you submitted may not have been saved; "
        "sending it again is safe (you are never counted twice).",
    )
    response["Retry-After"] = "5"
    return response
