"""The one-second copy of petition pages and count.json (config/pagecache.py),
driven through the real WSGI entry point the way the web server calls it."""

from __future__ import annotations

import json

import pytest

from petitio.petitions.models import Petition, State
from petitio.signatures.models import Signature
from tests.factories import add_verified, moderator, open_petition
from tests.ops.wsgi import Answer


@pytest.fixture
def petition(council) -> Petition:
    return add_verified(open_petition(council, action="Light the towpath at night"), 3)


def count_shown(answer: Answer) -> int:
    assert answer.status == 200
    return json.loads(answer.body)["signature_count"]


def test_count_is_served_from_the_copy_for_half_a_second_then_refreshed(site, petition):
    path = f"/petitions/{petition.pk}/count.json"
    assert count_shown(site.call("GET", path)) == 4  # the creator and three signers
    Petition.objects.filter(pk=petition.pk).update(signature_count=40)
    site.clock.now += 0.4
    assert count_shown(site.call("GET", path)) == 4
    site.clock.now += 0.2  # a count is kept half a second, so it trails the tally little
    assert count_shown(site.call("GET", path)) == 40


def test_a_refreshing_browser_gets_304_until_the_count_changes(site, petition):
    path = f"/petitions/{petition.pk}/count.json"
    first = site.call("GET", path)
    etag = first.header("ETag")
    assert etag
    again = site.call("GET", path, HTTP_IF_NONE_MATCH=etag)
    assert (again.status, again.body) == (304, b"")
    Petition.objects.filter(pk=petition.pk).update(signature_count=41)
    site.clock.now += 2
    changed = site.call("GET", path, HTTP_IF_NONE_MATCH=etag)
    assert changed.status == 200
    assert count_shown(changed) == 41
    assert changed.header("ETag") != etag


def test_each_visitor_gets_a_form_token_for_their_own_cookie_and_can_sign(site, petition):
    first = site.call("GET", f"/petitions/{petition.pk}/")  # renders the copy
    first_cookie = first.set_cookies()["csrftoken"].value
    newcomer = site.call("GET", f"/petitions/{petition.pk}/")  # served from it
    cookie = newcomer.set_cookies()["csrftoken"]
    assert cookie.value != first_cookie
    assert cookie["samesite"] == "Lax"
    assert newcomer.body.count(b"Light the towpath at night") >= 1

    signed = site.sign(
        petition,
        "newcomer@example.org",
        cookie=f"csrftoken={cookie.value}",
        token=newcomer.form_token,
    )
    assert signed.status == 302
    assert Signature.objects.filter(petition=petition, email="newcomer@example.org").exists()

    # A token served to one visitor is no good with another visitor's cookie.
    forged = site.sign(
        petition,
        "forged@example.org",
        cookie=f"csrftoken={first_cookie}",
        token=newcomer.form_token,
    )
    assert forged.status == 403
    assert not Signature.objects.filter(email="forged@example.org").exists()


def test_a_returning_visitor_keeps_their_cookie_and_a_fresh_mask(site, petition):
    cookie = site.call("GET", f"/petitions/{petition.pk}/").set_cookies()["csrftoken"].value
    one = site.call("GET", f"/petitions/{petition.pk}/", cookie=f"csrftoken={cookie}")
    two = site.call("GET", f"/petitions/{petition.pk}/", cookie=f"csrftoken={cookie}")
    assert "csrftoken" not in one.set_cookies()
    assert one.form_token != two.form_token  # masked afresh: no BREACH-style repetition
    assert one.header("ETag") == two.header("ETag")
    assert (
        site.sign(
            petition, "back@example.org", cookie=f"csrftoken={cookie}", token=two.form_token
        ).status
        == 302
    )


def test_staff_and_visitors_with_a_message_never_get_the_copy(site, petition, client):
    page = f"/petitions/{petition.pk}/"
    site.call("GET", page)
    Petition.objects.filter(pk=petition.pk).update(action="Light the whole towpath")
    staff = moderator()
    client.force_login(staff)
    session = client.cookies["sessionid"].value
    fresh = site.call("GET", page, cookie=f"sessionid={session}")
    assert b"Light the whole towpath" in fresh.body
    assert fresh.header("X-Petitio-Page-Cache") is None
    with_message = site.call("GET", page, cookie="messages=anything")
    assert b"Light the whole towpath" in with_message.body
    anonymous = site.call("GET", page)
    assert b"Light the towpath at night" in anonymous.body  # still the copy, for a second


def test_a_hidden_petitions_text_leaves_the_copy_within_a_second(site, petition):
    page = f"/petitions/{petition.pk}/"
    assert b"Light the towpath at night" in site.call("GET", page).body
    Petition.objects.filter(pk=petition.pk).update(state=State.HIDDEN)
    site.clock.now += 1.1
    assert b"Light the towpath at night" not in site.call("GET", page).body
    assert site.call("GET", f"/petitions/{petition.pk}/count.json").status == 404


def test_pages_that_do_not_ask_for_the_copy_are_always_fresh(site, petition):
    assert b"Light the towpath at night" in site.call("GET", "/petitions/").body
    Petition.objects.filter(pk=petition.pk).update(action="Mend the lock gates")
    listing = site.call("GET", "/petitions/")
    assert b"Mend the lock gates" in listing.body
    assert listing.header("ETag") is None


def test_a_query_string_is_answered_by_django(site, petition):
    path = f"/petitions/{petition.pk}/count.json"
    site.call("GET", path)
    Petition.objects.filter(pk=petition.pk).update(signature_count=7)
    assert count_shown(site.call("GET", f"{path}?now=1")) == 7


def test_answers_from_the_copy_are_counted_in_the_metrics(site, petition):
    from petitio.config.metrics import REGISTRY

    def served() -> float:
        return REGISTRY.get_sample_value("petitio_page_copy_answers_total") or 0.0

    before = served()
    for _ in range(3):
        site.call("GET", f"/petitions/{petition.pk}/count.json")
    site.call("GET", "/petitions/")  # not a shareable page: not from the copy
    assert served() - before == 3


@pytest.mark.parametrize(
    "cookie", ["", "csrftoken=", "csrftoken=not-a-secret", f"csrftoken={'a' * 64}"]
)
def test_a_visitor_without_a_usable_csrf_cookie_gets_a_new_one_that_works(site, petition, cookie):
    site.call("GET", f"/petitions/{petition.pk}/")  # the copy exists
    page = site.call("GET", f"/petitions/{petition.pk}/", cookie=cookie)
    fresh = page.set_cookies()["csrftoken"].value
    assert len(fresh) == 32
    signed = site.sign(
        petition, "cookieless@example.org", cookie=f"csrftoken={fresh}", token=page.form_token
    )
    assert signed.status == 302
