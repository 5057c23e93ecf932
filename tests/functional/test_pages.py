"""The public and staff pages, through the Django test client against a real database."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.template.defaultfilters import date as date_filter
from django.urls import reverse
from django.utils import timezone
from django.utils.timesince import timeuntil

from petitio.notifications.models import OutboxMessage, Suppression
from petitio.petitions.models import Petition, RejectionReason, State
from petitio.petitions.services import TransitionRefused, petition_reject, petition_remove
from petitio.responses.models import Response
from petitio.responses.services import response_publish
from petitio.signatures.models import Signature
from tests.factories import (
    UserFactory,
    add_verified,
    confirm,
    confirm_link,
    deliver_all,
    draft_petition,
    moderator,
    official_of,
    open_petition,
    published_petition,
    sign,
)

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def fast_password_hashing(settings):
    """Staff users are made per test; nobody logs in with a password here."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


UNSUBSCRIBE_LINK = re.compile(r"https?://\S+(/unsubscribe/[^/\s]+/)")
CSRF_VALUE = re.compile(r'name="csrfmiddlewaretoken" value="[^"]*"')


def html(response) -> str:
    return response.content.decode()


def detail_url(petition: Petition) -> str:
    return reverse("petition-detail", args=[petition.pk])


def owed_petition(council, *, days_ago: float, **overrides) -> Petition:
    """A council petition that reached its response threshold ``days_ago`` days ago.

    The council owes a response 10 days after the threshold, so ``days_ago=25``
    makes the response 15 days overdue.
    """
    at = timezone.now() - timedelta(days=days_ago)
    petition = open_petition(council, now=at, **overrides)
    add_verified(petition, 4, now=at)
    assert petition.state == State.AWAITING_RESPONSE
    return petition


def responded_petition(council, **overrides) -> Petition:
    petition = owed_petition(council, days_ago=1, **overrides)
    response_publish(
        addressee=petition.addressees.get(),
        summary="The council will fund it next year.",
        body="Thank you. The budget for next year includes it.",
        by=official_of(council),
    )
    petition.refresh_from_db()
    return petition


def listed_petition(authority, count: int, **overrides) -> Petition:
    petition = open_petition(authority, **overrides)
    add_verified(petition, count - 1)
    return petition


# --- Home, list and search


def test_home_shows_open_petitions_by_count_recent_responses_and_overdue(client, council):
    smaller = listed_petition(council, 3, action="Repaint the library doors")
    bigger = listed_petition(council, 4, action="Open the pool on Sundays")
    responded = responded_petition(council, action="Light the river path")
    owed_petition(council, days_ago=25, action="Fix the bridge railings")

    page = html(client.get(reverse("home")))

    open_section = page.split('id="open-h"')[1].split("</section>")[0]
    assert open_section.index(bigger.action) < open_section.index(smaller.action)
    overdue_section = page.split('id="overdue-h"')[1].split("</section>")[0]
    assert "Fix the bridge railings" in overdue_section
    assert "15 days overdue" in overdue_section
    responded_section = page.split('id="resp-h"')[1].split("</section>")[0]
    assert responded.action in responded_section


def test_home_says_so_when_there_is_nothing_yet(client, registry):
    page = html(client.get(reverse("home")))
    assert "No open petitions yet." in page
    assert "No response is overdue." in page
    assert "No responses yet." in page


def test_list_finds_petitions_by_words_in_their_text(client, council):
    listed_petition(council, 3, action="Fund school nurses", background="No nurse at all.")
    listed_petition(council, 3, action="Repair the swings", background="Broken since May.")

    page = html(client.get(reverse("petition-list"), {"q": "NURSE"}))
    assert "Fund school nurses" in page
    assert "Repair the swings" not in page
    assert "1 petition" in page

    page = html(client.get(reverse("petition-list"), {"q": "broken may"}))
    assert "Repair the swings" in page and "Fund school nurses" not in page

    page = html(client.get(reverse("petition-list"), {"q": "nurses swings"}))
    assert "No petitions match." in page


