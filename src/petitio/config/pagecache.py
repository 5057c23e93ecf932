"""A one-second, per-process copy of the pages a crowd refreshes.

When a petition goes viral its page and its count.json are asked for
thousands of times a second, and every visitor who is not logged in gets the
same page, apart from the CSRF token in its signing form. This WSGI wrapper,
in front of Django, keeps the rendered response of a view that marks itself
shareable (``page_cache_allow``) for ``PAGE_CACHE_SECONDS`` and serves it
without entering Django: no middleware, no query, no template.

The one per-visitor part is put back on each copy served: the form's CSRF
token is masked afresh from the visitor's own ``csrftoken`` cookie (and a
visitor without one gets a new cookie, as Django would give them), so the
signing form served from the copy posts exactly like one Django rendered.
Each copy has an ETag (for a page, tied to the visitor's CSRF secret), so a
browser refreshing gets a 304.

Requests that may see something personal never use a copy: anything but a
plain GET without a query string, and any request with a session cookie
(staff), a pending message, or the read-your-writes cookie. While one thread
renders a new copy, the others serve the old one for that moment.
"""

from __future__ import annotations

import hashlib
import re
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, TypeVar

from django.conf import settings
from django.http import HttpResponse
from django.http.cookie import parse_cookie
from django.middleware.csrf import (  # type: ignore[attr-defined]
    CSRF_SECRET_LENGTH,
    InvalidTokenFormat,
    _check_token_format,
    _get_new_csrf_string,
    _mask_cipher_secret,
)

from petitio.config.metrics import PAGE_COPIES
from petitio.config.observability import request_id_new

MARKER = "X-Petitio-Page-Cache"
TOKEN_FIELD = re.compile(rb'name="csrfmiddlewaretoken" value="([^"]+)"')
DROPPED = {MARKER.lower(), "set-cookie", "x-request-id", "content-length"}
MAX_ENTRIES = 2000

StartResponse = Callable[..., Any]


ResponseT = TypeVar("ResponseT", bound=HttpResponse)


def page_cache_allow(response: ResponseT, seconds: float | None = None) -> ResponseT:
    """Mark a response as the same for every visitor who is not logged in,
    to be served from the copy for ``seconds`` (at most PAGE_CACHE_SECONDS)."""
    response[MARKER] = str(settings.PAGE_CACHE_SECONDS if seconds is None else seconds)
    return response


@dataclass
class Entry:
    expires: float
    status: str
    headers: list[tuple[str, str]]
    parts: list[bytes]  # the body, split where the CSRF token goes
    digest: str


def _bypass_cookies() -> tuple[str, ...]:
    from petitio.config.routers import ReadOnlyRequestsUseReplica

    return (
        settings.SESSION_COOKIE_NAME,
        getattr(settings, "MESSAGE_COOKIE_NAME", "messages"),
        ReadOnlyRequestsUseReplica.COOKIE,
    )


