"""Bad input through the pages (issue section 8): a clear message, never a 500,
and nothing stored, lost or changed."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.conf import settings
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from petitio.moderation.models import AuditEvent
from petitio.notifications.models import OutboxMessage
from petitio.petitions.models import Petition, RejectionReason, State
from petitio.petitions.services import petition_reject, petition_remove, petitions_close_due
from petitio.signatures.models import Signature, SignatureToken
from petitio.signatures.services import signature_token_issue
from tests.factories import (
    add_verified,
    confirm,
    draft_petition,
    moderator,
    open_petition,
    published_petition,
    sign,
)

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def fast_password_hashing(settings):
    """Staff users are made per test; nobody logs in with a password here."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


SCRIPT = "<script>alert(1)</script>"
SCRIPT_ESCAPED = "&lt;script&gt;alert(1)&lt;/script&gt;"


def html(response) -> str:
    return response.content.decode()


def new_petition_form(**overrides: str) -> dict[str, str]:
    return {
        "authority": "small-council",
        "action": "Fund school nurses in every district",
        "background": "Many schools have no nurse at all.",
        "details": "",
        "name": "Robin Creator",
        "email": "robin@example.org",
        "postal_code": "53703",
        "country": "US",
        "eligible": "on",
        **overrides,
    }


def signature_form(**overrides: str) -> dict[str, str]:
    return {
        "name": "Ann Lee",
        "email": "ann@example.org",
        "postal_code": "53703",
        "country": "US",
        **overrides,
    }


def create(client, **overrides: str):
    return client.post(reverse("petition-new"), new_petition_form(**overrides))


def sign_page(client, petition: Petition, **overrides: str):
    return client.post(reverse("petition-sign", args=[petition.pk]), signature_form(**overrides))


def nothing_created() -> bool:
    return not Petition.objects.exists() and not Signature.objects.exists()


class Snapshot:
    """What a refused request must leave exactly as it was."""

    def __init__(self) -> None:
        self.values = self.take()

    @staticmethod
    def take() -> tuple:
        return (
            list(Petition.objects.order_by("pk").values_list("pk", "state", "signature_count")),
            list(Signature.objects.order_by("pk").values_list("pk", "state", "email")),
            OutboxMessage.objects.count(),
            list(SignatureToken.objects.order_by("pk").values_list("pk", "used_at")),
            AuditEvent.objects.count(),
        )

    def unchanged(self) -> bool:
        return self.take() == self.values


@pytest.fixture
def petition(council) -> Petition:
    petition = open_petition(council, action="Fix the potholes on Main Street")
    add_verified(petition, 0)
    return petition


# --- Empty and over-long fields


@pytest.mark.parametrize("field", ["action", "background", "name", "email", "postal_code"])
def test_creating_with_an_empty_required_field_shows_the_error_and_stores_nothing(
    client, council, field
):
    response = create(client, **{field: ""})
    assert response.status_code == 400
    assert "This field is required." in html(response)
    assert nothing_created()


@pytest.mark.parametrize(
    ("field", "message"),
    [
        ("action", "This is required."),
        ("background", "This is required."),
        ("name", "Enter your name."),
        ("email", "Enter your email address."),
        ("postal_code", "Enter your postal code."),
    ],
)
def test_creating_with_only_spaces_in_a_required_field_is_refused(client, council, field, message):
    response = create(client, **{field: "   "})
    assert response.status_code == 400
    assert message in html(response)
    assert nothing_created()


@pytest.mark.parametrize(
    ("field", "limit"), [("action", 80), ("background", 300), ("details", 800)]
)
def test_creating_with_over_long_text_says_the_limit_and_stores_nothing(
    client, council, field, limit
):
    response = create(client, **{field: "x" * (limit + 1)})
    assert response.status_code == 400
    assert f"Use at most {limit} characters (you used {limit + 1})." in html(response)
    assert nothing_created()


