"""Content Security Policy (issue 5, section 4): every public page is sent
with a policy that allows scripts and styles from the site only, and its HTML
needs nothing more: no inline scripts, style blocks, style attributes, event
handler attributes or javascript: URLs."""

from __future__ import annotations

from html.parser import HTMLParser

import pytest
from django.urls import reverse

from petitio.signatures.models import Signature
from petitio.signatures.services import signature_token_issue
from tests.factories import open_petition, sign

pytestmark = pytest.mark.django_db


class InlineCode(HTMLParser):
    """Collects what a strict policy (no 'unsafe-inline') would block."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.problems: list[str] = []
        self._inline_script = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        names = dict(attrs)
        if tag == "script":
            if not names.get("src"):
                self.problems.append("inline <script> without src")
            self._inline_script = True
        if tag == "style":
            self.problems.append("<style> block")
        for name, value in attrs:
            if name == "style":
                self.problems.append(f"style= on <{tag}>")
            if name.startswith("on"):
                self.problems.append(f"{name}= on <{tag}>")
            if name in ("href", "src", "action", "formaction") and (
                value or ""
            ).strip().lower().startswith("javascript:"):
                self.problems.append(f"javascript: URL in {name}= on <{tag}>")

    handle_startendtag = handle_starttag

    def handle_endtag(self, tag: str) -> None:
        if tag == "script":
            self._inline_script = False

    def handle_data(self, data: str) -> None:
        if self._inline_script and data.strip():
            self.problems.append("code inside a <script> element")


def inline_code(html: str) -> list[str]:
    parser = InlineCode()
    parser.feed(html)
    parser.close()
    return parser.problems


def directives(header: str) -> dict[str, list[str]]:
    parsed = {}
    for part in header.split(";"):
        words = part.split()
        if words:
            parsed[words[0]] = words[1:]
    return parsed


def test_the_checker_finds_inline_code():
    page = (
        '<p style="color:red" onclick="x()">a</p><script>alert(1)</script>'
        '<script src="/static/a.js"></script><style>p{}</style><a href="javascript:x()">b</a>'
    )
    assert len(inline_code(page)) == 6
    assert inline_code('<script src="/static/a.js" defer></script><p class="a">b</p>') == []


@pytest.fixture
def pages(client, council) -> dict[str, str]:
    """Every public page, by name, as a path to GET."""
    petition = open_petition(council)
    sign(petition, "csp.signer@example.org")
    signature = Signature.objects.get(petition=petition, email="csp.signer@example.org")
    token = signature_token_issue(signature=signature)
    return {
        "home": reverse("home"),
        "list": reverse("petition-list"),
        "list-search": reverse("petition-list") + "?q=trees",
        "petition": reverse("petition-detail", args=[petition.pk]),
        "new": reverse("petition-new"),
        "new-from": reverse("petition-new") + f"?from={petition.pk}",
        "created-check-your-email": reverse("petition-created"),
        "signed-check-your-email": reverse("petition-check-email", args=[petition.pk]),
        "resend": reverse("petition-resend", args=[petition.pk]),
        "confirm": reverse("signature-confirm", args=[petition.pk, token]),
        "confirm-refused": reverse("signature-confirm", args=[petition.pk, "not-a-token"]),
        "confirmed": reverse("signature-confirmed", args=[petition.pk]),
        "responses": reverse("response-list"),
        "overdue": reverse("overdue-list"),
        "login": reverse("login"),
        "unsubscribe-invalid": reverse("unsubscribe", args=["not-a-token"]),
        "not-found": "/no-such-page/",
    }


EXPECTED_STATUS = {"confirm-refused": 404, "unsubscribe-invalid": 404, "not-found": 404}


def assert_strict_policy(response) -> None:
    header = response.get("Content-Security-Policy")
    assert header, "no Content-Security-Policy header"
    policy = directives(header)
    assert policy["script-src"] == ["'self'"]
    assert policy["style-src"] == ["'self'"]
    assert policy["default-src"] == ["'self'"]
    assert policy["object-src"] == ["'none'"]
    assert policy["frame-ancestors"] == ["'none'"]
    assert "'unsafe-inline'" not in header
    assert "'unsafe-eval'" not in header


def test_every_public_page_passes_the_content_security_policy(client, pages):
    for name, path in pages.items():
        response = client.get(path)
        assert response.status_code == EXPECTED_STATUS.get(name, 200), name
        assert response["Content-Type"].startswith("text/html"), name
        assert_strict_policy(response)
        assert inline_code(response.content.decode()) == [], name


def test_pages_with_form_errors_pass_the_content_security_policy(client, pages, council):
    petition_path = pages["petition"]
    petition_id = int(petition_path.rstrip("/").rsplit("/", 1)[1])
    for path, data in [
        (reverse("petition-new"), {"authority": council.slug, "email": "not an address"}),
        (reverse("petition-sign", args=[petition_id]), {"name": "", "email": "nope"}),
        (reverse("login"), {"username": "nobody", "password": "wrong"}),
    ]:
        response = client.post(path, data)
        assert response.status_code in (200, 400), path
        assert b"error" in response.content, path
        assert_strict_policy(response)
        assert inline_code(response.content.decode()) == [], path


def test_the_only_script_is_a_static_file(client):
    """The similar-petition helper on the new-petition page is a static file."""
    response = client.get(reverse("petition-new"))
    assert '<script src="/static/petitio/similar.js" defer></script>' in response.content.decode()
