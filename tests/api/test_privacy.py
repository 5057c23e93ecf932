"""No personal data in any API answer: every response and CSV is searched for it."""

from __future__ import annotations

import pytest

from petitio.signatures.models import Signature
from tests.api.conftest import API, body_of, get_json
from tests.factories import confirm, sign

pytestmark = pytest.mark.django_db

SIGNERS = [
    ("Zelda Quarrington", "zelda.q+petitions@Example.ORG", "99501-7777", "US"),
    ("Olu Adeyemi-Brown", "olu@mail.example.com", "SW1A 2AA", "GB"),
    ("Marie Dûpont", "marie.dupont@example.fr", "75016", "FR"),
    ("Pending Person", "pending.person@example.net", "60614", "US"),
]


@pytest.fixture
def crawled(client, council, responded_petition, overdue_petition, partner_key):
    for name, email, postal_code, country in SIGNERS:
        sign(responded_petition, email, name=name, postal_code=postal_code, country=country)
    for signature in Signature.objects.filter(state="pending").exclude(name="Pending Person"):
        confirm(signature)
    # A partner's submission answers too.
    submitted = client.post(
        f"{API}/petitions/{overdue_petition.pk}/signatures",
        {"name": "Via Partner", "email": "via.partner@example.org", "postal_code": "53711",
         "country": "US"},
        content_type="application/json",
        headers={"Authorization": f"Bearer {partner_key}"},
    )  # fmt: skip
    assert submitted.status_code == 202
    answers = [submitted]

    paths = ["/petitions", "/responses", "/authorities", "/overdue", "/openapi.json"]
    for petition in (responded_petition, overdue_petition):
        paths += [f"/petitions/{petition.pk}", f"/petitions/{petition.pk}/statistics"]
    for item in get_json(client, "/responses")["items"]:
        paths.append(f"/responses/{item['id']}")
    for item in get_json(client, "/authorities")["items"]:
        paths.append(f"/authorities/{item['slug']}")
    for path in list(paths):
        if path != "/openapi.json" and not path.startswith(("/responses/", "/authorities/")):
            paths.append(f"{path}?format=csv")
    for path in paths:
        response = client.get(API + path)
        assert response.status_code == 200, path
        answers.append(response)
    return [(getattr(a, "request", {}).get("PATH_INFO", ""), body_of(a).decode()) for a in answers]


def test_no_answer_contains_a_signers_email_name_or_postal_code(crawled):
    personal: set[str] = set()
    for signature in Signature.objects.all():
        personal |= {signature.email, signature.email_canonical, signature.name}
        personal |= {signature.postal_code, signature.postal_code.replace(" ", "")}
    personal |= {email.lower() for _, email, _, _ in SIGNERS}
    assert len(crawled) > 20

    for where, body in crawled:
        lowered = body.lower()
        for value in personal:
            assert value.lower() not in lowered, f"{value!r} found in {where}"
        assert "@example." not in lowered, f"an email address in {where}"


def test_statistics_still_count_the_signers_by_area(client, crawled, responded_petition):
    stats = get_json(client, f"/petitions/{responded_petition.pk}/statistics")
    areas = {(g["country"], g["area"]) for g in stats["by_postal_area"]}
    assert {("US", "AK"), ("GB", "SW1A"), ("FR", None)} <= areas
