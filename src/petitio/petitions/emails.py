"""Emails to an authority's contact address about petitions addressed to it."""

from __future__ import annotations

from django.conf import settings
from django.template.loader import render_to_string
from django.urls import reverse

from petitio.notifications.models import OutboxMessage
from petitio.notifications.registry import RenderedEmail, email_kind_register
from petitio.petitions.models import Addressee

SUBJECTS = {
    "published": "A petition addressed to you was published",
    "milestone_listing": "A petition addressed to you is now publicly listed",
    "milestone_response": "A petition addressed to you now requires your response",
    "milestone_debate": "A petition addressed to you reached the debate threshold",
    "overdue": "Your response to a petition is overdue",
}


def render_authority_event(message: OutboxMessage) -> RenderedEmail | None:
    addressee = (
        Addressee.objects.select_related("petition", "authority")
        .filter(pk=message.payload.get("addressee_id"))
        .first()
    )
    event = message.payload.get("event", "")
    if addressee is None or event not in SUBJECTS:
        return None
    petition = addressee.petition
    context = {
        "addressee": addressee,
        "petition": petition,
        "event": event,
        "signatures": message.payload.get("signatures"),
        "petition_url": f"{settings.SITE_URL}{reverse('petition-detail', args=[petition.pk])}",
    }
    return RenderedEmail(
        subject=f"{SUBJECTS[event]}: {petition.action}",
        body=render_to_string("petitions/email_authority_event.txt", context),
    )


email_kind_register("authority_event", render_authority_event)
