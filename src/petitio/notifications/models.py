"""The email outbox: one row per message, written in the transaction that causes it."""

from __future__ import annotations

from django.db import models
from django.utils import timezone


class OutboxMessage(models.Model):
    class State(models.TextChoices):
        PENDING = "pending", "Pending"
        SENDING = "sending", "Claimed by a worker"
        SENT = "sent", "Sent"
        FAILED = "failed", "Failed permanently"
        SUPPRESSED = "suppressed", "Not sent: recipient unsubscribed"

    # The unique key is what makes a message exist once, however often the
    # cause is re-run: e.g. "response:12:signature:3456". A constraint rather
    # than unique=True: on PostgreSQL that adds a second index for LIKE
    # queries, which nothing runs, and every signature would write it.
    key = models.CharField(max_length=200)
    kind = models.CharField(max_length=40)
    to_email = models.EmailField(max_length=254)
    petition = models.ForeignKey(
        "petitions.Petition", null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    payload = models.JSONField(default=dict, blank=True)
    state = models.CharField(max_length=12, choices=State.choices, default=State.PENDING)
    attempts = models.PositiveSmallIntegerField(default=0)
    next_attempt_at = models.DateTimeField(default=timezone.now)
    claimed_until = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    sent_at = models.DateTimeField(null=True, blank=True)
    last_error = models.CharField(max_length=300, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["key"], name="outbox_key_unique")]
        indexes = [
            models.Index(
                fields=["next_attempt_at"],
                condition=models.Q(state__in=["pending", "sending"]),
                name="outbox_due",
            )
        ]

    def __str__(self) -> str:
        return self.key


class Suppression(models.Model):
    """An address that asked for no more email about one petition."""

    petition = models.ForeignKey(
        "petitions.Petition", on_delete=models.CASCADE, related_name="suppressions"
    )
    email_canonical = models.CharField(max_length=254)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["petition", "email_canonical"], name="one_suppression_each"
            )
        ]
