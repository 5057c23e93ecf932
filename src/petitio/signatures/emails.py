"""The confirmation email, rendered at send time with a freshly issued token."""

from __future__ import annotations

from django.conf import settings
from django.template.loader import render_to_string
from django.urls import reverse

from petitio.notifications.models import OutboxMessage
from petitio.notifications.registry import RenderedEmail, email_kind_register
from petitio.signatures.models import Signature


def render_confirmation(message: OutboxMessage) -> RenderedEmail | None:
    from petitio.signatures.services import signature_token_issue

    signature = (
        Signature.objects.select_related("petition")
        .filter(pk=message.payload.get("signature_id"), state=Signature.State.PENDING)
        .first()
    )
    if signature is None:
        return None  # confirmed meanwhile, or gone: nothing to confirm
    token = signature_token_issue(signature=signature)
    path = reverse("signature-confirm", args=[signature.petition_id, token])
    context = {
        "signature": signature,
        "petition": signature.petition,
        "confirm_url": f"{settings.SITE_URL}{path}",
        "days": settings.PETITIO["VERIFICATION_TOKEN_DAYS"],
    }
    subject = (
        "Confirm your petition"
        if signature.is_creator
        else f"Confirm your signature: {signature.petition.action}"
    )
    return RenderedEmail(
        subject=subject, body=render_to_string("signatures/email_confirm.txt", context)
    )


email_kind_register("signature_confirm", render_confirmation, honours_unsubscribe=False)