def test_list_filters_by_state_and_by_authority(client, council, president):
    listed_petition(council, 3, action="Council petition that is open")
    owed_petition(council, days_ago=1, action="Council petition owed a response")
    listed_petition(president, 150, action="Presidential petition that is open")

    by_state = html(client.get(reverse("petition-list"), {"state": "awaiting_response"}))
    assert "Council petition owed a response" in by_state
    assert "Council petition that is open" not in by_state
    assert "Presidential petition that is open" not in by_state

    by_authority = html(client.get(reverse("petition-list"), {"authority": "us-president"}))
    assert "Presidential petition that is open" in by_authority
    assert "Council petition" not in by_authority

    both = html(
        client.get(reverse("petition-list"), {"authority": "small-council", "state": "open"})
    )
    assert "Council petition that is open" in both
    assert "owed a response" not in both and "Presidential" not in both


def test_list_does_not_show_unlisted_drafts_hidden_or_removed_petitions(client, council, president):
    unlisted = published_petition(president, action="Still below the listing threshold")
    draft = draft_petition(council, action="Never confirmed by its creator")
    hidden = open_petition(council, action="Hidden for being offensive")
    petition_reject(petition=hidden, by=moderator(), reason=RejectionReason.OFFENSIVE)
    removed = listed_petition(council, 3, action="Removed after listing")
    petition_remove(petition=removed, by=moderator(), reason="Spam.")
    rejected = open_petition(council, action="Rejected with a public reason")
    petition_reject(petition=rejected, by=moderator(), reason=RejectionReason.NO_ACTION)

    page = html(client.get(reverse("petition-list")))
    for petition in (unlisted, draft, hidden, removed):
        assert petition.action not in page
    assert "Rejected with a public reason" in page
    for state in ("hidden", "removed", "draft"):
        assert "No petitions match." in html(client.get(reverse("petition-list"), {"state": state}))


def test_hidden_petition_is_not_found_by_searching_its_text(client, council):
    hidden = open_petition(council, action="Name and shame my neighbour")
    petition_reject(petition=hidden, by=moderator(), reason=RejectionReason.LIBELLOUS)
    page = html(client.get(reverse("petition-list"), {"q": "neighbour"}))
    assert "Name and shame" not in page
    assert "No petitions match." in page


# --- The petition page


def test_petition_page_shows_count_progress_to_next_milestone_and_days_left(client, council):
    opened = timezone.now() - timedelta(days=10)
    petition = open_petition(council, now=opened, action="Plant trees on Main Street")
    add_verified(petition, 1, now=opened)

    response = client.get(detail_url(petition))
    assert response.status_code == 200
    page = html(response)
    assert "<h1>Plant trees on Main Street</h1>" in page
    assert 'id="signature-count">2<' in page
    assert "3 signatures: publicly listed" in page
    assert 'aria-valuenow="66"' in page
    assert (
        f"Closes {date_filter(petition.closes_at, 'j F Y')} ({timeuntil(petition.closes_at)} left)"
        in page
    )
    assert "Sign this petition" in page


def test_petition_page_shows_the_response_deadline_once_a_response_is_owed(client, council):
    petition = owed_petition(council, days_ago=3)
    due = petition.addressees.get().response_due_at
    page = html(client.get(detail_url(petition)))
    assert f"Response due by {date_filter(due, 'j F Y')}" in page
    assert "badge-overdue" not in page


def test_petition_page_shows_an_overdue_badge_once_the_deadline_has_passed(client, council):
    petition = owed_petition(council, days_ago=25)
    due = petition.addressees.get().response_due_at
    page = html(client.get(detail_url(petition)))
    assert "Response 15 days overdue" in page
    assert f"(due {date_filter(due, 'j F Y')})" in page


def test_petition_page_before_any_response_is_owed_shows_no_deadline(client, council):
    petition = listed_petition(council, 3)
    page = html(client.get(detail_url(petition)))
    assert "Response due" not in page
    assert "5 signatures: response owed" in page


