"""HTTP behaviour shared by every API endpoint.

Every URL the API serves goes through ``api_view``: errors come out as JSON
(``{"code", "message", "field"}``, including 404 for unknown addresses and 405
for wrong methods), GET answers are open to every origin (CORS), carry
``Cache-Control``, an ``ETag`` and a ``Last-Modified`` and answer 304 to a
matching ``If-None-Match`` / ``If-Modified-Since``; HEAD is a GET without a
body, and OPTIONS answers a browser's CORS preflight.
"""

from __future__ import annotations

import functools
import hashlib
import logging
import time
from collections.abc import Callable
from typing import Any

from django.core.cache import cache
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import InterfaceError, OperationalError
from django.http import (
    Http404,
    HttpRequest,
    HttpResponse,
    HttpResponseNotModified,
    JsonResponse,
)
from django.http.response import HttpResponseBase
from django.urls import URLPattern, URLResolver, re_path
from django.utils.http import http_date, parse_etags, parse_http_date_safe, quote_etag
from ninja import NinjaAPI
from ninja.errors import AuthenticationError, HttpError
from ninja.errors import ValidationError as NinjaValidationError

from petitio.api.selectors import BadParameter

logger = logging.getLogger(__name__)

READ_METHODS = ("GET", "HEAD")
EXPOSED_HEADERS = "ETag, Last-Modified, Retry-After, X-RateLimit-Limit, X-RateLimit-Remaining"
_KEPT_ON_304 = (
    "ETag",
    "Last-Modified",
    "Cache-Control",
    "Vary",
    "Access-Control-Allow-Origin",
    "Access-Control-Expose-Headers",
)
SERVED_SECONDS = 86_400

View = Callable[..., HttpResponseBase]


class ApiError(Exception):
    """An answer other than success, raised from an endpoint or its checks."""

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        field: str | None = None,
        *,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.field = field
        self.headers = headers or {}

    def response(self) -> HttpResponse:
        response = error_response(self.status, self.code, self.message, field=self.field)
        for header, value in self.headers.items():
            response[header] = value
        return response


def error_response(
    status: int,
    code: str,
    message: str,
    *,
    field: str | None = None,
    errors: list[dict[str, Any]] | None = None,
) -> HttpResponse:
    response = JsonResponse(
        {"code": code, "message": message, "field": field, "errors": errors or []},
        status=status,
    )
    response["Cache-Control"] = "no-store"
    return response


def _etag_matches(header: str, etag: str) -> bool:
    def weak(tag: str) -> str:
        return tag[2:] if tag.startswith("W/") else tag

    offered = parse_etags(header)
    return "*" in offered or weak(etag) in {weak(tag) for tag in offered}


def _first_served(request: HttpRequest, etag: str) -> int:
    """When this exact representation was first served at this address (Unix time).

    A representation's Last-Modified is the moment it first appeared, so a
    client's If-Modified-Since is answered 304 only while the content is
    unchanged: it is sound even for fields computed from the clock, such as
    days overdue.
    """
    key = "petitio:api:served:" + hashlib.sha256(request.get_full_path().encode()).hexdigest()
    seen = cache.get(key)
    if isinstance(seen, tuple) and seen[0] == etag:
        return int(seen[1])
    served = int(time.time())
    if isinstance(seen, tuple) and served <= int(seen[1]):
        served = int(seen[1]) + 1  # a change within the same second still moves the date
    cache.set(key, (etag, served), SERVED_SECONDS)
    return served


def _not_modified(response: HttpResponse) -> HttpResponse:
    unchanged = HttpResponseNotModified()
    for header in _KEPT_ON_304:
        if response.has_header(header):
            unchanged[header] = response[header]
    return unchanged


def conditional(request: HttpRequest, response: HttpResponse) -> HttpResponse:
    """Add ETag and Last-Modified to a complete 200 answer; 304 when the client has it."""
    etag = quote_etag(hashlib.sha256(response.content).hexdigest()[:40])
    served = _first_served(request, etag)
    response["ETag"] = etag
    response["Last-Modified"] = http_date(served)
    if_none_match = request.headers.get("If-None-Match")
    if if_none_match is not None:
        return _not_modified(response) if _etag_matches(if_none_match, etag) else response
    if_modified_since = request.headers.get("If-Modified-Since")
    since = parse_http_date_safe(if_modified_since) if if_modified_since else None
    if since is not None and served <= since:
        return _not_modified(response)
    return response


