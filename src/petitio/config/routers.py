"""Send reads to a replica when one is configured, for read-only requests.

A GET or HEAD request (pages, the API's lists) reads from the replica; any
other request, and every job and command, uses the primary, so a signer
never reads a replica that has not yet seen their own write.
"""

from __future__ import annotations

from contextvars import ContextVar
from typing import Any

from django.conf import settings

reads_from_replica: ContextVar[bool] = ContextVar("reads_from_replica", default=False)


class ReplicaRouter:
    def db_for_read(self, model: type, **hints: Any) -> str | None:
        if reads_from_replica.get() and "replica" in settings.DATABASES:
            return "replica"
        return None

    def db_for_write(self, model: type, **hints: Any) -> str | None:
        return "default"

    def allow_relation(self, obj1: Any, obj2: Any, **hints: Any) -> bool | None:
        return True

    def allow_migrate(self, db: str, app_label: str, **hints: Any) -> bool | None:
        return db == "default"


class ReadOnlyRequestsUseReplica:
    """Middleware: mark GET/HEAD requests as free to read from the replica.

    After a write, the browser reads from the primary for a few seconds (a
    short cookie), so the page a POST redirects to never comes from a replica
    that has not caught up with it.
    """

    COOKIE = "petitio_primary"
    STICKY_SECONDS = 10

    def __init__(self, get_response: Any) -> None:
        self.get_response = get_response

    def __call__(self, request: Any) -> Any:
        has_replica = "replica" in settings.DATABASES
        read_only = request.method in ("GET", "HEAD") and self.COOKIE not in request.COOKIES
        token = reads_from_replica.set(read_only)
        try:
            response = self.get_response(request)
        finally:
            reads_from_replica.reset(token)
        if has_replica and request.method not in ("GET", "HEAD"):
            response.set_cookie(
                self.COOKIE,
                "1",
                max_age=self.STICKY_SECONDS,
                httponly=True,
                secure=settings.SESSION_COOKIE_SECURE,
                samesite="Lax",
            )
        return response