def test_live_count_json_is_cheap_and_cacheable(client, council):
    petition = listed_petition(council, 4)
    response = client.get(reverse("petition-count", args=[petition.pk]))
    assert response.status_code == 200
    assert response.json()["signature_count"] == 4
    assert response["Cache-Control"] == "public, max-age=2"


def pretend_last_email_was_sent(signature: Signature, *, minutes_ago: int) -> None:
    """Move the signature's last confirmation email back in time: its timestamp and
    the outbox key, which carries the second it was queued."""
    earlier = timezone.now() - timedelta(minutes=minutes_ago)
    Signature.objects.filter(pk=signature.pk).update(last_email_at=earlier)
    for message in OutboxMessage.objects.filter(key__startswith=f"confirm:{signature.pk}:"):
        message.key = f"confirm:{signature.pk}:{int(earlier.timestamp())}"
        message.save(update_fields=["key"])


# --- Create, check your email, resend


def test_create_page_shows_the_form(client, registry):
    response = client.get(reverse("petition-new"))
    assert response.status_code == 200
    page = html(response)
    for label in (
        "Who should act on it?",
        "What do you want them to do?",
        "Why?",
        "Your full name",
    ):
        assert label in page


def test_creating_a_petition_stores_a_draft_and_emails_the_creator(client, council, mailbox):
    response = client.post(
        reverse("petition-new"),
        {
            "authority": "small-council",
            "action": "Keep the library open late",
            "background": "Students need a quiet place after school.",
            "details": "",
            "name": "Robin Creator",
            "email": "robin@example.org",
            "postal_code": "53703",
            "country": "US",
            "eligible": "on",
        },
        follow=True,
    )
    assert response.redirect_chain[-1][0] == reverse("petition-created")
    assert "Your petition is not published yet" in html(response)
    petition = Petition.objects.get(action="Keep the library open late")
    assert petition.state == State.DRAFT
    deliver_all()
    (email,) = mailbox.to("robin@example.org")
    assert email["Subject"] == "Confirm your petition"
    assert confirm_link(email)[0] == petition.pk


def test_signing_leads_to_check_your_email_saying_the_signature_is_pending(client, council):
    petition = open_petition(council)
    response = client.post(
        reverse("petition-sign", args=[petition.pk]),
        {"name": "Ann Lee", "email": "ann@example.org", "postal_code": "53703", "country": "US"},
        follow=True,
    )
    assert response.redirect_chain[-1][0] == reverse("petition-check-email", args=[petition.pk])
    page = html(response)
    assert "Your signature is pending until you confirm it" in page
    assert "Send the email again" in page
    assert Signature.objects.get(email="ann@example.org").state == Signature.State.PENDING


def test_resend_sends_the_confirmation_again_after_the_waiting_time(client, council, mailbox):
    petition = open_petition(council)
    sign(petition, "ann@example.org")
    deliver_all()
    assert len(mailbox.to("ann@example.org")) == 1

    assert client.get(reverse("petition-resend", args=[petition.pk])).status_code == 200
    pretend_last_email_was_sent(Signature.objects.get(email="ann@example.org"), minutes_ago=11)
    response = client.post(
        reverse("petition-resend", args=[petition.pk]), {"email": "ann@example.org"}, follow=True
    )
    assert "we have sent the confirmation email again" in html(response)
    deliver_all()
    assert len(mailbox.to("ann@example.org")) == 2


def test_resend_within_ten_minutes_sends_nothing_more_but_answers_the_same(
    client, council, mailbox
):
    petition = open_petition(council)
    sign(petition, "ann@example.org")
    deliver_all()
    answers = []
    for address in ("ann@example.org", "nobody@example.org"):
        response = client.post(
            reverse("petition-resend", args=[petition.pk]), {"email": address}, follow=True
        )
        answers.append(CSRF_VALUE.sub("", html(response)))
    assert answers[0] == answers[1], "the answer must not reveal who signed"
    deliver_all()
    assert len(mailbox.to("ann@example.org")) == 1
    assert mailbox.to("nobody@example.org") == []


# --- Responses and overdue pages


