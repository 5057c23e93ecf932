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
from collections.abc import Callable, Iterable
from typing import Any

# What a request itself supplies (PEP 3333, CGI): kept even if the process
# environment happens to hold the same name, since the request's value wins.
REQUEST_KEYS = frozenset(
    {
        "REQUEST_METHOD",
        "SCRIPT_NAME",
        "PATH_INFO",
        "QUERY_STRING",
        "CONTENT_TYPE",
        "CONTENT_LENGTH",
        "SERVER_NAME",
        "SERVER_PORT",
        "SERVER_PROTOCOL",
        "REMOTE_ADDR",
        "REMOTE_PORT",
        "GATEWAY_INTERFACE",
        "SERVER_SOFTWARE",
    }
)


def server_environment_names(environment: Iterable[str]) -> tuple[str, ...]:
    """The names in ``environment`` that no request supplies (request headers
    arrive as ``HTTP_*`` and are the request's own)."""
    return tuple(
        name
        for name in environment
        if name not in REQUEST_KEYS and not name.startswith(("HTTP_", "wsgi."))
    )


class ServerEnvironmentRemoved:
    def __init__(
        self,
        app: Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]],
        names: Iterable[str] | None = None,
    ) -> None:
        self.app = app
        # The server copies the environment as it is once the application is
        # loaded, which is when this runs.
        self.names = server_environment_names(os.environ if names is None else names)

    def __call__(
        self, environ: dict[str, Any], start_response: Callable[..., Any]
    ) -> Iterable[bytes]:
        for name in self.names:
            environ.pop(name, None)
        return self.app(environ, start_response)