def test_creating_with_text_at_the_limits_is_accepted(client, council):
    response = create(client, action="a" * 80, background="b" * 300, details="c" * 800)
    assert response.status_code == 302
    assert Petition.objects.get().action == "a" * 80


def test_creating_keeps_what_was_typed_in_the_form_after_an_error(client, council):
    response = create(client, action="x" * 81, background="Keep this background text.")
    assert "Keep this background text." in html(response)


def test_signing_with_empty_fields_shows_each_error_and_stores_nothing(client, petition):
    before = Snapshot()
    response = sign_page(client, petition, name="", email="", postal_code="")
    assert response.status_code == 400
    assert html(response).count("This field is required.") == 3
    assert before.unchanged()


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("name", "n" * 101, "Use at most 100 characters for your name."),
        ("email", "a" * 250 + "@example.org", "That email address is too long."),
        ("postal_code", "1" * 17, "Enter a postal code of letters, digits, spaces or hyphens."),
    ],
)
def test_signing_with_an_over_long_field_is_refused(client, petition, field, value, message):
    before = Snapshot()
    response = sign_page(client, petition, **{field: value})
    assert response.status_code == 400
    assert message in html(response)
    assert before.unchanged()


# --- Invalid email


@pytest.mark.parametrize("email", ["not-an-email", "ann@", "ann@example", "ann@@example.org"])
def test_signing_with_an_invalid_email_says_what_a_valid_one_looks_like(client, petition, email):
    before = Snapshot()
    response = sign_page(client, petition, email=email)
    assert response.status_code == 400
    assert "Enter a valid email address, like name@example.com." in html(response)
    assert before.unchanged()


def test_creating_with_an_invalid_email_stores_nothing(client, council):
    response = create(client, email="robin at example dot org")
    assert response.status_code == 400
    assert "Enter a valid email address, like name@example.com." in html(response)
    assert nothing_created()


# --- Control and invisible characters


@pytest.mark.parametrize(
    ("field", "value", "named"),
    [
        ("action", "Fund\u200b school nurses", "Zero Width Space"),
        ("action", "Fund \u202eseslun\u202c now", "Right-To-Left Override"),
        ("background", "No nurse\u200b at all.", "Zero Width Space"),
        ("details", "Details\x1b[31m in red", "U+001B"),
        ("name", "Robin\u200b Creator", "Zero Width Space"),
        ("name", "Robin \u202eCreator", "Right-To-Left Override"),
    ],
)
def test_creating_with_invisible_or_control_characters_names_the_character(
    client, council, field, value, named
):
    response = create(client, **{field: value})
    assert response.status_code == 400
    assert f"Remove the invisible or control character ({named}) from this text." in html(response)
    assert nothing_created()


@pytest.mark.parametrize("field", ["action", "background", "name"])
def test_creating_with_a_nul_character_is_refused(client, council, field):
    response = create(client, **{field: "Robin\x00Creator"})
    assert response.status_code == 400
    assert "Null characters are not allowed." in html(response)
    assert nothing_created()


def test_a_line_break_in_a_title_is_refused(client, council):
    response = create(client, action="Fund nurses\nand doctors")
    assert response.status_code == 400
    assert "Remove the invisible or control character (U+000A) from this text." in html(response)
    assert nothing_created()


@pytest.mark.parametrize(
    ("field", "value"),
    [("name", "Ann\u200bLee"), ("name", "Ann \u202eLee"), ("email", "ann\u200b@example.org")],
)
def test_signing_with_invisible_characters_is_refused(client, petition, field, value):
    before = Snapshot()
    response = sign_page(client, petition, **{field: value})
    assert response.status_code == 400
    assert "Remove the invisible or control character" in html(response)
    assert before.unchanged()


# --- HTML and script: stored as text, shown escaped


