"""The response email sent to every verified signer."""

from __future__ import annotations

from django.conf import settings
from django.template.loader import render_to_string
from django.urls import reverse

from petitio.notifications.models import OutboxMessage
from petitio.notifications.registry import RenderedEmail, email_kind_register
from petitio.responses.models import Response


def render_response(message: OutboxMessage) -> RenderedEmail | None:
    response = (
        Response.objects.select_related("addressee__petition", "addressee__authority")
        .filter(pk=message.payload.get("response_id"))
        .first()
    )
    if response is None:
        return None
    petition = response.addressee.petition
    context = {
        "response": response,
        "petition": petition,
        "authority": response.addressee.authority,
        "petition_url": f"{settings.SITE_URL}{reverse('petition-detail', args=[petition.pk])}",
    }
    return RenderedEmail(
        subject=f"{response.addressee.authority.name} responded: {petition.action}",
        body=render_to_string("responses/email_response.txt", context),
    )


email_kind_register("response", render_response)
