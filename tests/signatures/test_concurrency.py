"""The signing path under real concurrency: threads and processes, each with its
own PostgreSQL connection, racing for the same rows.

SQLite serialises every writer, so these tests say nothing there; bin/test runs
the suite on PostgreSQL too, where they always run.
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from urllib.parse import quote

import pytest
from django.db import connection

from petitio.notifications.delivery import outbox_drain
from petitio.notifications.models import OutboxMessage
from petitio.petitions.models import Addressee, MilestoneReached, Petition, State
from petitio.responses.services import response_fanout, response_publish
from petitio.signatures.models import Signature
from petitio.signatures.services import signature_confirm, signature_create, signature_token_issue
from petitio.signatures.tally import tally_run
from tests.factories import add_verified, deliver_all, official_of, open_petition, sign

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.postgres_only]

PROJECT_DIR = Path(__file__).resolve().parents[2]


@pytest.fixture(autouse=True)
def _postgresql_only() -> None:
    if connection.vendor == "sqlite":
        pytest.fail(
            "needs PostgreSQL: bin/test runs it in the PostgreSQL pass "
            "(the SQLite pass deselects -m postgres_only)"
        )


def run_together(workers: list[Callable[[], object]]) -> list[BaseException]:
    """Start every worker at the same moment, each in its own thread with its own
    database connection; return whatever escaped any of them."""
    barrier = threading.Barrier(len(workers))
    escaped: list[BaseException] = []
    lock = threading.Lock()

    def run(work: Callable[[], object]) -> None:
        try:
            barrier.wait(timeout=30)
            work()
        except BaseException as exc:
            with lock:
                escaped.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(work,)) for work in workers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not any(thread.is_alive() for thread in threads), "a worker hung"
    return escaped


def test_twenty_simultaneous_signatures_by_one_person_store_one(president):
    petition = open_petition(president)
    variants = [
        "jane.doe@gmail.com",
        "janedoe@gmail.com",
        "JaneDoe@gmail.com",
        "JANEDOE@GMAIL.COM",
        "j.a.n.e.d.o.e@gmail.com",
        "jane.doe+1@gmail.com",
        "jane.doe+2@gmail.com",
        "janedoe+petition@gmail.com",
        "Jane.Doe+X@Gmail.com",
        "jane.doe@googlemail.com",
        "janedoe@googlemail.com",
        "JaneDoe+tag@GoogleMail.com",
        "ja.ne.do.e@gmail.com",
        "jaNe.dOe@gmail.com",
        "jan.e.doe@googlemail.com",
        "jane.doe+a.b@gmail.com",
        "J.ANEDOE+z@gmail.com",
        " jane.doe@gmail.com ",
        "jane.d.o.e+last@googlemail.com",
        "JANE.DOE+SHOUT@GMAIL.COM",
    ]
    assert len(variants) == 20
    answers: list[object] = []

    def signer(email: str) -> Callable[[], None]:
        def work() -> None:
            answers.append(
                signature_create(
                    petition=Petition.objects.get(pk=petition.pk),
                    name="Jane Doe",
                    email=email,
                    postal_code="53703",
                    country="US",
                )
            )

        return work

    escaped = run_together([signer(email) for email in variants])

    assert escaped == []
    assert answers == [None] * 20, "every request got the same answer"
    (signature,) = Signature.objects.filter(petition=petition, is_creator=False)
    assert signature.email_canonical == "janedoe@gmail.com"
    assert signature.state == Signature.State.PENDING
    confirmations = OutboxMessage.objects.filter(
        kind="signature_confirm", payload__signature_id=signature.pk
    )
    assert confirmations.count() == 1, "one confirmation email, not twenty"


def database_url_for_subprocess() -> str:
    """The URL of the test database this run uses, for a separate process."""
    db = connection.settings_dict
    user = quote(db["USER"] or "", safe="")
    password = f":{quote(db['PASSWORD'], safe='')}" if db.get("PASSWORD") else ""
    credentials = f"{user}{password}@" if user or password else ""
    host = db["HOST"] or "127.0.0.1"
    port = f":{db['PORT']}" if db.get("PORT") else ""
    return f"postgresql://{credentials}{host}{port}/{db['NAME']}"


TALLY_PROCESS = """
import select
import sys

from petitio.signatures.tally import tally_run

print("ready", flush=True)
sys.stdin.readline()  # go
counted = runs = locked_out = 0
while not select.select([sys.stdin], [], [], 0)[0]:  # until told to stop
    report = tally_run()
    runs += 1
    counted += report.counted
    locked_out += report.locked_out