class PageCache:
    def __init__(
        self,
        app: Callable[[dict[str, Any], StartResponse], Iterable[bytes]],
        *,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.app = app
        self.clock = clock
        self.seconds = float(settings.PAGE_CACHE_SECONDS)
        self.entries: dict[str, Entry] = {}
        self.refreshing: set[str] = set()
        self.lock = threading.Lock()
        self.bypass = _bypass_cookies()

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        if (
            self.seconds <= 0
            or environ.get("REQUEST_METHOD") != "GET"
            or environ.get("QUERY_STRING")
        ):
            return self.app(environ, start_response)
        cookies = parse_cookie(environ.get("HTTP_COOKIE", ""))
        if any(name in cookies for name in self.bypass):
            return self._pass_through(environ, start_response)
        path = environ.get("PATH_INFO", "")
        entry = self.entries.get(path)
        now = self.clock()
        if entry is None or (entry.expires <= now and self._claim(path)):
            try:
                fresh = self._render(environ)
            finally:
                with self.lock:
                    self.refreshing.discard(path)
            if isinstance(fresh, tuple):  # not shareable: answered as Django made it
                status, headers, body = fresh
                start_response(status, headers)
                return body
            entry = fresh
            self._store(path, entry)
        return self._serve(entry, environ, cookies, start_response)

    def _claim(self, path: str) -> bool:
        """True for the one thread that renders an expired page; others serve it."""
        with self.lock:
            if path in self.refreshing:
                return False
            self.refreshing.add(path)
            return True

    def _pass_through(self, environ: dict[str, Any], start_response: StartResponse):
        def start(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
            kept = [(k, v) for k, v in headers if k.lower() != MARKER.lower()]
            return start_response(status, kept, exc_info)

        return self.app(environ, start)

    def _render(self, environ: dict[str, Any]) -> Entry | tuple[str, list, list[bytes]]:
        captured: dict[str, Any] = {}

        def start(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
            captured["status"], captured["headers"] = status, headers
            return lambda data: None

        result = self.app(environ, start)
        try:
            body = b"".join(result)
        finally:
            close = getattr(result, "close", None)
            if close is not None:
                close()
        headers: list[tuple[str, str]] = captured["headers"]
        marked = [v for k, v in headers if k.lower() == MARKER.lower()]
        if not marked:
            return captured["status"], headers, [body]
        kept = [(k, v) for k, v in headers if k.lower() not in DROPPED]
        template = TOKEN_FIELD.sub(b'name="csrfmiddlewaretoken" value="\0"', body)
        return Entry(
            expires=self.clock() + min(float(marked[0]), self.seconds),
            status=captured["status"],
            headers=kept,
            parts=template.split(b"\0"),
            digest=hashlib.blake2b(template, digest_size=8).hexdigest(),
        )

    def _store(self, path: str, entry: Entry) -> None:
        if len(self.entries) >= MAX_ENTRIES:
            self.entries.clear()
        self.entries[path] = entry

    def _serve(
        self,
        entry: Entry,
        environ: dict[str, Any],
        cookies: dict[str, str],
        start_response: StartResponse,
    ) -> Iterable[bytes]:
        PAGE_COPIES.inc()
        headers = list(entry.headers)
        etag = entry.digest
        body = entry.parts[0]
        if len(entry.parts) > 1:
            secret = cookies.get(settings.CSRF_COOKIE_NAME, "")
            try:
                _check_token_format(secret)
                if len(secret) != CSRF_SECRET_LENGTH:  # a masked token, not a secret
                    raise InvalidTokenFormat("not a secret")
            except InvalidTokenFormat:  # no cookie, or not one of ours: a new one, as Django
                secret = _get_new_csrf_string()
                headers.append(("Set-Cookie", csrf_cookie_header(secret)))
            token = _mask_cipher_secret(secret).encode()
            body = token.join(entry.parts)
            etag += hashlib.blake2b(secret.encode(), digest_size=4).hexdigest()
        etag = f'"{etag}"'
        headers.append(("ETag", etag))
        headers.append(("X-Request-ID", request_id_new()))
        if environ.get("HTTP_IF_NONE_MATCH") == etag:
            start_response("304 Not Modified", [h for h in headers if h[0] != "Content-Type"])
            return [b""]
        headers.append(("Content-Length", str(len(body))))
        start_response(entry.status, headers)
        return [body]


def csrf_cookie_header(secret: str) -> str:
    """The Set-Cookie value Django's CSRF middleware would send for ``secret``."""
    response = HttpResponse()
    response.set_cookie(
        settings.CSRF_COOKIE_NAME,
        secret,
        max_age=settings.CSRF_COOKIE_AGE,
        domain=settings.CSRF_COOKIE_DOMAIN,
        path=settings.CSRF_COOKIE_PATH,
        secure=settings.CSRF_COOKIE_SECURE,
        httponly=settings.CSRF_COOKIE_HTTPONLY,
        samesite=settings.CSRF_COOKIE_SAMESITE,  # type: ignore[arg-type]
    )
    return response.cookies[settings.CSRF_COOKIE_NAME].output(header="").strip()
