"""Per-process copies, a second old at most, of petitions that take signatures.

Every POST of a viral petition's signing form would otherwise read the same
petition row (and its policy) again: a database round trip that tells nothing
new, hundreds of times a second. The copy only decides what the form asks
(the policy's eligibility question) and the early refusal; the insert reads
the row itself and stores nothing on a petition that is no longer signable,
so a petition closed or hidden within the last second refuses at once.

Only signable petitions are copied: a draft being published, or any other
change of state towards signable, is seen on the next request.
"""

from __future__ import annotations

import time

from django.conf import settings

from petitio.petitions.models import Petition
from petitio.petitions.selectors import petition_public

_copies: dict[int, tuple[float, Petition]] = {}
MAX_COPIES = 1000


def petition_signing_copy(petition_id: int, *, allow_draft: bool = False) -> Petition:
    """The petition a signature or confirmation is posted to (Http404 if it
    has no page; a draft has one only for its creator's confirmation)."""
    now = time.monotonic()
    found = _copies.get(petition_id)
    if found is not None and found[0] > now:
        return found[1]
    petition = petition_public(petition_id, allow_draft=allow_draft)
    if petition.is_signable():
        if len(_copies) >= MAX_COPIES:
            _copies.clear()
        _copies[petition_id] = (now + settings.PETITIO["SIGNING_COPY_SECONDS"], petition)
    return petition


def petition_signing_copies_clear() -> None:
    """Forget every copy (tests; a process that must see a change at once)."""
    _copies.clear()
