"""Drill 5: the tally writer is SIGKILLed in the middle of a batch of 200,000 newly
verified signatures: nothing is counted twice or missed; the next run catches
up; reconciliation finds no difference; each milestone fired once."""

from __future__ import annotations

import signal
import time

import pytest

from tests.faults.harness import VENV_BIN, Stack, kept_on_failure, wait_until

pytestmark = pytest.mark.faults

SIGNATURES = 200_000
UPDATES_BEFORE_KILL = 8  # of the batch's 100 UPDATEs (2,000 signatures each)
TALLY_APP = "petitio-fault-tally"  # the killed writer's application_name in pg_stat_activity


def test_tally_writer_killed_mid_batch_counts_everything_once(stack: Stack):
    stack.extra_env["TALLY_BATCH"] = str(SIGNATURES + 1000)  # the whole backlog in one batch
    setup = stack.scenario("bulk-verified", str(SIGNATURES), timeout=180)
    petition = setup["petition"]

    def counts() -> dict[str, int]:
        (shown, verified, tallied, untallied), *_ = stack.sql(
            "SELECT p.signature_count,"
            " count(s.id) FILTER (WHERE s.state = 'verified'),"
            " count(s.id) FILTER (WHERE s.state = 'verified' AND s.tallied),"
            " count(s.id) FILTER (WHERE s.state = 'verified' AND NOT s.tallied)"
            " FROM petitions_petition p JOIN signatures_signature s ON s.petition_id = p.id"
            " WHERE p.id = %s GROUP BY p.signature_count",
            [petition],
        )
        return {"shown": shown, "verified": verified, "tallied": tallied, "untallied": untallied}

    def writer_sql() -> list[tuple[object, ...]]:
        return stack.sql(
            "SELECT query_start, backend_xid IS NOT NULL, left(query, 60)"
            " FROM pg_stat_activity WHERE application_name = %s",
            [TALLY_APP],
        )

    before = counts()
    total = SIGNATURES + 1  # and the creator's
    assert before == {"shown": 0, "verified": total, "tallied": 0, "untallied": total}

    with kept_on_failure(stack):
        writer = stack.start(
            "tally-writer",
            [str(VENV_BIN / "python"), "-m", "tests.faults.scenario", "tally-once"],
            DATABASE_URL=stack.cluster.url(stack.dbname, application_name=TALLY_APP),
        )

        updates_seen: set[object] = set()

        def marking() -> bool:
            # In its one transaction it is marking signatures counted, 2,000 an UPDATE:
            # it has written rows (it has an xid) and several UPDATEs have run.
            assert writer.alive(), "the tally writer finished before it could be killed"
            for started, written, query in writer_sql():
                if written and "UPDATE" in query and "tallied" in query:
                    updates_seen.add(started)
            return len(updates_seen) >= UPDATES_BEFORE_KILL

        wait_until(marking, timeout=60, what="the tally writer to be mid-batch", interval=0.01)
        killed_at = time.monotonic()
        writer.kill(signal.SIGKILL)
        right_after = counts()
        # Its backend notices the dead client and rolls back, releasing the tally lock.
        wait_until(lambda: not writer_sql(), timeout=60, what="the killed writer's backend to end")
        rolled_back_in = time.monotonic() - killed_at
        after_kill = counts()

        runner = stack.job_runner()
        runs = []
        while counts()["untallied"] and len(runs) < 10:
            runs.append(runner.run("tally")["result"])
        caught_up = counts()
        reconcile = runner.run("reconcile")["result"]
        milestones = stack.sql(
            "SELECT m.kind, count(*) FROM petitions_milestonereached r"
            " JOIN authorities_milestone m ON m.id = r.milestone_id"
            " JOIN petitions_addressee a ON a.id = r.addressee_id"
            " WHERE a.petition_id = %s GROUP BY m.kind",
            [petition],
        )

    print(
        f"\ndrill 5: {SIGNATURES} verified signatures; writer killed mid-batch (after "
        f"{len(updates_seen)}+ of its UPDATEs seen running); counts right "
        f"after {right_after}, once its backend ended ({rolled_back_in:.1f}s) {after_kill}; "
        f"next runs counted {[r['counted'] for r in runs]}; then {caught_up}; "
        f"reconcile repaired {reconcile['repaired']}; milestones {dict(milestones)}"
    )
    # The killed batch left no trace: nothing counted, nothing marked.
    assert right_after == before
    assert after_kill == before
    # The next run caught up: every verified signature counted once, none left.
    assert sum(r["counted"] for r in runs) == total
    assert caught_up == {"shown": total, "verified": total, "tallied": total, "untallied": 0}
    assert reconcile == {"locked_out": False, "repaired": {}}
    assert dict(milestones) == {"listing": 1, "response": 1}