sys.stdin.readline()
while True:  # one last run that holds the lock, after every confirmation committed
    report = tally_run()
    counted += report.counted
    if not report.locked_out:
        break
print(f"counted={counted} runs={runs} locked_out={locked_out}", flush=True)
"""


def test_tally_from_two_processes_while_people_confirm_counts_each_once(council):
    petition = open_petition(council)
    signatures = []
    for i in range(40):
        sign(petition, f"p{i}@example.org")
        signatures.append(Signature.objects.get(petition=petition, email=f"p{i}@example.org"))
    tokens = [signature_token_issue(signature=s) for s in signatures]
    to_confirm, left_pending = tokens[:36], tokens[36:]

    env = {**os.environ, "DATABASE_URL": database_url_for_subprocess(), "PYTHONUNBUFFERED": "1"}
    command = [sys.executable, "-m", "petitio", "shell", "--no-imports", "-c", TALLY_PROCESS]
    processes = [
        subprocess.Popen(
            command,
            cwd=PROJECT_DIR,
            env=env,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(2)
    ]
    try:
        for process in processes:
            assert process.stdout.readline().strip() == "ready", process.stderr.read()
        for process in processes:  # go
            process.stdin.write("\n")
            process.stdin.flush()

        def confirmer(share: list[str]) -> Callable[[], None]:
            def work() -> None:
                mine = Petition.objects.get(pk=petition.pk)
                for token in share:
                    signature_confirm(petition=mine, token=token)

            return work

        escaped = run_together([confirmer(to_confirm[i::4]) for i in range(4)])

        for process in processes:  # stop: one last run each, then report
            process.stdin.write("stop\n")
            process.stdin.flush()
        outputs = [process.communicate(timeout=120) for process in processes]
    finally:
        for process in processes:
            if process.poll() is None:
                process.kill()
                process.wait()

    assert escaped == []
    for process, (_, err) in zip(processes, outputs, strict=True):
        assert process.returncode == 0, err
    counted = sum(int(out.split("counted=")[1].split()[0]) for out, _ in outputs)

    verified = Signature.objects.filter(petition=petition, state=Signature.State.VERIFIED)
    assert verified.count() == 37  # the creator and 36 signers
    assert not verified.filter(tallied=False).exists()
    assert counted == 37, "the two processes together counted each signature once"
    petition.refresh_from_db()
    assert petition.signature_count == 37
    assert Signature.objects.filter(petition=petition, state="pending").count() == len(left_pending)

    fired = Counter(
        MilestoneReached.objects.filter(addressee__petition=petition).values_list(
            "milestone__kind", flat=True
        )
    )
    assert fired == {"listing": 1, "response": 1}
    assert petition.state == State.AWAITING_RESPONSE
    assert Addressee.objects.get(petition=petition).response_due_at is not None
    authority_mail = Counter(
        OutboxMessage.objects.filter(to_email="clerk@council.example.org").values_list(
            "payload__event", flat=True
        )
    )
    assert authority_mail == {"published": 1, "milestone_listing": 1, "milestone_response": 1}


def test_two_simultaneous_deliveries_send_each_signer_the_response_once(council, mailbox, settings):
    settings.PETITIO = {**settings.PETITIO, "OUTBOX_BATCH": 7}
    petition = open_petition(council)
    add_verified(petition, 60)
    while tally_run().counted:
        pass
    addressee = Addressee.objects.get(petition=petition)
    assert addressee.response_due_at is not None
    deliver_all()
    mailbox.clear()
    response = response_publish(
        addressee=addressee,
        summary="We will plant the trees.",
        body="The council has budgeted for the trees next spring.",
        by=official_of(council),
    )
    signers = list(
        Signature.objects.filter(petition=petition, state="verified").values_list(
            "email", flat=True
        )
    )
    assert len(signers) == 61

    def fanout_and_deliver() -> None:
        response_fanout(response=response)  # re-running the fan-out queues nobody twice
        outbox_drain(max_seconds=60)

    escaped = run_together([fanout_and_deliver, fanout_and_deliver])
    deliver_all()  # anything a worker gave back

    assert escaped == []
    received = Counter(
        message["To"] for message in mailbox.messages if "responded" in message["Subject"]
    )
    assert received == dict.fromkeys(signers, 1)
    assert len(mailbox.messages) == 61
    assert (
        not OutboxMessage.objects.exclude(state=OutboxMessage.State.SENT)
        .filter(kind="response")
        .exists()
    )