def test_responses_page_lists_published_responses(client, council):
    petition = responded_petition(council, action="Light the river path")
    page = html(client.get(reverse("response-list")))
    assert "Light the river path" in page
    assert "The council will fund it next year." in page
    assert "Small Town Council" in page
    assert f'href="{detail_url(petition)}"' in page


@pytest.mark.parametrize("fate", ["hidden", "removed"])
def test_responses_page_does_not_show_petitions_later_hidden_or_removed(client, council, fate):
    petition = responded_petition(council, action="Publish the address of Mr Smith")
    listed_petition(council, 3)
    responded_petition(council, action="Light the river path")
    if fate == "hidden":
        petition_reject(petition=petition, by=moderator(), reason=RejectionReason.LIBELLOUS)
    else:
        petition_remove(petition=petition, by=moderator(), reason="Court order.")
    page = html(client.get(reverse("response-list")))
    assert "Light the river path" in page
    assert "Mr Smith" not in page, f"a {fate} petition's text is shown on the responses page"
    home = html(client.get(reverse("home")))
    assert "Mr Smith" not in home


def test_overdue_page_lists_overdue_responses_worst_first_with_days_overdue(client, council):
    owed_petition(council, days_ago=13, action="Three days late")
    owed_petition(council, days_ago=25, action="Fifteen days late")
    owed_petition(council, days_ago=2, action="Not yet due")
    responded_petition(council, action="Answered in time")

    page = html(client.get(reverse("overdue-list")))
    assert page.index("Fifteen days late") < page.index("Three days late")
    assert "Not yet due" not in page and "Answered in time" not in page
    rows = re.findall(r'<span class="badge badge-overdue">(\d+)</span>', page)
    assert rows == ["15", "3"]


def test_overdue_page_leaves_out_removed_and_hidden_petitions(client, council):
    removed = owed_petition(council, days_ago=25, action="Removed while overdue")
    petition_remove(petition=removed, by=moderator(), reason="Spam.")
    page = html(client.get(reverse("overdue-list")))
    assert "Removed while overdue" not in page
    assert "No response is overdue." in page


# --- Moderation


def pending(uk_government, **overrides) -> Petition:
    petition = published_petition(uk_government, **overrides)
    add_verified(petition, 5)
    assert petition.state == State.PENDING
    return petition


def test_moderation_queue_asks_an_anonymous_visitor_to_log_in(client, registry):
    response = client.get(reverse("moderation-queue"))
    assert response.status_code == 302
    assert response["Location"] == f"{reverse('login')}?next={reverse('moderation-queue')}"


def test_moderation_queue_is_forbidden_to_staff_who_are_not_moderators(client, uk_government):
    petition = pending(uk_government)
    client.force_login(UserFactory())
    for url in (reverse("moderation-queue"), reverse("moderation-petition", args=[petition.pk])):
        response = client.get(url)
        assert response.status_code == 403
        assert "You cannot do that" in html(response)
        assert petition.action not in html(response)


def test_moderation_queue_lists_petitions_awaiting_moderation(client, uk_government):
    waiting = pending(uk_government, action="Ban disposable vapes")
    gathering = published_petition(uk_government, action="Still gathering supporters")
    client.force_login(moderator())
    page = html(client.get(reverse("moderation-queue")))
    assert waiting.action in page
    assert "6 supporters" in page
    assert gathering.action not in page


@pytest.mark.parametrize("decision", ["approve", "reject", "remove"])
def test_a_staff_user_who_is_not_a_moderator_cannot_decide(client, uk_government, decision):
    petition = pending(uk_government)
    client.force_login(UserFactory())
    response = client.post(
        reverse("moderation-decide", args=[petition.pk, decision]),
        {"reason": "offensive"},
    )
    assert response.status_code == 403
    assert Petition.objects.get(pk=petition.pk).state == State.PENDING


def test_an_anonymous_visitor_cannot_decide(client, uk_government):
    petition = pending(uk_government)
    response = client.post(reverse("moderation-decide", args=[petition.pk, "approve"]))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))
    assert Petition.objects.get(pk=petition.pk).state == State.PENDING


