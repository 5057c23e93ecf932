"""Site-wide middleware: a database outage answers 503 "please try again",
not a 500; every response carries the Content-Security-Policy."""

from __future__ import annotations

import logging
from collections.abc import Callable

from csp.utils import build_policy
from django.db import InterfaceError, OperationalError
from django.http import HttpRequest, HttpResponse

from petitio.config.errors import service_unavailable

logger = logging.getLogger(__name__)


class DatabaseUnavailableMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        if isinstance(exception, OperationalError | InterfaceError):
            logger.warning("database unavailable: %s", type(exception).__name__)
            return service_unavailable(request)
        return None


class ContentSecurityPolicyMiddleware:
    """The site's one Content-Security-Policy, built once per process.

    django-csp's middleware rebuilds the header for every response to allow
    per-view nonces and overrides; the site uses neither (no inline scripts or
    styles anywhere), and on the signing path the rebuild costs more than the
    rest of the middleware together.
    """

    HEADER = "Content-Security-Policy"

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response
        self.policy = build_policy()

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if self.HEADER not in response:
            response[self.HEADER] = self.policy
        return response
