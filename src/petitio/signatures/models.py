"""Signatures and their verification tokens. Nothing here is ever public."""

from __future__ import annotations

from django.db import models
from django.utils import timezone
from django_countries.fields import CountryField

from petitio.petitions.models import Petition


class Signature(models.Model):
    class State(models.TextChoices):
        PENDING = "pending", "Pending confirmation"
        VERIFIED = "verified", "Verified"
        INVALIDATED = "invalidated", "Invalidated"

    # No index of its own: the unique (petition, email_canonical) index serves
    # every lookup by petition, and a viral petition pays for each index per row.
    petition = models.ForeignKey(
        Petition, on_delete=models.CASCADE, related_name="signatures", db_index=False
    )
    name = models.CharField(max_length=100)
    email = models.EmailField(max_length=254, help_text="As typed.")
    email_canonical = models.CharField(max_length=254, help_text="For de-duplication.")
    postal_code = models.CharField(max_length=16)
    country = CountryField()
    region = models.CharField(max_length=100, blank=True)
    state = models.CharField(max_length=12, choices=State.choices, default=State.PENDING)
    is_creator = models.BooleanField(default=False)
    created_at = models.DateTimeField(default=timezone.now)
    verified_at = models.DateTimeField(null=True, blank=True)
    last_email_at = models.DateTimeField(null=True, blank=True)
    # Set by the tally writer in the same transaction that adds it to the count.
    tallied = models.BooleanField(default=False)
    request_meta = models.JSONField(default=dict, blank=True, help_text="For fraud review.")

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["petition", "email_canonical"], name="one_signature_per_person"
            )
        ]
        # No (petition, state) index: with statistics taken while a petition
        # had few signatures, PostgreSQL chose it to find one signer by email
        # and read every pending signature of the petition instead (a viral
        # petition's duplicates and resends, 15,000 rows each in the benchmark).
        # Lookups by petition use the unique index; each index also costs
        # every signature a write.
        indexes = [
            models.Index(
                fields=["id"],
                condition=models.Q(state="verified", tallied=False),
                name="signature_untallied",
            ),
        ]

    def __str__(self) -> str:
        return f"Signature {self.pk} on petition {self.petition_id}"


class SignatureToken(models.Model):
    """A verification link's token, stored only as its SHA-256 hash."""

    signature = models.ForeignKey(Signature, on_delete=models.CASCADE, related_name="tokens")
    token_hash = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField()
    used_at = models.DateTimeField(null=True, blank=True)


class TallyState(models.Model):
    """One row: when the tally writer last ran, so pages can say how fresh counts are."""

    id = models.PositiveSmallIntegerField(primary_key=True, default=1)
    last_run_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [models.CheckConstraint(condition=models.Q(id=1), name="tally_state_single")]