def test_a_moderator_approves_a_petition_from_the_queue(client, uk_government):
    petition = pending(uk_government)
    judge = moderator()
    client.force_login(judge)
    response = client.post(reverse("moderation-decide", args=[petition.pk, "approve"]), follow=True)
    assert f"Petition {petition.pk}: approve recorded." in html(response)
    assert "approved (pending → open)" in html(response)
    assert Petition.objects.get(pk=petition.pk).state == State.OPEN
    assert petition.action not in html(client.get(reverse("moderation-queue")))


def test_approving_twice_shows_why_it_is_refused(client, uk_government):
    petition = pending(uk_government)
    client.force_login(moderator())
    client.post(reverse("moderation-decide", args=[petition.pk, "approve"]))
    response = client.post(reverse("moderation-decide", args=[petition.pk, "approve"]), follow=True)
    assert "A petition that is open cannot be approved." in html(response)


def test_a_moderator_rejects_with_a_standard_reason(client, uk_government):
    petition = pending(uk_government)
    client.force_login(moderator())
    client.post(
        reverse("moderation-decide", args=[petition.pk, "reject"]),
        {"reason": "not_responsible", "details": "Ask the Scottish Parliament."},
    )
    petition.refresh_from_db()
    assert petition.state == State.REJECTED
    assert petition.rejection_details == "Ask the Scottish Parliament."


def test_rejecting_as_duplicate_without_the_original_shows_an_error(client, uk_government):
    petition = pending(uk_government)
    client.force_login(moderator())
    response = client.post(
        reverse("moderation-decide", args=[petition.pk, "reject"]),
        {"reason": "duplicate", "details": ""},
        follow=True,
    )
    assert "Choose the petition this one duplicates." in html(response)
    assert Petition.objects.get(pk=petition.pk).state == State.PENDING


def test_removing_without_a_reason_shows_an_error_and_changes_nothing(client, council):
    petition = listed_petition(council, 3)
    client.force_login(moderator())
    response = client.post(
        reverse("moderation-decide", args=[petition.pk, "remove"]), {"reason": " "}, follow=True
    )
    assert "Record why the petition is removed." in html(response)
    assert Petition.objects.get(pk=petition.pk).state == State.OPEN


def test_a_moderator_removes_a_petition_with_a_recorded_reason(client, council):
    petition = listed_petition(council, 3)
    client.force_login(moderator())
    client.post(
        reverse("moderation-decide", args=[petition.pk, "remove"]),
        {"reason": "Impersonates the mayor."},
    )
    petition.refresh_from_db()
    assert petition.state == State.REMOVED
    assert petition.removal_reason == "Impersonates the mayor."
    assert "Impersonates the mayor." not in html(client.get(detail_url(petition)))


# --- Rejected, hidden, removed and draft pages


def test_rejected_petition_page_shows_the_reason_and_links_to_the_original(client, council):
    original = listed_petition(council, 3, action="Build a skate park")
    copy = open_petition(council, action="Skate park please")
    petition_reject(
        petition=copy,
        by=moderator(),
        reason=RejectionReason.DUPLICATE,
        details="Support the existing petition.",
        duplicate_of=original,
    )
    response = client.get(detail_url(copy))
    assert response.status_code == 200
    page = html(response)
    assert "This petition was rejected: There is already a petition about this." in page
    assert "Support the existing petition." in page
    assert f'<a href="{detail_url(original)}">Build a skate park</a>' in page
    assert "Sign this petition" not in page


@pytest.mark.parametrize("fate", ["hidden", "removed"])
def test_a_duplicate_does_not_reveal_an_original_that_was_later_hidden_or_removed(
    client, council, fate
):
    original = listed_petition(council, 3, action="Publish the address of Mr Smith")
    copy = open_petition(council, action="Skate park please")
    petition_reject(
        petition=copy, by=moderator(), reason=RejectionReason.DUPLICATE, duplicate_of=original
    )
    if fate == "hidden":
        petition_reject(petition=original, by=moderator(), reason=RejectionReason.CONFIDENTIAL)
    else:
        petition_remove(petition=original, by=moderator(), reason="Doxxing.")
    assert client.get(detail_url(original)).status_code in (200, 410)
    assert "Mr Smith" not in html(client.get(detail_url(original)))

    page = html(client.get(detail_url(copy)))
    assert "This petition was rejected: There is already a petition about this." in page
    assert "Mr Smith" not in page, f"the {fate} original's text leaks through the duplicate"
    assert "Please sign the original instead" not in page, f"a {fate} petition cannot be signed"


