"""Keep the server's own environment variables out of each request.

granian, the production web server, starts every request's WSGI environ from a
copy of the process environment, as CGI did (Django's runserver does the same).
That would put ``DATABASE_URL``, ``SECRET_KEY``, ``REDIS_URL`` and the rest of
the settings into ``request.META``, and from there into anything that shows
META: an error report lists it, and Django's filter hides ``SECRET_KEY`` but
not the password inside ``DATABASE_URL``. This wrapper, outermost, takes them
out before the site sees the request.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Mapping
from typing import Any

# What the server sets from each request (PEP 3333, CGI): the request's value
# replaces any the process environment held.
REQUEST_KEYS = frozenset(
    {
        "REQUEST_METHOD",
        "SCRIPT_NAME",
        "PATH_INFO",
        "QUERY_STRING",
        "SERVER_NAME",
        "SERVER_PORT",
        "SERVER_PROTOCOL",
        "REMOTE_ADDR",
        "REMOTE_PORT",
        "GATEWAY_INTERFACE",
        "SERVER_SOFTWARE",
    }
)


def server_environment(environment: Mapping[str, str]) -> tuple[tuple[str, ...], dict[str, str]]:
    """Split ``environment`` into the names no request supplies, always
    removed, and the ones a request may also carry (``HTTP_*`` headers,
    ``CONTENT_TYPE``, ``CONTENT_LENGTH``), removed only while they still hold
    the process's value, i.e. the request did not send its own."""
    always, unless_sent = [], {}
    for name, value in environment.items():
        if name.startswith(("HTTP_", "CONTENT_")):
            unless_sent[name] = value
        elif name not in REQUEST_KEYS and not name.startswith("wsgi."):
            always.append(name)
    return tuple(always), unless_sent


class ServerEnvironmentRemoved:
    def __init__(
        self,
        app: Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]],
        environment: Mapping[str, str] | None = None,
    ) -> None:
        self.app = app
        # The server copies the environment as it is once the application is
        # loaded, which is when this runs.
        self.names, self.unless_sent = server_environment(
            os.environ if environment is None else environment
        )

    def __call__(
        self, environ: dict[str, Any], start_response: Callable[..., Any]
    ) -> Iterable[bytes]:
        for name in self.names:
            environ.pop(name, None)
        for name, value in self.unless_sent.items():
            if environ.get(name) == value:
                del environ[name]
        return self.app(environ, start_response)