def test_script_in_a_petition_title_is_stored_as_typed_and_shown_escaped(client, council):
    response = create(client, action=SCRIPT, name=f"Robin {SCRIPT}")
    assert response.status_code == 302
    petition = Petition.objects.get()
    assert petition.action == SCRIPT
    assert petition.creator_name == f"Robin {SCRIPT}"
    confirm(Signature.objects.get(petition=petition))

    page = html(client.get(reverse("petition-detail", args=[petition.pk])))
    assert SCRIPT not in page
    assert f"<h1>{SCRIPT_ESCAPED}</h1>" in page
    assert f"<title>{SCRIPT_ESCAPED} · Petitio</title>" in page
    assert f"Created by Robin {SCRIPT_ESCAPED}" in page


def test_script_in_a_petition_title_is_escaped_in_lists_and_moderation(client, council):
    petition = open_petition(council, action=SCRIPT)
    add_verified(petition, 2)
    for url in (reverse("home"), reverse("petition-list"), reverse("petition-list") + "?q=script"):
        page = html(client.get(url))
        assert SCRIPT not in page and SCRIPT_ESCAPED in page, url
    client.force_login(moderator())
    page = html(client.get(reverse("moderation-petition", args=[petition.pk])))
    assert SCRIPT not in page and SCRIPT_ESCAPED in page


def test_script_in_a_signer_name_is_stored_as_typed_and_never_rendered_raw(client, petition):
    response = sign_page(client, petition, name=SCRIPT)
    assert response.status_code == 302
    signature = Signature.objects.get(email="ann@example.org")
    assert signature.name == SCRIPT
    for url in (
        reverse("petition-check-email", args=[petition.pk]),
        reverse("petition-detail", args=[petition.pk]),
    ):
        assert SCRIPT not in html(client.get(url))


def test_script_in_a_rejected_form_is_echoed_back_escaped(client, petition):
    response = sign_page(client, petition, name=SCRIPT, email="not-an-email")
    assert response.status_code == 400
    assert SCRIPT not in html(response)
    assert SCRIPT_ESCAPED in html(response)


def test_script_in_a_search_query_is_echoed_back_escaped(client, registry):
    page = html(client.get(reverse("petition-list"), {"q": SCRIPT, "state": '"><b>x'}))
    assert SCRIPT not in page
    assert f'value="{SCRIPT_ESCAPED}"' in page
    assert '"><b>x' not in page


# --- Spreadsheet formula prefixes


FORMULA_MESSAGE = "This cannot start with =, +, - or @. Please start with a letter or number."


@pytest.mark.parametrize("prefix", ["=", "+", "-", "@"])
@pytest.mark.parametrize("field", ["action", "name"])
def test_creating_with_a_title_or_name_starting_with_a_formula_prefix_is_refused(
    client, council, prefix, field
):
    response = create(client, **{field: f'{prefix}HYPERLINK("http://evil.example","x")'})
    assert response.status_code == 400
    assert FORMULA_MESSAGE in html(response)
    assert nothing_created()


@pytest.mark.parametrize("prefix", ["=", "+", "-", "@"])
def test_signing_with_a_name_starting_with_a_formula_prefix_is_refused(client, petition, prefix):
    before = Snapshot()
    response = sign_page(client, petition, name=f"{prefix}cmd|' /C calc'!A0")
    assert response.status_code == 400
    assert FORMULA_MESSAGE in html(response)
    assert before.unchanged()


def test_a_formula_prefix_hidden_behind_spaces_is_refused(client, petition):
    before = Snapshot()
    response = sign_page(client, petition, name="   =1+1")
    assert response.status_code == 400
    assert FORMULA_MESSAGE in html(response)
    assert before.unchanged()


# --- A URL in a signer's name


@pytest.mark.parametrize(
    "name", ["Ann http://cheap-pills.example", "www.cheap-pills.example", "Ann of casino.com"]
)
def test_signing_with_a_web_address_in_the_name_is_refused(client, petition, name):
    before = Snapshot()
    response = sign_page(client, petition, name=name)
    assert response.status_code == 400
    assert "Please enter your name only, without a web address." in html(response)
    assert before.unchanged()


