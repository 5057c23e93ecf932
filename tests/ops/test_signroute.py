"""The signing route (config/signroute.py): a valid signature answered on the
short road gets what Django's whole stack would have given; anything else is
answered by Django, as before. Driven through the WSGI entry point."""

from __future__ import annotations

from urllib.parse import urlencode

import pytest

from petitio.config.metrics import REGISTRY
from petitio.petitions.models import Petition, State
from petitio.petitions.snapshots import petition_signing_copies_clear
from petitio.signatures.models import Signature
from tests.factories import open_petition
from tests.ops.wsgi import Answer, Site

# Headers that differ between any two answers, whoever makes them.
PER_ANSWER = {"x-request-id", "date"}


@pytest.fixture
def petition(council) -> Petition:
    return open_petition(council, action="Light the towpath at night")


@pytest.fixture
def visitor(site, petition) -> dict[str, str]:
    """A browser that opened the petition page: its cookie and form token."""
    page = site.call("GET", f"/petitions/{petition.pk}/")
    secret = page.set_cookies()["csrftoken"].value
    return {"cookie": f"csrftoken={secret}", "token": page.form_token}


def route_count(outcome: str) -> float:
    return REGISTRY.get_sample_value("petitio_signing_route_total", {"outcome": outcome}) or 0.0


def stored(petition: Petition) -> list[str]:
    signers = Signature.objects.filter(petition=petition, is_creator=False)
    return sorted(signers.values_list("email", flat=True))


def comparable(answer: Answer) -> tuple[int, list[tuple[str, str]], bytes]:
    headers = sorted((k.lower(), v) for k, v in answer.headers if k.lower() not in PER_ANSWER)
    return answer.status, headers, answer.body


def test_a_valid_signature_is_answered_on_the_route_exactly_as_django_answers_it(
    site, petition, visitor
):
    before = route_count("answered")
    short = site.sign(petition, "ada@example.org", **visitor)
    whole = Site(route=False).sign(petition, "grace@example.org", **visitor)

    assert route_count("answered") - before == 1  # only the first took the route
    assert short.status == 302
    assert short.header("Location") == f"/petitions/{petition.pk}/check-your-email/"
    assert comparable(short) == comparable(whole)
    assert short.header("X-Request-ID")
    assert "ada@example.org" in stored(petition)
    assert "grace@example.org" in stored(petition)


def test_behind_an_https_proxy_the_route_gives_the_same_security_headers(
    site, petition, visitor, settings
):
    settings.SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    settings.SECURE_HSTS_SECONDS = 3600  # read when the middleware is made: a new site
    https = {"HTTP_X_FORWARDED_PROTO": "https", "HTTP_ORIGIN": "https://testserver"}

    def sign(on: Site, email: str) -> Answer:
        body = urlencode(
            {
                "csrfmiddlewaretoken": visitor["token"],
                "name": "Ada Lovelace",
                "email": email,
                "postal_code": "53703",
                "country": "US",
            }
        ).encode()
        path = f"/petitions/{petition.pk}/sign/"
        return on.call("POST", path, cookie=visitor["cookie"], body=body, **https)

    before = route_count("answered")
    short = sign(Site(), "ada@example.org")
    whole = sign(Site(route=False), "grace@example.org")
    assert route_count("answered") - before == 1
    assert short.status == 302
    assert short.header("Strict-Transport-Security") == "max-age=3600"
    assert comparable(short) == comparable(whole)


def test_a_duplicate_in_other_case_gets_the_same_answer_and_stores_nothing(site, petition, visitor):
    first = site.sign(petition, "ada.lovelace@example.org", **visitor)
    again = site.sign(petition, "Ada.Lovelace@EXAMPLE.org", **visitor)
    assert comparable(first) == comparable(again)
    assert stored(petition) == ["ada.lovelace@example.org"]


def test_an_invalid_field_is_handed_to_django_and_shows_the_form_with_its_error(
    site, petition, visitor
):
    before = route_count("invalid")
    answer = site.sign(petition, "not-an-address", **visitor)
    assert route_count("invalid") - before == 1
    assert answer.status == 400
    assert b"Enter a valid email address" in answer.body
    assert b'value="not-an-address"' in answer.body  # what was typed is kept
    assert stored(petition) == []


@pytest.mark.parametrize(
    "forgery",
    [
        {"token": "x" * 64},  # a token that does not match the cookie
        {"cookie": ""},  # no cookie at all
        {"environ": {"HTTP_ORIGIN": "https://evil.example"}},  # posted from another site
    ],
    ids=["wrong-token", "no-cookie", "other-origin"],
)
def test_a_forged_signature_is_refused_by_django_with_403(site, petition, visitor, forgery):
    before = route_count("csrf")
    answer = site.sign(petition, "ada@example.org", **(visitor | forgery))
    assert route_count("csrf") - before == 1
    assert answer.status == 403
    assert stored(petition) == []


def test_a_closed_petition_sends_the_signer_back_with_the_reason(site, petition, visitor):
    Petition.objects.filter(pk=petition.pk).update(state=State.CLOSED)
    petition_signing_copies_clear()
    answer = site.sign(petition, "ada@example.org", **visitor)
    assert answer.status == 302
    assert answer.header("Location") == f"/petitions/{petition.pk}/"
    assert "messages" in answer.set_cookies()  # the reason, shown on the page
    assert stored(petition) == []


def test_an_unknown_petition_is_a_404(site, petition, visitor):
    answer = site.call(
        "POST",
        "/petitions/999999/sign/",
        cookie=visitor["cookie"],
        body=urlencode({"csrfmiddlewaretoken": visitor["token"], "email": "a@b.org"}).encode(),
    )
    assert answer.status == 404


def test_a_multipart_signature_still_signs_through_django(site, petition, visitor):
    boundary = "petitio"
    fields = {
        "csrfmiddlewaretoken": visitor["token"],
        "name": "Ada Lovelace",
        "email": "ada@example.org",
        "postal_code": "53703",
        "country": "US",
    }
    body = (
        "".join(
            f'--{boundary}\r\nContent-Disposition: form-data; name="{k}"\r\n\r\n{v}\r\n'
            for k, v in fields.items()
        )
        + f"--{boundary}--\r\n"
    )
    answer = site.call(
        "POST",
        f"/petitions/{petition.pk}/sign/",
        cookie=visitor["cookie"],
        body=body.encode(),
        CONTENT_TYPE=f"multipart/form-data; boundary={boundary}",
    )
    assert answer.status == 302
    assert stored(petition) == ["ada@example.org"]


def test_signatures_on_the_route_are_logged_and_counted_as_the_signing_view(
    site, petition, visitor, caplog
):
    def signed_302() -> float:
        labels = {"view": "petition-sign", "method": "POST", "status": "302"}
        return REGISTRY.get_sample_value("petitio_requests_total", labels) or 0.0

    before = signed_302()
    with caplog.at_level("INFO", logger="petitio.requests"):
        site.sign(petition, "ada@example.org", **visitor)
    assert signed_302() - before == 1
    (line,) = [r for r in caplog.records if r.name == "petitio.requests"]
    assert (line.view, line.status) == ("petition-sign", 302)  # type: ignore[attr-defined]
    assert "ada" not in line.getMessage() + str(vars(line))  # no personal data in the log
