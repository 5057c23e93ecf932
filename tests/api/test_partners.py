"""Partner keys (hashed, revocable, rate-limited) and signing through the API."""

from __future__ import annotations

import hashlib
import io
import json
import re
from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.core.management import call_command
from django.utils import timezone

from petitio.api import ratelimit
from petitio.api.models import PartnerKey
from petitio.api.services import (
    partner_key_authenticate,
    partner_key_create,
    partner_key_revoke,
)
from petitio.notifications.models import OutboxMessage
from petitio.petitions.models import Petition
from petitio.signatures.models import Signature
from tests.api.conftest import API, listed_petition
from tests.factories import confirm_link, deliver_all, open_petition

pytestmark = pytest.mark.django_db

SIGNER = {"name": "Ada Reader", "email": "ada.reader@example.org", "postal_code": "53703",
          "country": "US"}  # fmt: skip


def submit(client, petition_id, key: str | None, body=None):
    headers = {"Authorization": f"Bearer {key}"} if key else {}
    return client.post(
        f"{API}/petitions/{petition_id}/signatures",
        json.dumps(SIGNER if body is None else body),
        content_type="application/json",
        headers=headers,
    )


@pytest.fixture
def petition(council) -> Petition:
    return listed_petition(council)


@pytest.fixture
def frozen_clock(monkeypatch):
    """Keep every call in one rate-limit window; move it with ``frozen_clock[0] = ...``."""
    now = [1_800_000_000.0 + 10]
    monkeypatch.setattr(ratelimit, "clock", lambda: now[0])
    return now


# ------------------------------------------------------------------------------ keys


def test_key_is_returned_once_and_stored_only_as_its_hash(db):
    partner, key = partner_key_create(name="Daily Gazette", rate_limit_per_minute=30)

    assert key.startswith(f"ptk_{partner.key_prefix}_") and len(key) > 40
    assert partner.key_hash == hashlib.sha256(key.encode()).hexdigest()
    stored = PartnerKey.objects.filter(pk=partner.pk).values().get()
    assert all(key not in str(value) for value in stored.values())
    assert partner.scopes == ["signatures:write"]


def test_authentication_needs_the_whole_key(db):
    partner, key = partner_key_create(name="Daily Gazette")
    assert partner_key_authenticate(key=key) == partner
    assert partner_key_authenticate(key=key[:-1] + ("A" if key[-1] != "A" else "B")) is None
    assert partner_key_authenticate(key=f"ptk_{partner.key_prefix}_") is None
    assert partner_key_authenticate(key="ptk_0000000000_" + key.split("_", 2)[2]) is None
    assert partner_key_authenticate(key=partner.key_hash) is None
    assert partner_key_authenticate(key="") is None


def test_revoked_key_no_longer_authenticates_and_keeps_its_revocation_time(db):
    partner, key = partner_key_create(name="Daily Gazette")
    first = partner_key_revoke(partner=partner).revoked_at
    assert first is not None
    assert partner_key_authenticate(key=key) is None
    assert partner_key_revoke(partner=partner).revoked_at == first


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"name": " "}, "name"),
        ({"scopes": ["everything"]}, "scopes"),
        ({"rate_limit_per_minute": 0}, "rate_limit_per_minute"),
    ],
)
def test_partner_details_are_validated(db, fields, field):
    with pytest.raises(ValidationError) as refused:
        partner_key_create(**{"name": "Gazette", **fields})
    assert field in refused.value.message_dict


def test_command_prints_the_key_once_and_revokes(db):
    out = io.StringIO()
    call_command("partner", "create", "Civic NGO", "--rate-limit", "5", stdout=out)
    key = re.search(r"ptk_\w+_[\w-]+", out.getvalue()).group(0)
    partner = PartnerKey.objects.get(name="Civic NGO")
    assert partner.rate_limit_per_minute == 5
    assert partner_key_authenticate(key=key) == partner

    call_command("partner", "list", stdout=(listing := io.StringIO()))
    assert "Civic NGO" in listing.getvalue() and key not in listing.getvalue()
    call_command("partner", "revoke", str(partner.pk), stdout=io.StringIO())
    assert partner_key_authenticate(key=key) is None