def test_rejected_petition_page_keeps_its_text_with_the_reason(client, council):
    petition = open_petition(council, action="Abolish gravity", background="It holds us down.")
    petition_reject(petition=petition, by=moderator(), reason=RejectionReason.NOT_RESPONSIBLE)
    page = html(client.get(detail_url(petition)))
    assert "Abolish gravity" in page and "It holds us down." in page
    assert "It is not the addressed authority&#x27;s responsibility" in page


def test_hidden_petition_page_does_not_show_its_text(client, council):
    petition = open_petition(
        council,
        action="Expose the home address of Mr Smith",
        background="He lives at 12 Elm Road.",
        details="His phone number is on the flyer.",
        creator_name="Vengeful Neighbour",
    )
    petition_reject(petition=petition, by=moderator(), reason=RejectionReason.CONFIDENTIAL)
    response = client.get(detail_url(petition))
    assert response.status_code == 200
    page = html(response)
    assert f"Petition {petition.pk} was rejected" in page
    assert "It included confidential information" in page
    for secret in ("Mr Smith", "12 Elm Road", "phone number", "Vengeful Neighbour"):
        assert secret not in page
    check = html(client.get(reverse("petition-check-email", args=[petition.pk])))
    assert "Mr Smith" not in check


def test_removed_petition_answers_410_gone_without_its_text(client, council):
    petition = listed_petition(council, 3, action="Petition that broke the rules")
    petition_remove(petition=petition, by=moderator(), reason="Spam.")
    response = client.get(detail_url(petition))
    assert response.status_code == 410
    assert "This petition was removed" in html(response)
    assert "Petition that broke the rules" not in html(response)


def test_draft_petition_has_no_public_page(client, council):
    petition = draft_petition(council, action="Not confirmed yet")
    response = client.get(detail_url(petition))
    assert response.status_code == 404
    assert "Page not found" in html(response)
    assert "Not confirmed yet" not in html(response)
    assert client.get(reverse("petition-count", args=[petition.pk])).status_code == 404


def test_rejecting_a_draft_its_creator_never_confirmed_does_not_publish_it(client, council):
    draft = draft_petition(council, action="Unconfirmed words of a stranger")
    try:
        petition_reject(petition=draft, by=moderator(), reason=RejectionReason.NO_ACTION)
    except TransitionRefused:
        pass  # refusing to reject a private draft is as good as keeping it private
    response = client.get(detail_url(draft))
    assert response.status_code == 404
    assert "Unconfirmed words" not in html(response)
    assert "Unconfirmed words" not in html(client.get(reverse("petition-list")))


@pytest.mark.parametrize("fate", ["hidden", "removed"])
def test_live_count_of_a_hidden_or_removed_petition_is_not_served(client, council, fate):
    petition = listed_petition(council, 3)
    if fate == "hidden":
        petition_reject(petition=petition, by=moderator(), reason=RejectionReason.OFFENSIVE)
    else:
        petition_remove(petition=petition, by=moderator(), reason="Spam.")
    assert client.get(reverse("petition-count", args=[petition.pk])).status_code == 404


# --- The official's response editor


def test_official_of_another_authority_cannot_open_or_use_the_editor(client, council, president):
    petition = owed_petition(council, days_ago=1)
    addressee = petition.addressees.get()
    client.force_login(official_of(president))
    url = reverse("response-edit", args=[addressee.pk])
    assert client.get(url).status_code == 403
    response = client.post(url, {"summary": "Hijacked.", "body": "Not ours to answer."})
    assert response.status_code == 403
    assert "You cannot do that" in html(response)
    assert not Response.objects.exists()
    assert Petition.objects.get(pk=petition.pk).state == State.AWAITING_RESPONSE


