"""Drill 1: the Celery worker is SIGKILLed, twice, while it emails a response to
2,000 signers, and started again each time: every signer receives exactly one
email, counted at the SMTP server.

The first kill is the worst moment for duplicates: the SMTP server kills the
worker as it takes message 425, before answering "250", so the worker never
learns that message was accepted. The second lands wherever the worker happens
to be once 1,234 messages have arrived.
"""

from __future__ import annotations

import signal
import time

import pytest

from tests.faults.harness import Stack, kept_on_failure, wait_until

pytestmark = pytest.mark.faults

SIGNERS = 2000
KILL_AT_ACCEPTANCE = 425  # killed by the SMTP server as it takes this message
KILL_AFTER = 1234  # killed by the test once this many have arrived


def test_worker_killed_while_emailing_a_response_sends_every_signer_exactly_one(stack: Stack):
    # A short lease, so the restarted worker takes back the killed worker's claim in
    # seconds rather than the production default of five minutes; small batches so
    # both worker processes have claims in flight.
    stack.extra_env |= {"OUTBOX_LEASE_SECONDS": "3", "OUTBOX_BATCH": "50"}
    setup = stack.scenario("response-petition", str(SIGNERS), "drill1")
    signers = [address.lower() for address in setup["signers"]]
    assert setup["queued"] == len(signers) == SIGNERS + 1  # the creator signed too
    smtp = stack.smtp.handler

    def outbox() -> dict[str, int]:
        rows = stack.sql(
            "SELECT state, count(*) FROM notifications_outboxmessage"
            " WHERE kind = 'response' GROUP BY state"
        )
        return dict(rows)

    with kept_on_failure(stack):
        started = time.monotonic()
        worker = stack.start_worker("worker-1")
        smtp.on_accepting("response", KILL_AT_ACCEPTANCE, worker.signal_group)
        kills = []
        for n, threshold in enumerate((KILL_AT_ACCEPTANCE, KILL_AFTER), start=2):

            def reached(threshold: int = threshold) -> bool:
                stack.feed("outbox")
                return smtp.count("response") >= threshold

            wait_until(reached, timeout=60, what=f"{threshold} response emails", interval=0.01)
            worker.kill(signal.SIGKILL)
            kills.append({"received": smtp.count("response"), "outbox": outbox()})
            worker = stack.start_worker(f"worker-{n}")

        def all_delivered() -> bool:
            stack.feed("outbox")
            return outbox() == {"sent": len(signers)} and smtp.count("response") >= len(signers)

        wait_until(
            all_delivered,
            timeout=60,
            what="every response email",
            interval=0.1,
            state=lambda: (
                outbox(),
                smtp.count("response"),
                kills,
                stack.sql(
                    "SELECT id, key, state, attempts, sent_at, claimed_until, last_error"
                    " FROM notifications_outboxmessage WHERE kind = 'response'"
                    " AND state <> 'sent'"
                ),
            ),
        )
        worker.kill(signal.SIGKILL)  # nothing more can arrive after this
        seconds = time.monotonic() - started

    delivered, keys = smtp.snapshot()
    response_keys = {key: n for key, n in keys.items() if key.startswith("response:")}
    print(
        f"\ndrill 1: {len(signers)} signers; worker killed at {kills}; "
        f"{sum(response_keys.values())} response emails received in {seconds:.1f}s"
    )
    # The killed workers held claims: messages in "sending" that another worker took over.
    assert any(kill["outbox"].get("sending") for kill in kills), kills
    assert {key: n for key, n in response_keys.items() if n != 1} == {}, "sent twice"
    assert len(response_keys) == len(signers)
    assert {address: delivered[address] for address in signers} == dict.fromkeys(signers, 1)