def test_staff_register_a_partner_and_see_the_key_once(admin_client):
    page = admin_client.post(
        "/admin/api/partnerkey/add/",
        {"name": "Daily Gazette", "scopes": ["signatures:write"], "rate_limit_per_minute": "90"},
        follow=True,
    )
    assert page.status_code == 200
    shown = re.findall(r"ptk_\w+_[\w-]+", page.content.decode())
    assert len(set(shown)) == 1
    partner = PartnerKey.objects.get()
    assert partner_key_authenticate(key=shown[0]) == partner
    assert partner.rate_limit_per_minute == 90

    again = admin_client.get(f"/admin/api/partnerkey/{partner.pk}/change/")
    assert shown[0] not in again.content.decode()
    admin_client.post(
        "/admin/api/partnerkey/",
        {"action": "revoke_keys", "_selected_action": [partner.pk]},
    )
    assert partner_key_authenticate(key=shown[0]) is None


# ------------------------------------------------------------------------- signing


def test_partner_signature_is_pending_attributed_and_confirmed_by_email(
    client, petition, partner_key, mailbox
):
    answer = submit(client, petition.pk, partner_key)

    assert answer.status_code == 202
    assert json.loads(answer.content)["status"] == "pending_confirmation"
    signature = Signature.objects.get(email="ada.reader@example.org")
    assert signature.state == Signature.State.PENDING
    partner = PartnerKey.objects.get()
    assert signature.request_meta["partner_key_id"] == partner.pk
    assert signature.request_meta["partner"] == "Daily Gazette"
    assert signature.request_meta["via"] == "api"
    deliver_all()
    (email,) = mailbox.to("ada.reader@example.org")
    petition_id, _token = confirm_link(email)
    assert petition_id == petition.pk
    petition.refresh_from_db()
    assert petition.signature_count == 3, "nothing counts before the signer confirms"


def test_duplicate_answers_exactly_like_a_new_signature(client, petition, partner_key):
    first = submit(client, petition.pk, partner_key)
    again = submit(client, petition.pk, partner_key, {**SIGNER, "email": "ADA.Reader@example.org"})

    assert (again.status_code, again.content) == (first.status_code, first.content)
    assert Signature.objects.filter(petition=petition, name="Ada Reader").count() == 1
    # Signed on the site already: the same answer again.
    from tests.factories import sign

    sign(petition, "web.signer@example.org")
    via_api = submit(
        client, petition.pk, partner_key, {**SIGNER, "email": "web.signer@example.org"}
    )
    assert (via_api.status_code, via_api.content) == (first.status_code, first.content)


def test_confirmation_email_is_not_resent_for_a_quick_duplicate(client, petition, partner_key):
    submit(client, petition.pk, partner_key)
    submit(client, petition.pk, partner_key)
    assert OutboxMessage.objects.filter(to_email="ada.reader@example.org").count() == 1


@pytest.mark.parametrize(
    ("key", "status", "code"),
    [(None, 401, "unauthorized"), ("ptk_nope_nope", 401, "unauthorized"),
     ("Basic abc", 401, "unauthorized")],
)  # fmt: skip
def test_signing_needs_a_valid_key(client, petition, key, status, code):
    answer = submit(client, petition.pk, key)
    assert answer.status_code == status
    assert json.loads(answer.content)["code"] == code
    assert answer["WWW-Authenticate"].startswith("Bearer")
    assert not Signature.objects.filter(email="ada.reader@example.org").exists()


def test_revoked_key_is_refused(client, petition, partner_key):
    partner_key_revoke(partner=PartnerKey.objects.get())
    assert submit(client, petition.pk, partner_key).status_code == 401