def test_anonymous_visitor_is_sent_to_log_in_for_the_editor(client, council):
    petition = owed_petition(council, days_ago=1)
    url = reverse("response-edit", args=[petition.addressees.get().pk])
    response = client.get(url)
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


def test_official_dashboard_lists_the_responses_owed(client, council):
    owed = owed_petition(council, days_ago=1, action="Owed by the council")
    client.force_login(official_of(council))
    page = html(client.get(reverse("official-dashboard")))
    assert "Owed by the council" in page
    assert reverse("response-edit", args=[owed.addressees.get().pk]) in page


def test_publishing_a_response_shows_it_with_who_published_it_and_when(client, council):
    petition = owed_petition(council, days_ago=1)
    addressee = petition.addressees.get()
    official = official_of(council)
    client.force_login(official)
    editor = client.get(reverse("response-edit", args=[addressee.pk]))
    assert editor.status_code == 200
    assert "Publish the response" in html(editor)

    response = client.post(
        reverse("response-edit", args=[addressee.pk]),
        {"summary": "We will repair the bridge.", "body": "Work starts in March."},
        follow=True,
    )
    assert response.redirect_chain[-1][0] == detail_url(petition)
    published = Response.objects.get(addressee=addressee)
    page = html(client.get(detail_url(petition)))
    assert "Response from Small Town Council" in page
    assert "We will repair the bridge." in page and "Work starts in March." in page
    when = date_filter(published.published_at, "j F Y, H:i e")
    assert f"Published by {official.get_full_name()} on {when}" in page
    assert '<span class="badge">Responded</span>' in page
    assert Petition.objects.get(pk=petition.pk).state == State.RESPONDED


def test_a_second_response_to_the_same_petition_is_refused_with_a_message(client, council):
    petition = owed_petition(council, days_ago=1)
    addressee = petition.addressees.get()
    client.force_login(official_of(council))
    url = reverse("response-edit", args=[addressee.pk])
    client.post(url, {"summary": "First.", "body": "First answer."})
    response = client.post(url, {"summary": "Second.", "body": "Second answer."})
    assert "already been published" in html(response)
    assert Response.objects.get(addressee=addressee).summary == "First."


# --- Unsubscribe


def test_unsubscribe_get_shows_a_button_and_post_stops_later_emails(client, council, mailbox):
    petition = open_petition(council, action="Fix the potholes")
    for address in ("ann@example.org", "bob@example.org"):
        sign(petition, address)
    deliver_all()
    for address in ("ann@example.org", "bob@example.org"):
        (confirmation,) = mailbox.to(address)
        _, token = confirm_link(confirmation)
        client.post(reverse("signature-confirm", args=[petition.pk, token]))
    add_verified(petition, 2)
    assert petition.state == State.AWAITING_RESPONSE

    (to_ann,) = mailbox.to("ann@example.org")
    unsubscribe_path = UNSUBSCRIBE_LINK.search(to_ann.get_content()).group(1)
    assert to_ann["List-Unsubscribe"].endswith(f"{unsubscribe_path}>")

    shown = client.get(unsubscribe_path)
    assert shown.status_code == 200
    assert '<button type="submit" class="button">Unsubscribe</button>' in html(shown)
    assert "Fix the potholes" in html(shown)
    assert not Suppression.objects.exists(), "opening the link must change nothing"

    done = client.post(unsubscribe_path)
    assert done.status_code == 200
    assert "You are unsubscribed" in html(done)

    mailbox.clear()
    official = official_of(council)
    client.force_login(official)
    client.post(
        reverse("response-edit", args=[petition.addressees.get().pk]),
        {"summary": "We will fix them.", "body": "Crews start Monday."},
    )
    deliver_all()
    assert mailbox.to("ann@example.org") == []
    (to_bob,) = mailbox.to("bob@example.org")
    assert "responded" in to_bob["Subject"]


