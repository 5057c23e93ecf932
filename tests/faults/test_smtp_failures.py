"""Drill 4: the SMTP server refuses some recipients for a while (4xx) and others for
good (5xx): temporary failures are retried with a growing backoff and delivered
once; permanent ones are recorded as failed and never retried; a recipient
refused temporarily for ever ends as failed after the last attempt.

The outbox job runs in one long-lived process; instead of waiting out the
backoff, the drill moves ``next_attempt_at`` into the past between runs after
checking it.
"""

from __future__ import annotations

from datetime import datetime

import pytest

from tests.faults.harness import Stack, kept_on_failure

pytestmark = pytest.mark.faults

MAX_ATTEMPTS = 4  # OUTBOX_MAX_ATTEMPTS for this drill (production default: 8)


def test_temporary_failures_are_retried_with_backoff_and_permanent_ones_are_not(stack: Stack):
    stack.extra_env["OUTBOX_MAX_ATTEMPTS"] = str(MAX_ATTEMPTS)
    setup = stack.scenario("response-petition", "12", "drill4")
    creator, *signers = [address.lower() for address in setup["signers"]]
    smtp = stack.smtp.handler
    smtp.reset()  # forget the set-up's email; count the response only

    busy_at_rcpt = signers[0:3]  # 450 at RCPT TO twice, then accepted
    busy_after_data = signers[3:5]  # 451 after the message's final ".", once
    no_such_user = signers[5:7]  # 550 at RCPT TO, always
    refused_content = signers[7:8]  # 554 after the final ".", always
    busy_for_ever = signers[8:9]  # 450 at RCPT TO, always
    fine = [creator, *signers[9:]]
    for address in busy_at_rcpt:
        smtp.refuse(address, 450, times=2)
    for address in busy_after_data:
        smtp.refuse(address, 451, times=1, phase="data")
    for address in no_such_user:
        smtp.refuse(address, 550)
    for address in refused_content:
        smtp.refuse(address, 554, phase="data")
    for address in busy_for_ever:
        smtp.refuse(address, 450)

    def rows() -> dict[str, tuple[str, int, datetime, str]]:
        """Each recipient's response message: state, attempts, next attempt, last error."""
        found = stack.sql(
            "SELECT to_email, state, attempts, next_attempt_at, last_error"
            " FROM notifications_outboxmessage WHERE kind = 'response'"
        )
        return {row[0].lower(): row[1:] for row in found}

    def now() -> datetime:
        return stack.sql("SELECT now()")[0][0]

    backoffs: dict[int, list[float]] = {}  # attempt -> seconds until the next one
    with kept_on_failure(stack):
        runner = stack.job_runner()
        first = runner.run("outbox")["result"]
        assert first["sent"] == len(fine)
        assert first["failed"] == len(no_such_user) + len(refused_content)
        assert first["retried"] == len(busy_at_rcpt) + len(busy_after_data) + len(busy_for_ever)

        for _ in range(2 * MAX_ATTEMPTS):
            waiting = {a: r for a, r in rows().items() if r[0] == "pending"}
            if not waiting:
                break
            at = now()
            for _, attempts, due, _ in waiting.values():
                backoffs.setdefault(attempts, []).append((due - at).total_seconds())
            # Not due yet: a run now sends nothing and counts no attempt.
            before = dict(smtp.rcpt_attempts)
            assert runner.run("outbox")["result"]["sent"] == 0
            assert dict(smtp.rcpt_attempts) == before
            assert {a: r[1] for a, r in rows().items() if a in waiting} == {
                a: r[1] for a, r in waiting.items()
            }
            # Time passes (the backoff), then the outbox runs again.
            stack.sql(
                "UPDATE notifications_outboxmessage SET next_attempt_at = now()"
                " WHERE state = 'pending'"
            )
            runner.run("outbox")
        else:
            pytest.fail(f"still pending after {2 * MAX_ATTEMPTS} rounds: {waiting}")

        # Runs long after: nothing failed is tried again, nothing sent is sent again.
        final = rows()
        stack.sql(
            "UPDATE notifications_outboxmessage SET next_attempt_at = now() - interval '1 day'"
        )
        idle = {"sent": 0, "retried": 0, "failed": 0, "suppressed": 0, "errors": []}
        for _ in range(3):
            assert runner.run("outbox")["result"] == idle
        assert {a: (r[0], r[1], r[3]) for a, r in rows().items()} == {
            a: (r[0], r[1], r[3]) for a, r in final.items()
        }

    delivered = smtp.delivered
    refused = busy_at_rcpt + no_such_user + busy_for_ever
    print(
        f"\ndrill 4: {len(final)} response emails; backoff seconds by attempt "
        f"{ {n: [round(s) for s in v] for n, v in sorted(backoffs.items())} }; "
        f"RCPT TO per refused address "
        f"{ {a.split('@')[0]: smtp.rcpt_attempts[a] for a in refused} }; "
        f"states { {a.split('@')[0]: final[a][:2] for a in signers[:9]} }"
    )
    # Backoff: 30 s after the first attempt, doubling each time (checked before each run).
    for attempts, seconds in backoffs.items():
        expected = 30 * 2 ** (attempts - 1)
        assert all(expected - 5 < s <= expected for s in seconds), (attempts, seconds)
    assert set(backoffs) == set(range(1, MAX_ATTEMPTS))
    # Temporary failures: delivered, once.
    for address in busy_at_rcpt:
        assert final[address][:2] == ("sent", 3) and delivered[address] == 1, address
    for address in busy_after_data:
        assert final[address][:2] == ("sent", 2) and delivered[address] == 1, address
    # Permanent failures: recorded at the first answer, never tried again.
    for address in no_such_user:
        assert final[address][:2] == ("failed", 1), final[address]
        assert "550" in final[address][3]
        assert smtp.rcpt_attempts[address] == 1 and delivered[address] == 0
    for address in refused_content:
        assert final[address][:2] == ("failed", 1) and "554" in final[address][3]
        assert delivered[address] == 0
    # Refused temporarily for ever: given up after the last attempt, as failed.
    for address in busy_for_ever:
        assert final[address][:2] == ("failed", MAX_ATTEMPTS), final[address]
        assert "450" in final[address][3]
        assert smtp.rcpt_attempts[address] == MAX_ATTEMPTS and delivered[address] == 0
    for address in fine:
        assert final[address][:2] == ("sent", 1) and delivered[address] == 1, address
