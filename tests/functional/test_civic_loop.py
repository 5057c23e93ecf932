"""The whole loop through the pages: create, confirm, sign, count, respond, email."""

from __future__ import annotations

import pytest
from django.urls import reverse

from petitio.petitions.models import Addressee, Petition, State
from petitio.signatures.tally import tally_run
from tests.factories import add_verified, confirm_link, deliver_all, official_of

pytestmark = pytest.mark.django_db


def test_petition_created_signed_counted_and_answered_by_email(client, council, mailbox):
    response = client.post(
        reverse("petition-new"),
        {
            "authority": "small-council",
            "action": "Fund school nurses in every district",
            "background": "Many schools have no nurse at all.",
            "details": "",
            "name": "Robin Creator",
            "email": "robin@example.org",
            "postal_code": "53703",
            "country": "US",
        },
    )
    assert response.status_code == 302
    petition = Petition.objects.get(action="Fund school nurses in every district")
    assert petition.state == State.DRAFT
    assert client.get(reverse("petition-detail", args=[petition.pk])).status_code == 404

    deliver_all()
    (creator_email,) = mailbox.to("robin@example.org")
    petition_id, token = confirm_link(creator_email)
    confirm_url = reverse("signature-confirm", args=[petition_id, token])
    assert client.get(confirm_url).status_code == 200
    petition.refresh_from_db()
    assert petition.state == State.DRAFT, "a GET on the link must not confirm"
    assert client.post(confirm_url).status_code == 302
    petition.refresh_from_db()
    assert petition.state == State.GATHERING

    for name in ("ann", "bob", "cy"):
        answer = client.post(
            reverse("petition-sign", args=[petition.pk]),
            {
                "name": name.title(),
                "email": f"{name}@example.org",
                "postal_code": "10001",
                "country": "US",
            },
        )
        assert answer.status_code == 302
    deliver_all()
    for name in ("ann", "bob", "cy"):
        (message,) = mailbox.to(f"{name}@example.org")
        _, token = confirm_link(message)
        client.post(reverse("signature-confirm", args=[petition.pk, token]))

    tally_run()
    page = client.get(reverse("petition-detail", args=[petition.pk]))
    assert b'id="signature-count">4<' in page.content

    add_verified(petition, 1)
    addressee = Addressee.objects.get(petition=petition)
    assert addressee.response_due_at is not None
    official = official_of(council)
    client.force_login(official)
    answer = client.post(
        reverse("response-edit", args=[addressee.pk]),
        {"summary": "We will fund nurses.", "body": "A long and careful answer."},
    )
    assert answer.status_code == 302
    deliver_all()
    deliver_all()
    assert any("now requires your response" in m["Subject"] for m in mailbox.to("clerk@"))
    for name in ("ann", "bob", "cy", "robin"):
        received = [m for m in mailbox.to(f"{name}@example.org") if "responded" in m["Subject"]]
        assert len(received) == 1, name
    petition.refresh_from_db()
    assert petition.state == State.RESPONDED
