"""Set-ups and jobs the fault drills run in a separate process, against the drill's
own database with the production settings (``python -m tests.faults.scenario ...``).

Each command prints one JSON line. Data is made through the project's services
(the factories), except the 200,000 signatures of the tally drill, which one
INSERT makes in seconds.
"""

from __future__ import annotations

import dataclasses
import json
import sys
from collections import Counter
from typing import Any

import django


def _setup() -> None:
    import os

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "petitio.config.settings")
    django.setup()


def _council():
    """A small authority whose response is owed at 5 signatures (as tests/conftest.py)."""
    from petitio.authorities.models import Authority, Milestone, ResponsePolicy

    policy, created = ResponsePolicy.objects.get_or_create(
        slug="fault-council",
        defaults={"name": "Fault council", "open_days": 30, "late_confirmation_hours": 24},
    )
    if created:
        Milestone.objects.create(policy=policy, kind="listing", signatures=3, window_days=30)
        Milestone.objects.create(
            policy=policy, kind="response", signatures=5, window_days=30, response_days=10
        )
    authority, _ = Authority.objects.get_or_create(
        slug="fault-council",
        defaults={
            "name": "Fault Town Council",
            "kind": "council",
            "country": "US",
            "region": "Wisconsin",
            "city": "Faultville",
            "contact_email": "clerk@council.example.org",
            "policy": policy,
        },
    )
    return authority


def council_petition() -> dict[str, Any]:
    """A petition to the small council, open for signing."""
    from tests.factories import open_petition

    return {"petition": open_petition(_council()).pk}


def response_petition(signers: str, prefix: str) -> dict[str, Any]:
    """A petition with ``signers`` verified signatures, its earlier email delivered,
    and a published response: one response email per signer waits in the outbox."""
    from django.utils import timezone

    from petitio.notifications.models import OutboxMessage
    from petitio.petitions.models import Addressee, Petition
    from petitio.responses.services import response_publish
    from petitio.signatures.canonical import email_canonicalize
    from petitio.signatures.services import Signer, signatures_import_verified
    from petitio.signatures.tally import tally_run
    from tests.factories import deliver_all, official_of

    council = _council()
    petition = Petition.objects.get(pk=council_petition()["petition"])
    addresses = [f"{prefix}.{i}@example.org" for i in range(int(signers))]
    signatures_import_verified(
        petition=petition,
        signers=(
            Signer("Drill Signer", a, email_canonicalize(a), "53703", "US", "") for a in addresses
        ),
        verified_at=timezone.now(),
    )
    while tally_run().counted:
        pass
    deliver_all()  # the creator's and the council's email so far
    addressee = Addressee.objects.get(petition=petition)
    response = response_publish(
        addressee=addressee,
        summary="We will plant the trees.",
        body="The council has budgeted for the trees next spring.",
        by=official_of(council),
    )
    queued = OutboxMessage.objects.filter(kind="response", state="pending").count()
    creator = petition.signatures.get(is_creator=True).email
    return {
        "petition": petition.pk,
        "response": response.pk,
        "signers": [creator, *addresses],
        "queued": queued,
    }


def bulk_verified(count: str) -> dict[str, Any]:
    """A petition and ``count`` verified signatures the tally has not counted yet."""
    from django.db import connection

    from petitio.petitions.models import Petition

    petition_id = council_petition()["petition"]
    with connection.cursor() as cursor:
        cursor.execute(
            """
            INSERT INTO signatures_signature
                (petition_id, name, email, email_canonical, postal_code, country, region,
                 state, is_creator, created_at, verified_at, last_email_at, tallied,
                 request_meta)
            SELECT %s, 'Drill Signer', 'bulk.' || n || '@example.org',
                   'bulk.' || n || '@example.org', '53703', 'US', '', 'verified', false,
                   now(), now(), NULL, false, '{}'::jsonb
            FROM generate_series(1, %s) AS n
            """,
            [petition_id, int(count)],
        )
    shown = Petition.objects.get(pk=petition_id).signature_count
    return {"petition": petition_id, "inserted": int(count), "signature_count": shown}


def tally_once() -> dict[str, Any]:
    """One run of the tally writer (the drill kills it in the middle)."""
    from petitio.signatures.tally import tally_run

    return _plain(tally_run())


def _plain(value: Any) -> Any:
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: _plain(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, Counter | dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return value


def serve() -> None:
    """Run one job per line read (``outbox``, ``tally``, ``reconcile``...), answer in JSON."""
    from django.db import close_old_connections

    from petitio.config.schedule import job_run

    print(json.dumps({"ready": True}), flush=True)
    for line in sys.stdin:
        name = line.strip()
        if not name:
            continue
        try:
            answer = {"job": name, "result": _plain(job_run(name))}
        except Exception as exc:
            answer = {"job": name, "error": f"{type(exc).__name__}: {exc}"}
        finally:
            close_old_connections()
        print(json.dumps(answer, default=str), flush=True)


COMMANDS = {
    "open-petition": council_petition,
    "response-petition": response_petition,
    "bulk-verified": bulk_verified,
    "tally-once": tally_once,
}

if __name__ == "__main__":
    _setup()
    command, *args = sys.argv[1:]
    if command == "serve":
        serve()
    else:
        print(json.dumps(COMMANDS[command](*args), default=str), flush=True)
