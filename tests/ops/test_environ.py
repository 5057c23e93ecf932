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

    app = ServerEnvironmentRemoved(WSGIHandler(), names=SERVER_ENVIRONMENT)
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


def test_a_request_header_named_like_a_server_variable_is_kept():
    seen: dict = {}

    def app(environ, start_response):
        seen.update(environ)
        return [b""]

    wrapped = ServerEnvironmentRemoved(app, names=["HTTP_PROXY", "SERVER_NAME", "SECRET_KEY"])
    wrapped(granian_environ(HTTP_PROXY="from-the-request"), lambda *a: None)
    assert seen["HTTP_PROXY"] == "from-the-request"
    assert seen["SERVER_NAME"] == "petitio.example.org"
    assert "SECRET_KEY" not in seen


def test_the_production_entry_point_removes_this_process_environment():
    from petitio.config import wsgi

    assert isinstance(wsgi.application, ServerEnvironmentRemoved)
    assert "DJANGO_SETTINGS_MODULE" in wsgi.application.names
    assert set(wsgi.application.names) >= {
        name for name in os.environ if name in ("PATH", "HOME", "DATABASE_URL", "SECRET_KEY")
    }