def test_creating_with_a_web_address_as_the_creator_name_is_refused(client, council):
    response = create(client, name="Visit https://spam.example")
    assert response.status_code == 400
    assert "Please enter your name only, without a web address." in html(response)
    assert nothing_created()


# --- Signing a petition that is not open


def closed(council) -> Petition:
    petition = open_petition(council, now=timezone.now() - timedelta(days=31))
    petitions_close_due()
    return petition


def rejected(council) -> Petition:
    petition = open_petition(council)
    petition_reject(petition=petition, by=moderator(), reason=RejectionReason.NO_ACTION)
    return petition


def hidden(council) -> Petition:
    petition = open_petition(council)
    petition_reject(petition=petition, by=moderator(), reason=RejectionReason.OFFENSIVE)
    return petition


def removed(council) -> Petition:
    petition = open_petition(council)
    petition_remove(petition=petition, by=moderator(), reason="Spam.")
    return petition


@pytest.mark.parametrize(
    ("make", "message", "final_status"),
    [
        (closed, "This petition is closed: it no longer accepts signatures.", 200),
        (rejected, "This petition was rejected, so it cannot be signed.", 200),
        (hidden, "This petition was rejected, so it cannot be signed.", 200),
        (removed, "This petition was removed, so it cannot be signed.", 410),
    ],
    ids=["closed", "rejected", "hidden", "removed"],
)
def test_signing_a_petition_that_is_not_open_says_why_and_stores_nothing(
    client, council, make, message, final_status
):
    petition = make(council)
    before = Snapshot()
    response = sign_page(client, petition, email="late@example.org")
    assert response.status_code == 302
    assert response["Location"] == reverse("petition-detail", args=[petition.pk])
    page = client.get(response["Location"])
    assert page.status_code == final_status
    assert message in html(page)
    assert before.unchanged()


def test_a_petition_that_is_not_open_shows_why_instead_of_the_signing_form(client, council):
    petition = closed(council)
    page = html(client.get(reverse("petition-detail", args=[petition.pk])))
    assert "This petition is closed: it no longer accepts signatures." in page
    assert "Sign this petition" not in page


def test_signing_a_draft_answers_404_and_stores_nothing(client, council):
    petition = draft_petition(council)
    before = Snapshot()
    response = sign_page(client, petition)
    assert response.status_code == 404
    assert "Page not found" in html(response)
    assert before.unchanged()


# --- The same email again in other case, with dots or +tag


def test_the_same_gmail_address_in_other_forms_gets_the_same_answer_and_one_row(client, petition):
    answers = []
    for email in (
        "Ann.Lee@gmail.com",
        "annlee@gmail.com",
        "ANN.LEE+petitions@GMAIL.COM",
        " a.n.n.l.e.e@googlemail.com ",
    ):
        response = sign_page(client, petition, email=email)
        answers.append((response.status_code, response["Location"]))
    assert set(answers) == {(302, reverse("petition-check-email", args=[petition.pk]))}
    rows = Signature.objects.filter(petition=petition, email_canonical="annlee@gmail.com")
    assert rows.count() == 1
    assert rows.get().email == "Ann.Lee@gmail.com", "the first address typed is kept"


def test_the_same_address_in_other_case_gets_the_same_answer_and_one_row(client, petition):
    first = sign_page(client, petition, email="bob@example.org")
    second = sign_page(client, petition, email="BOB@Example.ORG")
    assert (first.status_code, first["Location"]) == (second.status_code, second["Location"])
    assert (
        Signature.objects.filter(petition=petition, email_canonical="bob@example.org").count() == 1
    )