def _preflight() -> HttpResponse:
    response = HttpResponse(status=204)
    response["Access-Control-Allow-Origin"] = "*"
    response["Access-Control-Allow-Methods"] = "GET, HEAD, OPTIONS"
    response["Access-Control-Allow-Headers"] = "Accept, If-None-Match, If-Modified-Since"
    response["Access-Control-Max-Age"] = "86400"
    response["Allow"] = "GET, HEAD, OPTIONS"
    return response


def _without_body(response: HttpResponseBase) -> HttpResponseBase:
    if response.streaming:
        close = getattr(response, "close", None)
        headless = HttpResponse(status=response.status_code)
        for header, value in response.items():
            headless[header] = value
        if close:
            close()
        return headless
    assert isinstance(response, HttpResponse)
    length = len(response.content)
    response.content = b""
    response["Content-Length"] = str(length)
    return response


def api_view(view: View, *, max_age: int | None, preflight: bool = True) -> View:
    """Wrap one of the API's views with the shared HTTP behaviour."""

    @functools.wraps(view)
    def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        if request.method == "OPTIONS" and preflight:
            return _preflight()
        head = request.method == "HEAD"
        if head:
            request.method = "GET"
        try:
            response = view(request, *args, **kwargs)
        except Http404:
            response = error_response(404, "not_found", "Nothing here. See /api/v1/docs.")
        finally:
            if head:
                request.method = "HEAD"
        if response.status_code == 405 and not response.get("Content-Type", "").startswith(
            "application/json"
        ):
            allow = response.get("Allow", "")
            response = error_response(
                405, "method_not_allowed", f"This address answers only: {allow}.", field=None
            )
            response["Allow"] = allow
        if request.method in READ_METHODS:
            response["Access-Control-Allow-Origin"] = "*"
            response["Access-Control-Expose-Headers"] = EXPOSED_HEADERS
            if response.status_code == 200:
                if max_age is not None:
                    response["Cache-Control"] = f"public, max-age={max_age}"
                if isinstance(response, HttpResponse):
                    response = conditional(request, response)
        if not response.has_header("Cache-Control"):
            response["Cache-Control"] = "no-store"
        return _without_body(response) if head else response

    wrapped.csrf_exempt = True  # type: ignore[attr-defined]  # key-authenticated, no cookies
    wrapped.petitio_api_view = True  # type: ignore[attr-defined]
    return wrapped


# ---------------------------------------------------------------------------- errors

_HANDLERS: list[tuple[type[Exception], Callable[[HttpRequest, Any], HttpResponse]]] = []


def _handles(*exceptions: type[Exception]) -> Callable[[Any], Any]:
    def register(handler: Any) -> Any:
        _HANDLERS.extend((exception, handler) for exception in exceptions)
        return handler

    return register


def _field_of(loc: list[Any] | tuple[Any, ...]) -> str | None:
    parts = [str(p) for p in loc]
    if not parts:
        return None
    if parts[0] == "body":
        parts = parts[2:] if len(parts) > 2 else ["body"]
    else:
        parts = parts[1:] or parts
    return ".".join(parts)


@_handles(NinjaValidationError)
def _invalid_request(request: HttpRequest, exc: NinjaValidationError) -> HttpResponse:
    """Parameters or body that do not match the documented schema."""
    problems = [
        {
            "field": _field_of(error.get("loc", ())),
            "code": str(error.get("type", "invalid")),
            "message": str(error.get("msg", "Invalid value.")),
        }
        for error in exc.errors
    ]
    if not problems:
        return error_response(400, "invalid_parameter", "The request is not valid.")
    in_body = tuple(exc.errors[0].get("loc", ()))[:1] == ("body",)
    first = problems[0]
    where = f" ({first['field']})" if first["field"] else ""
    return error_response(
        400,
        "invalid_body" if in_body else "invalid_parameter",
        f"{first['message']}{where}.",
        field=first["field"],
        errors=problems,
    )


