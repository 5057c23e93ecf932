"""The response email sent to every verified signer.

Its text is the same for every signer of the petition: a batch of messages
about one response is rendered once (``render_responses``).
"""

from __future__ import annotations

from collections.abc import Sequence

from django.conf import settings
from django.template.loader import render_to_string
from django.urls import reverse

from petitio.notifications.models import OutboxMessage
from petitio.notifications.registry import RenderedEmail, email_kind_register
from petitio.responses.models import Response


def _response_email(response: Response) -> RenderedEmail:
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


def render_responses(messages: Sequence[OutboxMessage]) -> list[RenderedEmail | None]:
    """One query and one rendering per response, whatever the number of signers."""
    wanted = {message.payload.get("response_id") for message in messages}
    ids = {value for value in wanted if isinstance(value, int)}
    responses = Response.objects.select_related(
        "addressee__petition", "addressee__authority"
    ).filter(pk__in=ids)
    rendered = {response.pk: _response_email(response) for response in responses}
    return [rendered.get(message.payload.get("response_id")) for message in messages]


def render_response(message: OutboxMessage) -> RenderedEmail | None:
    return render_responses([message])[0]


email_kind_register("response", render_response, render_many=render_responses)