def test_a_confirmed_signer_signing_again_gets_the_same_answer_and_nothing_changes(
    client, petition
):
    sign(petition, "cy@example.org")
    confirm(Signature.objects.get(email="cy@example.org"))
    before = Snapshot()
    response = sign_page(client, petition, email="Cy@Example.org", name="Cy Again")
    assert response.status_code == 302
    assert response["Location"] == reverse("petition-check-email", args=[petition.pk])
    assert before.unchanged()


def test_dots_matter_outside_gmail(client, petition):
    sign_page(client, petition, email="d.an@example.org")
    sign_page(client, petition, email="dan@example.org")
    assert Signature.objects.filter(petition=petition).exclude(is_creator=True).count() == 2


# --- Expired, used and forged confirmation tokens


def pending_signature(petition: Petition, email: str = "ann@example.org") -> Signature:
    sign(petition, email)
    return Signature.objects.get(petition=petition, email=email)


def confirm_url(petition: Petition, token: str) -> str:
    return reverse("signature-confirm", args=[petition.pk, token])


@pytest.mark.parametrize("method", ["get", "post"])
def test_an_expired_link_gets_a_clear_page_and_changes_nothing(client, petition, method):
    signature = pending_signature(petition)
    token = signature_token_issue(signature=signature)
    SignatureToken.objects.filter(signature=signature).update(
        expires_at=timezone.now() - timedelta(minutes=1)
    )
    before = Snapshot()
    response = getattr(client, method)(confirm_url(petition, token))
    assert response.status_code == 410
    page = html(response)
    assert "This confirmation link has expired" in page
    assert "Your signature is still pending. Ask for a new link below." in page
    assert "Email me a new link" in page
    assert before.unchanged()


def test_a_used_link_gets_a_clear_page_and_changes_nothing(client, petition):
    signature = pending_signature(petition)
    token = signature_token_issue(signature=signature)
    assert client.post(confirm_url(petition, token)).status_code == 302
    before = Snapshot()
    for method in ("get", "post"):
        response = getattr(client, method)(confirm_url(petition, token))
        assert response.status_code == 410
        assert "This link has already been used" in html(response)
    assert before.unchanged()
    assert Signature.objects.get(pk=signature.pk).state == Signature.State.VERIFIED


@pytest.mark.parametrize(
    "token",
    ["forged-token", "A" * 43, "x" * 101, "%00", "' OR 1=1 --"],
    ids=["word", "right-length", "too-long", "nul", "sql"],
)
def test_a_forged_link_gets_a_clear_page_and_changes_nothing(client, petition, token):
    pending_signature(petition)
    before = Snapshot()
    for method in ("get", "post"):
        response = getattr(client, method)(confirm_url(petition, token))
        assert response.status_code == 404
        assert "This confirmation link is not valid" in html(response)
    assert before.unchanged()


def test_a_real_token_used_on_another_petition_is_refused(client, council, petition):
    other = open_petition(council)
    token = signature_token_issue(signature=pending_signature(petition))
    before = Snapshot()
    response = client.post(confirm_url(other, token))
    assert response.status_code == 404
    assert before.unchanged()


def test_get_on_a_confirm_link_shows_a_button_and_confirms_nothing(client, petition):
    signature = pending_signature(petition)
    token = signature_token_issue(signature=signature)
    before = Snapshot()
    for _ in range(3):  # mail scanners may open a link several times
        response = client.get(confirm_url(petition, token))
        assert response.status_code == 200
        assert "Confirm my signature" in html(response)
    assert before.unchanged()
    assert SignatureToken.objects.get(signature=signature).used_at is None
    assert client.post(confirm_url(petition, token)).status_code == 302
    assert Signature.objects.get(pk=signature.pk).state == Signature.State.VERIFIED