def test_key_without_the_signing_scope_is_refused(client, petition):
    _partner, key = partner_key_create(name="Read-only friend", scopes=[])
    answer = submit(client, petition.pk, key)
    assert answer.status_code == 403
    assert json.loads(answer.content)["code"] == "scope_missing"


def test_rate_limit_answers_429_with_retry_after_per_key(client, council, frozen_clock):
    petition = listed_petition(council)
    _slow, slow_key = partner_key_create(name="Slow partner", rate_limit_per_minute=2)
    _other, other_key = partner_key_create(name="Other partner", rate_limit_per_minute=2)

    first = submit(client, petition.pk, slow_key, {**SIGNER, "email": "one@example.org"})
    assert first.status_code == 202
    assert (first["X-RateLimit-Limit"], first["X-RateLimit-Remaining"]) == ("2", "1")
    assert submit(client, petition.pk, slow_key, {"email": "bad"}).status_code == 400
    refused = submit(client, petition.pk, slow_key, {**SIGNER, "email": "three@example.org"})

    assert refused.status_code == 429
    assert json.loads(refused.content)["code"] == "rate_limited"
    assert 1 <= int(refused["Retry-After"]) <= 60
    assert refused["Retry-After"] == "50"
    assert not Signature.objects.filter(email="three@example.org").exists()
    assert submit(client, petition.pk, other_key).status_code == 202, "limits are per key"

    frozen_clock[0] += 60
    later = submit(client, petition.pk, slow_key, {**SIGNER, "email": "three@example.org"})
    assert later.status_code == 202


@pytest.mark.parametrize(
    ("body", "field", "code"),
    [
        ({**SIGNER, "email": "not-an-email"}, "email", "invalid"),
        ({**SIGNER, "name": "=HYPERLINK(1)"}, "name", "formula_prefix"),
        ({**SIGNER, "country": "XX"}, "country", "invalid_country"),
        ({**SIGNER, "postal_code": "53703;"}, "postal_code", "invalid"),
        ({k: v for k, v in SIGNER.items() if k != "country"}, "country", "invalid_body"),
        ({**SIGNER, "name": "x" * 101}, "name", "invalid_body"),
    ],
)
def test_invalid_signer_answers_400_naming_the_field(
    client, petition, partner_key, body, field, code
):
    answer = submit(client, petition.pk, partner_key, body)
    assert answer.status_code == 400
    error = json.loads(answer.content)
    assert (error["field"], error["code"]) == (field, code)
    assert error["errors"][0]["field"] == field
    assert not Signature.objects.filter(email__icontains="example.org", name="Ada Reader").exists()


def test_malformed_json_answers_400(client, petition, partner_key):
    answer = client.post(
        f"{API}/petitions/{petition.pk}/signatures",
        "{not json",
        content_type="application/json",
        headers={"Authorization": f"Bearer {partner_key}"},
    )
    assert answer.status_code == 400
    error = json.loads(answer.content)
    assert (error["code"], error["field"]) == ("invalid_body", "body")


def test_eligibility_statement_must_be_confirmed(client, uk_government, partner_key):
    petition = open_petition(uk_government)
    uk = {**SIGNER, "postal_code": "SW1A 1AA", "country": "GB"}
    refused = submit(client, petition.pk, partner_key, uk)
    assert refused.status_code == 400
    assert json.loads(refused.content)["field"] == "eligible"
    assert submit(client, petition.pk, partner_key, {**uk, "eligible": True}).status_code == 202


def test_closed_petition_answers_409(client, petition, partner_key):
    Petition.objects.filter(pk=petition.pk).update(closes_at=timezone.now() - timedelta(days=1))
    answer = submit(client, petition.pk, partner_key)
    assert answer.status_code == 409
    error = json.loads(answer.content)
    assert error["code"] == "not_signable" and "closed" in error["message"]


def test_hidden_and_draft_petitions_are_404(client, hidden_petitions, partner_key):
    for petition in hidden_petitions:
        assert submit(client, petition.pk, partner_key).status_code == 404
    assert not Signature.objects.filter(email="ada.reader@example.org").exists()
