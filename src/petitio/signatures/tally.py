"""The tally writer: the only code that moves petition counts.

Signatures are never counted on the petition row one by one (a viral
petition would serialise every signer on that row). Instead one writer at a
time, every second or so, takes the verified signatures not yet counted,
marks them counted and adds them to their petitions' counts, all in one
transaction: a crash rolls back both, so nothing is counted twice or missed.
"""

from __future__ import annotations

import logging
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Count, F
from django.utils import timezone

from petitio.petitions.milestones import milestones_fire
from petitio.petitions.models import Petition
from petitio.signatures.models import Signature, TallyState

logger = logging.getLogger(__name__)

TALLY_LOCK_KEY = 0x7E717_0001  # advisory lock id shared by every tally process


@dataclass
class TallyReport:
    locked_out: bool = False
    counted: int = 0
    petitions: Counter[int] = field(default_factory=Counter)
    milestones: int = 0


def _tally_lock() -> bool:
    """Take the tally lock for this transaction; False if another writer has it.

    On PostgreSQL an advisory transaction lock. On SQLite the IMMEDIATE
    transaction already holds the database's single write lock.
    """
    if connection.vendor != "postgresql":
        return True
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_try_advisory_xact_lock(%s)", [TALLY_LOCK_KEY])
        return bool(cursor.fetchone()[0])


def tally_run(*, limit: int | None = None, now: datetime | None = None) -> TallyReport:
    """Count newly verified signatures and fire the milestones they reach."""
    report = TallyReport()
    now = now or timezone.now()
    with transaction.atomic():
        if not _tally_lock():
            report.locked_out = True
            return report
        rows = list(
            Signature.objects.filter(state=Signature.State.VERIFIED, tallied=False)
            .order_by("id")
            .values_list("id", "petition_id")[: limit or settings.PETITIO["TALLY_BATCH"]]
        )
        ids = [row[0] for row in rows]
        for start in range(0, len(ids), 2000):
            Signature.objects.filter(id__in=ids[start : start + 2000]).update(tallied=True)
        report.counted = len(rows)
        report.petitions.update(petition_id for _, petition_id in rows)
        for petition_id, added in sorted(report.petitions.items()):
            Petition.objects.filter(pk=petition_id).update(
                signature_count=F("signature_count") + added, count_updated_at=now
            )
            petition = Petition.objects.select_related("policy").get(pk=petition_id)
            report.milestones += len(milestones_fire(petition=petition, now=now))
        TallyState.objects.update_or_create(id=1, defaults={"last_run_at": timezone.now()})
    if report.counted:
        logger.info("tally counted=%s petitions=%s", report.counted, len(report.petitions))
    return report


@dataclass
class ReconcileReport:
    locked_out: bool = False
    repaired: dict[int, tuple[int, int]] = field(default_factory=dict)


def tally_reconcile() -> ReconcileReport:
    """Recount every petition from the signatures table and repair differences.

    Runs under the tally lock, after counting whatever is waiting, so a
    difference it finds is a real one (e.g. a signature invalidated after it
    was counted) and is logged.
    """
    report = ReconcileReport()
    with transaction.atomic():
        if not _tally_lock():
            report.locked_out = True
            return report
        while tally_run().counted:
            pass
        verified = dict(
            Signature.objects.filter(state=Signature.State.VERIFIED)
            .values("petition_id")
            .annotate(n=Count("id"))
            .values_list("petition_id", "n")
        )
        for petition_id, shown in Petition.objects.values_list("pk", "signature_count"):
            actual = verified.get(petition_id, 0)
            if actual != shown:
                Petition.objects.filter(pk=petition_id).update(
                    signature_count=actual, count_updated_at=timezone.now()
                )
                report.repaired[petition_id] = (shown, actual)
                logger.warning(
                    "reconcile petition=%s shown=%s actual=%s", petition_id, shown, actual
                )
    return report