def test_get_on_the_creator_link_does_not_publish_the_petition(client, council):
    petition = draft_petition(council)
    token = signature_token_issue(signature=Signature.objects.get(petition=petition))
    response = client.get(confirm_url(petition, token))
    assert response.status_code == 200
    assert "Confirm and publish" in html(response)
    assert Petition.objects.get(pk=petition.pk).state == State.DRAFT


# --- Missing CSRF token


def test_signing_without_a_csrf_token_says_the_form_expired_and_stores_nothing(petition):
    browser = Client(enforce_csrf_checks=True)
    before = Snapshot()
    response = browser.post(
        reverse("petition-sign", args=[petition.pk]), signature_form(email="csrf@example.org")
    )
    assert response.status_code == 403
    assert "Your form expired" in html(response)
    assert "reload the page and submit it again" in html(response)
    assert before.unchanged()


def test_creating_without_a_csrf_token_says_the_form_expired_and_stores_nothing(council):
    browser = Client(enforce_csrf_checks=True)
    response = browser.post(reverse("petition-new"), new_petition_form())
    assert response.status_code == 403
    assert "Your form expired" in html(response)
    assert nothing_created()


def test_confirming_without_a_csrf_token_confirms_nothing(petition):
    signature = pending_signature(petition)
    token = signature_token_issue(signature=signature)
    browser = Client(enforce_csrf_checks=True)
    response = browser.post(confirm_url(petition, token))
    assert response.status_code == 403
    assert "Your form expired" in html(response)
    assert Signature.objects.get(pk=signature.pk).state == Signature.State.PENDING


def test_signing_with_the_csrf_token_from_the_page_works(petition):
    browser = Client(enforce_csrf_checks=True)
    browser.get(reverse("petition-detail", args=[petition.pk]))
    token = browser.cookies[settings.CSRF_COOKIE_NAME].value
    response = browser.post(
        reverse("petition-sign", args=[petition.pk]),
        {**signature_form(email="csrf@example.org"), "csrfmiddlewaretoken": token},
    )
    assert response.status_code == 302
    assert Signature.objects.filter(email="csrf@example.org").exists()


# --- Unknown petition id


@pytest.mark.parametrize("petition_id", [999999, 2**31, 2**63, 10**30])
def test_an_unknown_petition_id_gets_the_not_found_page(client, registry, petition_id):
    response = client.get(f"/petitions/{petition_id}/")
    assert response.status_code == 404
    assert "Page not found" in html(response)
    assert "There is no petition or page at this address." in html(response)


def test_signing_an_unknown_petition_gets_the_not_found_page_and_stores_nothing(client, registry):
    response = client.post("/petitions/999999/sign/", signature_form())
    assert response.status_code == 404
    assert "Page not found" in html(response)
    assert not Signature.objects.exists()


@pytest.mark.parametrize(
    "path",
    [
        "/petitions/999999/check-your-email/",
        "/petitions/999999/resend/",
        "/petitions/999999/confirm/some-token/",
        "/petitions/999999/confirmed/",
        "/petitions/not-a-number/",
        "/no/such/page/",
    ],
)
def test_unknown_pages_get_the_not_found_page(client, registry, path):
    response = client.get(path)
    assert response.status_code == 404
    assert "Page not found" in html(response)


def test_the_count_of_an_unknown_petition_is_a_json_404(client, registry):
    response = client.get("/petitions/999999/count.json")
    assert response.status_code == 404
    assert response.json() == {"code": "not_found", "message": "No such petition."}


# --- A request body over the size limit


def test_signing_with_a_body_over_the_size_limit_gets_a_400_page_and_stores_nothing(
    client, petition
):
    before = Snapshot()
    huge = "x" * (settings.DATA_UPLOAD_MAX_MEMORY_SIZE + 1)
    response = sign_page(client, petition, name=huge)
    assert response.status_code == 400
    assert "We could not read that request" in html(response)
    assert before.unchanged()


