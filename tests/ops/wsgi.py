"""Calling the site's WSGI application the way the web server does: the signing
route, then the page copy, then Django (as config/wsgi.py composes them)."""

from __future__ import annotations

import io
import re
from dataclasses import dataclass, field
from http.cookies import SimpleCookie
from urllib.parse import urlencode

from django.core.handlers.wsgi import WSGIHandler

from petitio.config.pagecache import PageCache
from petitio.config.signroute import SigningRoute
from petitio.petitions.models import Petition

FORM_TOKEN = re.compile(rb'name="csrfmiddlewaretoken" value="([^"]+)"')


@dataclass
class Answer:
    status: int
    headers: list[tuple[str, str]]
    body: bytes

    def header(self, name: str) -> str | None:
        return next((v for k, v in self.headers if k.lower() == name.lower()), None)

    def set_cookies(self) -> SimpleCookie:
        jar: SimpleCookie = SimpleCookie()
        for k, v in self.headers:
            if k.lower() == "set-cookie":
                jar.load(v)
        return jar

    @property
    def form_token(self) -> str:
        found = FORM_TOKEN.search(self.body)
        assert found, "no signing form on the page"
        return found.group(1).decode()


@dataclass
class Clock:
    now: float = 1000.0

    def __call__(self) -> float:
        return self.now


@dataclass
class Site:
    """The WSGI application with a clock the test moves; ``route=False``
    sends signatures through Django's whole stack, as before the route."""

    clock: Clock = field(default_factory=Clock)
    route: bool = True

    def __post_init__(self) -> None:
        self.app = SigningRoute(PageCache(WSGIHandler(), clock=self.clock))
        self.app.enabled = self.route

    def call(
        self, method: str, path: str, *, cookie: str = "", body: bytes = b"", **extra: str
    ) -> Answer:
        path, _, query = path.partition("?")
        environ = {
            "REQUEST_METHOD": method,
            "PATH_INFO": path,
            "QUERY_STRING": query,
            "SERVER_NAME": "testserver",
            "SERVER_PORT": "80",
            "HTTP_HOST": "testserver",
            "REMOTE_ADDR": "127.0.0.1",
            "wsgi.url_scheme": "http",
            "wsgi.input": io.BytesIO(body),
            "wsgi.errors": io.StringIO(),
            "CONTENT_LENGTH": str(len(body)),
            "CONTENT_TYPE": "application/x-www-form-urlencoded",
            "HTTP_COOKIE": cookie,
            **extra,
        }
        started: dict = {}

        def start_response(status, headers, exc_info=None):
            started["status"], started["headers"] = status, headers

        chunks = self.app(environ, start_response)
        content = b"".join(chunks)
        return Answer(int(started["status"].split()[0]), started["headers"], content)

    def sign(
        self,
        petition: Petition,
        email: str,
        *,
        cookie: str,
        token: str,
        environ: dict[str, str] | None = None,
        **fields: str,
    ) -> Answer:
        form = {
            "csrfmiddlewaretoken": token,
            "name": "Ada Lovelace",
            "email": email,
            "postal_code": "53703",
            "country": "US",
            "eligible": "on",
        } | fields
        return self.call(
            "POST",
            f"/petitions/{petition.pk}/sign/",
            cookie=cookie,
            body=urlencode(form).encode(),
            **(environ or {}),
        )
