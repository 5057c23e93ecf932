"""An authority's published answer to a petition addressed to it."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone

from petitio.petitions.models import Addressee


class Response(models.Model):
    addressee = models.OneToOneField(Addressee, on_delete=models.CASCADE, related_name="response")
    summary = models.CharField(max_length=300)
    body = models.TextField(max_length=20000)
    published_at = models.DateTimeField(default=timezone.now)
    published_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    published_by_name = models.CharField(max_length=150, help_text="Shown publicly.")

    class Meta:
        ordering = ["-published_at"]

    def __str__(self) -> str:
        return self.summary