def test_creating_with_a_body_over_the_size_limit_gets_a_400_page_and_stores_nothing(
    client, council
):
    huge = "y" * (settings.DATA_UPLOAD_MAX_MEMORY_SIZE + 1)
    response = create(client, background=huge)
    assert response.status_code == 400
    assert "We could not read that request" in html(response)
    assert nothing_created()


def test_an_urlencoded_body_over_the_size_limit_gets_a_400_page(client, petition):
    before = Snapshot()
    body = "name=" + "z" * (settings.DATA_UPLOAD_MAX_MEMORY_SIZE + 1)
    response = client.post(
        reverse("petition-sign", args=[petition.pk]),
        body,
        content_type="application/x-www-form-urlencoded",
    )
    assert response.status_code == 400
    assert "We could not read that request" in html(response)
    assert before.unchanged()


def test_a_body_over_the_size_limit_with_csrf_checks_on_gets_a_400_page(petition):
    browser = Client(enforce_csrf_checks=True)
    browser.get(reverse("petition-detail", args=[petition.pk]))
    token = browser.cookies[settings.CSRF_COOKIE_NAME].value
    before = Snapshot()
    response = browser.post(
        reverse("petition-sign", args=[petition.pk]),
        {
            **signature_form(name="w" * (settings.DATA_UPLOAD_MAX_MEMORY_SIZE + 1)),
            "csrfmiddlewaretoken": token,
        },
    )
    assert response.status_code == 400
    assert "We could not read that request" in html(response)
    assert before.unchanged()


def test_too_many_fields_in_a_form_gets_a_400_page_and_stores_nothing(client, council):
    fields = {f"extra{i}": "x" for i in range(settings.DATA_UPLOAD_MAX_NUMBER_FIELDS + 1)}
    response = client.post(reverse("petition-new"), {**new_petition_form(), **fields})
    assert response.status_code == 400
    assert "We could not read that request" in html(response)
    assert nothing_created()


# --- Odd requests to the pages


@pytest.mark.parametrize("param", ["q", "authority"])
def test_a_nul_character_in_a_search_or_filter_gets_the_list_page_not_an_error(
    client, petition, param
):
    add_verified(petition, 2)
    response = client.get(reverse("petition-list"), {param: "pot\x00holes"})
    assert response.status_code == 200
    assert "<h1>Petitions</h1>" in html(response)


def test_opening_the_signing_address_directly_leads_back_to_the_petition(client, petition):
    """After a refused form the address bar shows .../sign/; pressing Enter there sends a GET."""
    before = Snapshot()
    response = client.get(reverse("petition-sign", args=[petition.pk]), follow=True)
    assert response.status_code in (200, 405)
    assert html(response).strip(), "a blank page tells the signer nothing"
    assert reverse("petition-detail", args=[petition.pk]) in html(response)
    assert before.unchanged()


# --- An unknown country code


@pytest.mark.parametrize("country", ["XX", "ZZ", "UK", "United States"])
def test_signing_with_an_unknown_country_code_is_refused(client, petition, country):
    before = Snapshot()
    response = sign_page(client, petition, country=country)
    assert response.status_code == 400
    assert "Choose a country from the list." in html(response)
    assert before.unchanged()


def test_creating_with_an_unknown_country_code_is_refused(client, council):
    response = create(client, country="XX")
    assert response.status_code == 400
    assert "Choose a country from the list." in html(response)
    assert nothing_created()


def test_creating_for_an_unknown_authority_is_refused(client, council):
    response = create(client, authority="the-moon")
    assert response.status_code == 400
    assert "Select a valid choice." in html(response)
    assert nothing_created()


def test_signing_a_uk_petition_without_confirming_eligibility_is_refused(client, uk_government):
    petition = published_petition(uk_government)
    before = Snapshot()
    response = sign_page(client, petition, postal_code="SW1A 1AA", country="GB")
    assert response.status_code == 400
    assert "Please confirm: I am a British citizen or UK resident." in html(response)
    assert before.unchanged()
