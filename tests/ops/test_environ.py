"""The web server's environment variables (DATABASE_URL with its password,
SECRET_KEY, ...) never reach request.META, where an error report would show them."""

from __future__ import annotations

import io
import os

from django.core.handlers.wsgi import WSGIHandler
from django.core.signals import request_started

from petitio.config.environ import ServerEnvironmentRemoved

SERVER_ENVIRONMENT = {
    "DATABASE_URL": "postgresql://petitio:db-password-4f9c@db.internal/petitio",
    "SECRET_KEY": "not-for-anyone-to-see",
    "PATH": "/usr/bin",
    "PORT": "8000",
}


def granian_environ(**request: str) -> dict:
    """As granian builds it: a copy of the process environment, then the request."""
    return dict(SERVER_ENVIRONMENT) | {
        "REQUEST_METHOD": "GET",
        "PATH_INFO": "/healthz",
        "QUERY_STRING": "",
        "SERVER_NAME": "petitio.example.org",
        "SERVER_PORT": "443",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "REMOTE_ADDR": "10.0.0.7",
        "HTTP_HOST": "petitio.example.org",
        "wsgi.url_scheme": "http",
        "wsgi.input": io.BytesIO(b""),
        "wsgi.errors": io.StringIO(),
        **request,
    }


def test_the_servers_variables_are_not_in_request_meta(db):
    seen: dict = {}

    def capture(sender, environ, **kwargs):
        seen.update(environ)

    app = ServerEnvironmentRemoved(WSGIHandler(), SERVER_ENVIRONMENT)
    request_started.connect(capture)
    try:
        body = b"".join(app(granian_environ(), lambda status, headers, exc_info=None: None))
    finally:
        request_started.disconnect(capture)
    assert body  # the site answered
    assert not set(SERVER_ENVIRONMENT) & set(seen)
    assert "db-password-4f9c" not in repr(seen)
    # What the request itself carries is all still there.
    assert seen["REMOTE_ADDR"] == "10.0.0.7"
    assert seen["HTTP_HOST"] == "petitio.example.org"
    assert seen["PATH_INFO"] == "/healthz"


def passed_on(wrapped: ServerEnvironmentRemoved, environ: dict) -> dict:
    seen: dict = {}

    def app(environ, start_response):
        seen.update(environ)
        return [b""]

    wrapped.app = app
    wrapped(environ, lambda *a: None)
    return seen


def test_a_header_the_request_sent_is_kept_one_it_did_not_is_not():
    """HTTP_PROXY=http://user:pass@proxy in the server's environment must not
    appear as if the request had sent it; a request that sends its own keeps it."""
    server = {
        "HTTP_PROXY": "http://user:proxy-password@proxy:3128",
        "HTTP_X_FORWARDED_PROTO": "https",
        "CONTENT_TYPE": "text/plain",
        "SERVER_NAME": "from-the-environment",
        "SECRET_KEY": "not-for-anyone-to-see",
    }
    wrapped = ServerEnvironmentRemoved(lambda e, s: [b""], server)

    silent = passed_on(wrapped, server | granian_environ())
    assert "HTTP_PROXY" not in silent
    assert "HTTP_X_FORWARDED_PROTO" not in silent  # never trusted unless sent
    assert "CONTENT_TYPE" not in silent
    assert "SECRET_KEY" not in silent
    assert silent["SERVER_NAME"] == "petitio.example.org"

    sent = passed_on(
        wrapped,
        server
        | granian_environ(
            HTTP_PROXY="sent-by-the-client",
            HTTP_X_FORWARDED_PROTO="http",
            CONTENT_TYPE="application/x-www-form-urlencoded",
        ),
    )
    assert sent["HTTP_PROXY"] == "sent-by-the-client"
    assert sent["HTTP_X_FORWARDED_PROTO"] == "http"
    assert sent["CONTENT_TYPE"] == "application/x-www-form-urlencoded"


def test_the_production_entry_point_removes_this_process_environment():
    from petitio.config import wsgi

    assert isinstance(wsgi.application, ServerEnvironmentRemoved)
    assert "DJANGO_SETTINGS_MODULE" in wsgi.application.names
    assert set(wsgi.application.names) >= {
        name for name in os.environ if name in ("PATH", "HOME", "DATABASE_URL", "SECRET_KEY")
    }
