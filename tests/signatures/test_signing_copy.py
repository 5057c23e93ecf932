"""The signing path reads a per-process copy of the petition, up to a second
old (petitions/snapshots.py). Whatever the copy says, the database decides:
a petition closed or hidden since the copy was taken stores nothing more."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from petitio.notifications.models import OutboxMessage
from petitio.petitions.models import Petition, State
from petitio.responses.models import Response
from petitio.signatures.models import Signature
from petitio.signatures.services import signature_confirm, signature_token_issue
from tests.factories import official_of, open_petition, sign


def signing_form(email: str) -> dict[str, str]:
    return {
        "name": "Grace Hopper",
        "email": email,
        "postal_code": "53703",
        "country": "US",
        "eligible": "on",
    }


@pytest.fixture
def petition(council) -> Petition:
    return open_petition(council, action="Keep the library open on Sundays")


def post_signature(client, petition: Petition, email: str):
    return client.post(
        reverse("petition-sign", args=[petition.pk]), signing_form(email), follow=True
    )


def test_a_signature_and_its_confirmation_email_are_stored_together(client, petition):
    response = client.post(
        reverse("petition-sign", args=[petition.pk]), signing_form("Ada@Example.org")
    )
    assert response.status_code == 302
    signature = Signature.objects.get(petition=petition, email="Ada@Example.org")
    assert signature.state == Signature.State.PENDING
    assert signature.email_canonical == "ada@example.org"
    assert signature.request_meta["ip"] == "127.0.0.1"
    queued = OutboxMessage.objects.get(kind="signature_confirm", to_email="Ada@Example.org")
    assert queued.payload == {"signature_id": signature.pk}
    assert queued.petition_id == petition.pk


@pytest.mark.parametrize(
    "change",
    [
        {"closes_at": timezone.now() - timedelta(seconds=1)},
        {"state": State.HIDDEN},
        {"state": State.REMOVED},
        {"state": State.CLOSED},
    ],
    ids=["deadline passed", "hidden", "removed", "closed"],
)
def test_a_petition_that_stopped_taking_signatures_since_the_copy_stores_nothing(
    client, petition, change
):
    assert post_signature(client, petition, "first@example.org").status_code == 200
    Petition.objects.filter(pk=petition.pk).update(**change)  # the copy has not seen this

    page = post_signature(client, petition, "second@example.org")

    assert not Signature.objects.filter(email="second@example.org").exists()
    assert not OutboxMessage.objects.filter(to_email="second@example.org").exists()
    if change.get("state") == State.REMOVED:
        assert page.status_code == 410
    else:
        assert "cannot be signed" in page.content.decode() or "closed" in page.content.decode()


def test_signing_twice_through_the_copy_stores_one_signature(client, petition):
    post_signature(client, petition, "twice@example.org")
    post_signature(client, petition, "Twice@Example.org")
    assert (
        Signature.objects.filter(petition=petition, email_canonical="twice@example.org").count()
        == 1
    )


def test_a_confirmation_after_the_deadline_still_counts_within_the_grace_period(petition):
    sign(petition, "late@example.org")
    signature = Signature.objects.get(email="late@example.org")
    token = signature_token_issue(signature=signature)
    copy = Petition.objects.select_related("policy").get(pk=petition.pk)  # taken before closing
    Petition.objects.filter(pk=petition.pk).update(closes_at=timezone.now() - timedelta(minutes=1))

    signature_confirm(petition=copy, token=token)

    signature.refresh_from_db()
    assert signature.state == Signature.State.VERIFIED


def test_a_signer_confirming_after_a_response_since_the_copy_gets_the_response(petition, council):
    from petitio.petitions.models import Addressee

    sign(petition, "reader@example.org")
    signature = Signature.objects.get(email="reader@example.org")
    token = signature_token_issue(signature=signature)
    copy = Petition.objects.select_related("policy").get(pk=petition.pk)
    addressee = Addressee.objects.get(petition=petition)
    response = Response.objects.create(
        addressee=addressee,
        summary="Open on Sundays",
        body="We will open on Sundays from May.",
        published_by=official_of(council),
        published_by_name="The council",
    )
    Petition.objects.filter(pk=petition.pk).update(state=State.RESPONDED)

    signature_confirm(petition=copy, token=token)

    assert OutboxMessage.objects.filter(
        kind="response", to_email="reader@example.org", payload={"response_id": response.pk}
    ).exists()
