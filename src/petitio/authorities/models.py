"""Authorities, the response policies they follow, and their officials.

Policies are data: a list of milestones loaded from ``data/authorities.yaml``
(see ``services.authorities_load``). Adding an authority is adding a record.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models


class ResponsePolicy(models.Model):
    slug = models.SlugField(unique=True)
    name = models.CharField(max_length=120)
    description = models.TextField(blank=True)
    requires_moderation = models.BooleanField(
        default=False, help_text="A moderator must open the petition before it is listed."
    )
    supporters_needed = models.PositiveIntegerField(
        default=0, help_text="Supporters (besides the creator) before moderation."
    )
    open_months = models.PositiveIntegerField(default=0)
    open_days = models.PositiveIntegerField(default=0)
    late_confirmation_hours = models.PositiveIntegerField(
        default=24, help_text="How long after closing a signature made before it may be confirmed."
    )
    eligibility = models.CharField(
        max_length=200, blank=True, help_text="What signers must confirm; empty when nothing."
    )

    class Meta:
        verbose_name_plural = "response policies"
        constraints = [
            models.CheckConstraint(
                condition=models.Q(open_months__gt=0) | models.Q(open_days__gt=0),
                name="policy_has_duration",
            )
        ]

    def __str__(self) -> str:
        return self.name


class Milestone(models.Model):
    class Kind(models.TextChoices):
        LISTING = "listing", "Publicly listed"
        RESPONSE = "response", "Response owed"
        DEBATE = "debate", "Considered for debate"

    policy = models.ForeignKey(ResponsePolicy, on_delete=models.CASCADE, related_name="milestones")
    kind = models.CharField(max_length=16, choices=Kind.choices)
    signatures = models.PositiveIntegerField()
    window_days = models.PositiveIntegerField(
        null=True, blank=True, help_text="Days from opening to reach it; empty: while open."
    )
    response_days = models.PositiveIntegerField(
        null=True, blank=True, help_text="For a response milestone: days to publish the response."
    )
    # A quorum by population (openPetition's idea): the threshold is this many
    # signatures per million inhabitants of the addressed authority's area,
    # at least ``signatures`` and at most ``ceiling``.
    per_million = models.PositiveIntegerField(null=True, blank=True)
    ceiling = models.PositiveIntegerField(null=True, blank=True)

    class Meta:
        ordering = ["policy", "signatures"]
        constraints = [
            models.UniqueConstraint(
                fields=["policy", "kind"], name="one_milestone_kind_per_policy"
            ),
            models.CheckConstraint(condition=models.Q(signatures__gt=0), name="milestone_positive"),
            models.CheckConstraint(
                condition=~models.Q(kind="response") | models.Q(response_days__gt=0),
                name="response_milestone_has_deadline",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} at {self.signatures:,}"

    def threshold_for(self, authority: Authority) -> int:
        """The signature count this milestone needs for one addressed authority."""
        if self.per_million is None or not authority.population:
            return self.signatures
        scaled = -(-authority.population * self.per_million // 1_000_000)  # ceiling division
        return max(self.signatures, min(scaled, self.ceiling or scaled))

    def formula(self) -> str:
        """The quorum rule in words, for the petition page."""
        if self.per_million is None:
            return ""
        share = self.per_million / 10_000
        rule = f"{share:g}% of the population, at least {self.signatures:,}"
        return rule + (f" and at most {self.ceiling:,}" if self.ceiling else "")


class Authority(models.Model):
    slug = models.SlugField(unique=True)
    name = models.CharField(max_length=200)
    kind = models.CharField(max_length=60)
    country = models.CharField(max_length=2)
    region = models.CharField(max_length=100, blank=True)
    city = models.CharField(max_length=100, blank=True)
    population = models.PositiveBigIntegerField(null=True, blank=True)
    population_source = models.CharField(max_length=200, blank=True)
    population_year = models.PositiveIntegerField(null=True, blank=True)
    time_zone = models.CharField(max_length=64, default="UTC")
    contact_email = models.EmailField(blank=True)
    policy = models.ForeignKey(ResponsePolicy, on_delete=models.PROTECT, related_name="authorities")
    description = models.TextField(blank=True)

    class Meta:
        ordering = ["name"]
        verbose_name_plural = "authorities"

    def __str__(self) -> str:
        return self.name


class Official(models.Model):
    """A staff user who publishes responses on behalf of one authority."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="official_roles"
    )
    authority = models.ForeignKey(Authority, on_delete=models.CASCADE, related_name="officials")

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "authority"], name="one_official_role")
        ]

    def __str__(self) -> str:
        return f"{self.user} for {self.authority}"


class Power(models.Model):
    """A power an authority holds, e.g. to pardon convictions of certain courts.

    ``courts`` lists the convicting courts the power reaches, as codes the
    jurisdiction check compares: ``us-district``, ``dc-superior``,
    ``court-martial`` or ``state:XX``.
    """

    class Action(models.TextChoices):
        PARDON = "pardon", "pardon"
        COMMUTE = "commute", "commute a sentence"

    authority = models.ForeignKey(Authority, on_delete=models.CASCADE, related_name="powers")
    action = models.CharField(max_length=20, choices=Action.choices)
    courts = models.JSONField(default=list, blank=True)
    scope = models.TextField()
    citation = models.CharField(max_length=300)
    source_url = models.URLField(max_length=500)
    confirmed = models.BooleanField(default=False)

    class Meta:
        ordering = ["authority", "action"]
        constraints = [
            models.UniqueConstraint(fields=["authority", "action"], name="one_power_per_action")
        ]

    def __str__(self) -> str:
        return f"{self.authority}: {self.action}"