@_handles(DjangoValidationError)
def _invalid_details(request: HttpRequest, exc: DjangoValidationError) -> HttpResponse:
    """A service refused the details it was given (the signer's, field by field)."""
    problems: list[dict[str, Any]] = []
    if hasattr(exc, "error_dict"):
        for field, errors in exc.error_dict.items():
            for error in errors:
                problems.append(
                    {
                        "field": None if field == "__all__" else field,
                        "code": error.code or "invalid",
                        "message": " ".join(error.messages),
                    }
                )
    else:
        problems = [
            {"field": None, "code": e.code or "invalid", "message": " ".join(e.messages)}
            for e in exc.error_list
        ]
    first = problems[0]
    return error_response(
        400, first["code"], first["message"], field=first["field"], errors=problems
    )


@_handles(BadParameter)
def _bad_parameter(request: HttpRequest, exc: BadParameter) -> HttpResponse:
    return error_response(400, exc.code, exc.message, field=exc.field)


@_handles(ApiError)
def _api_error(request: HttpRequest, exc: ApiError) -> HttpResponse:
    return exc.response()


@_handles(Http404)
def _not_found(request: HttpRequest, exc: Http404) -> HttpResponse:
    return error_response(404, "not_found", "Nothing here. See /api/v1/docs.")


@_handles(AuthenticationError)
def _unauthenticated(request: HttpRequest, exc: AuthenticationError) -> HttpResponse:
    response = error_response(
        401,
        "unauthorized",
        "Send a valid, unrevoked partner API key as 'Authorization: Bearer <key>'.",
        field="authorization",
    )
    response["WWW-Authenticate"] = 'Bearer realm="petitio"'
    return response


HTTP_ERROR_CODES = {400: "invalid_body", 401: "unauthorized", 403: "forbidden", 404: "not_found"}


@_handles(HttpError)
def _http_error(request: HttpRequest, exc: HttpError) -> HttpResponse:
    """Errors ninja raises itself, e.g. a body that is not JSON."""
    code = HTTP_ERROR_CODES.get(exc.status_code, "error")
    message = str(exc)
    if code == "invalid_body":
        message = f"{message}: send a JSON object, with Content-Type: application/json."
    return error_response(
        exc.status_code, code, message, field="body" if code == "invalid_body" else None
    )


@_handles(OperationalError, InterfaceError)
def _database_unavailable(request: HttpRequest, exc: Exception) -> HttpResponse:
    logger.warning("database unavailable: %s", type(exc).__name__)
    response = error_response(
        503, "unavailable", "The service is busy or restarting. Please try again shortly."
    )
    response["Retry-After"] = "5"
    return response


@_handles(Exception)
def _server_error(request: HttpRequest, exc: Exception) -> HttpResponse:
    logger.exception("API error on %s %s", request.method, request.path)
    return error_response(
        500, "server_error", "Something went wrong on our side. Nothing was changed; try again."
    )


def _no_endpoint(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
    return error_response(
        404,
        "no_such_endpoint",
        "There is no API endpoint at this address. The documentation lists them: /api/v1/docs",
    )


class PetitioAPI(NinjaAPI):
    """NinjaAPI whose every URL answers with the shared HTTP behaviour of ``api_view``.

    ``cache_seconds`` maps URL names to the max-age of their successful GETs.
    """

    def __init__(self, *args: Any, cache_seconds: dict[str, int] | None = None, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.cache_seconds = cache_seconds or {}
        for exception, handler in _HANDLERS:
            self.add_exception_handler(exception, handler)

    def get_openapi_operation_id(self, operation: Any) -> str:
        """Operation ids are the endpoint functions' names, e.g. ``petition_list``."""
        return str(operation.view_func.__name__)

    def _get_urls(self) -> list[URLResolver | URLPattern]:
        patterns = super()._get_urls()
        for pattern in patterns:
            if isinstance(pattern, URLPattern) and not getattr(
                pattern.callback, "petitio_api_view", False
            ):
                pattern.callback = api_view(
                    pattern.callback, max_age=self.cache_seconds.get(pattern.name or "")
                )
        patterns.append(
            re_path(r"^.*$", api_view(_no_endpoint, max_age=None, preflight=False), name="none")
        )
        return patterns