def test_unsubscribe_after_the_response_was_queued_still_stops_it(client, council, mailbox):
    petition = open_petition(council)
    sign(petition, "ann@example.org")
    deliver_all()
    _, token = confirm_link(mailbox.to("ann@example.org")[0])
    client.post(reverse("signature-confirm", args=[petition.pk, token]))
    add_verified(petition, 3)
    unsubscribe_path = UNSUBSCRIBE_LINK.search(
        mailbox.to("ann@example.org")[0].get_content()
    ).group(1)
    response_publish(
        addressee=petition.addressees.get(), summary="Yes.", body="Yes.", by=official_of(council)
    )
    client.post(unsubscribe_path)
    mailbox.clear()
    deliver_all()
    assert mailbox.to("ann@example.org") == []
    queued = OutboxMessage.objects.get(to_email="ann@example.org", kind="response")
    assert queued.state == OutboxMessage.State.SUPPRESSED


def test_a_forged_unsubscribe_link_gets_a_clear_page(client, registry):
    response = client.get("/unsubscribe/not-a-real-token/")
    assert response.status_code == 404
    assert "This unsubscribe link is not valid" in html(response)
    assert client.post("/unsubscribe/not-a-real-token/").status_code == 404
    assert not Suppression.objects.exists()


# --- Personal data never appears on public pages


def test_no_signer_email_or_postal_code_appears_on_any_public_page(client, council):
    people = [
        ("Ann Private", "ann.private@example.org", "QX7 4RT"),
        ("Bob Hidden", "b.hidden+petitions@gmail.com", "ZK9 1WV"),
        ("Cy Secret", "CY.SECRET@EXAMPLE.NET", "JJ3 8PY"),
    ]
    open_one = open_petition(
        council,
        action="Open petition with private signers",
        creator_email="creator.private@example.org",
        postal_code="RW5 5RW",
    )
    for name, address, postal_code in people:
        sign(open_one, address, name=name, postal_code=postal_code)
    for signature in Signature.objects.filter(petition=open_one, state="pending"):
        confirm(signature)
    add_verified(open_one, 0)
    assert open_one.state == State.OPEN

    overdue = owed_petition(
        council, days_ago=25, creator_email="overdue.creator@example.org", postal_code="OV3 3RD"
    )
    answered = responded_petition(
        council, creator_email="answered.creator@example.org", postal_code="AN5 5WR"
    )

    pages = {
        "home": client.get(reverse("home")),
        "list": client.get(reverse("petition-list")),
        "search": client.get(reverse("petition-list"), {"q": "private"}),
        "open petition": client.get(detail_url(open_one)),
        "overdue petition": client.get(detail_url(overdue)),
        "responded petition": client.get(detail_url(answered)),
        "responses": client.get(reverse("response-list")),
        "overdue": client.get(reverse("overdue-list")),
        "count": client.get(reverse("petition-count", args=[open_one.pk])),
    }
    private = [
        *(value for _, address, code in people for value in (address, code)),
        "creator.private@example.org",
        "overdue.creator@example.org",
        "answered.creator@example.org",
        "RW5 5RW",
        "OV3 3RD",
        "AN5 5WR",
        "bhidden@gmail.com",
    ]
    assert "Open petition with private signers" in html(pages["search"])
    for where, response in pages.items():
        assert response.status_code == 200, where
        text = response.content.decode().lower()
        for value in private:
            assert value.lower() not in text, f"{value} appears on the {where} page"
        assert "@example" not in text, where


def test_the_public_pages_never_show_signer_names(client, council):
    petition = listed_petition(council, 3)
    sign(petition, "dana@example.org", name="Dana Quietly")
    for signature in Signature.objects.filter(petition=petition, state="pending"):
        confirm(signature)
    add_verified(petition, 0)
    assert "Dana Quietly" not in html(client.get(detail_url(petition)))


def test_moderation_history_names_the_user_who_decided(client, uk_government):
    petition = pending(uk_government)
    judge = moderator()
    client.force_login(judge)
    client.post(reverse("moderation-decide", args=[petition.pk, "approve"]))
    page = html(client.get(reverse("moderation-petition", args=[petition.pk])))
    assert judge.get_username() in page
    assert "queued_for_moderation" in page and "tally" in page
