"""Partner API keys. The key itself is shown once; only its SHA-256 hash is stored."""

from __future__ import annotations

from typing import ClassVar

from django.db import models
from django.utils import timezone


class Scope(models.TextChoices):
    SIGNATURES_WRITE = "signatures:write", "Submit signatures for signers to confirm"


class PartnerKey(models.Model):
    """A partner site (a newspaper, an NGO) that submits signatures through the API."""

    name = models.CharField(max_length=120, help_text="Who the partner is, shown to staff.")
    key_prefix = models.CharField(
        max_length=16, unique=True, editable=False, help_text="Public part, for lookup."
    )
    key_hash = models.CharField(max_length=64, unique=True, editable=False)
    scopes = models.JSONField(default=list, blank=True)
    rate_limit_per_minute = models.PositiveIntegerField(default=60)
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    revoked_at = models.DateTimeField(null=True, blank=True, editable=False)

    # Declared so type checkers know it before the app is registered everywhere.
    objects: ClassVar[models.Manager[PartnerKey]] = models.Manager()

    class Meta:
        ordering = ["name", "id"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(rate_limit_per_minute__gt=0), name="partner_key_rate_positive"
            )
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.key_prefix})"

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None

    def has_scope(self, scope: str) -> bool:
        return scope in (self.scopes or [])
