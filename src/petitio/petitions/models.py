"""Petitions, their addressees and the milestones each addressee has reached."""

from __future__ import annotations

from django.db import models
from django.utils import timezone

from petitio.authorities.models import Authority, Milestone, ResponsePolicy


class State(models.TextChoices):
    DRAFT = "draft", "Draft"
    GATHERING = "gathering", "Gathering signatures"
    PENDING = "pending", "Awaiting moderation"
    OPEN = "open", "Open"
    AWAITING_RESPONSE = "awaiting_response", "Awaiting response"
    RESPONDED = "responded", "Responded"
    CLOSED = "closed", "Closed"
    REJECTED = "rejected", "Rejected"
    HIDDEN = "hidden", "Rejected and hidden"
    REMOVED = "removed", "Removed"


# States in which the petition accepts signatures (until its closing time).
SIGNABLE_STATES = (
    State.GATHERING,
    State.PENDING,
    State.OPEN,
    State.AWAITING_RESPONSE,
    State.RESPONDED,
)
# States in which a response may have been published: a signer confirmed
# then is owed it too.
RESPONSE_STATES = (State.AWAITING_RESPONSE, State.RESPONDED, State.CLOSED)
# States whose page shows the petition's text to the public.
PUBLIC_TEXT_STATES = (*SIGNABLE_STATES, State.CLOSED, State.REJECTED)
# States that appear in public lists (with listed_at set, except rejected ones).
LISTED_STATES = (State.OPEN, State.AWAITING_RESPONSE, State.RESPONDED, State.CLOSED)


class RejectionReason(models.TextChoices):
    DUPLICATE = "duplicate", "There is already a petition about this"
    NO_ACTION = "no_action", "It did not ask for a clear action"
    NOT_RESPONSIBLE = "not_responsible", "It is not the addressed authority's responsibility"
    ALREADY_HAPPENING = "already_happening", "It asks for something that is already happening"
    CONFIDENTIAL = "confidential", "It included confidential information"
    LIBELLOUS = "libellous", "It included potentially libellous or false statements"
    OFFENSIVE = "offensive", "It was offensive or inappropriate"


# Reasons whose petition text must not be shown publicly.
HIDING_REASONS = frozenset(
    {RejectionReason.CONFIDENTIAL, RejectionReason.LIBELLOUS, RejectionReason.OFFENSIVE}
)


class Petition(models.Model):
    action = models.CharField(max_length=80)
    background = models.CharField(max_length=300)
    details = models.TextField(max_length=800, blank=True)
    creator_name = models.CharField(max_length=100)
    policy = models.ForeignKey(ResponsePolicy, on_delete=models.PROTECT, related_name="+")
    state = models.CharField(max_length=20, choices=State.choices, default=State.DRAFT)

    created_at = models.DateTimeField(default=timezone.now)
    published_at = models.DateTimeField(null=True, blank=True)
    opened_at = models.DateTimeField(null=True, blank=True)
    listed_at = models.DateTimeField(null=True, blank=True)
    closes_at = models.DateTimeField(null=True, blank=True)
    closed_at = models.DateTimeField(null=True, blank=True)
    moderated_at = models.DateTimeField(null=True, blank=True)

    # Moved only by the tally writer and the reconciliation job.
    signature_count = models.PositiveIntegerField(default=0)
    count_updated_at = models.DateTimeField(null=True, blank=True)

    rejection_reason = models.CharField(max_length=20, choices=RejectionReason.choices, blank=True)
    rejection_details = models.TextField(blank=True)
    duplicate_of = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    removal_reason = models.TextField(blank=True, help_text="Recorded, not public.")

    # The structured request the jurisdiction check reads (empty: none).
    request_action = models.CharField(
        max_length=20, blank=True, help_text="pardon or commute, when the petition asks for one."
    )
    request_persons = models.CharField(max_length=200, blank=True)
    request_court = models.CharField(max_length=20, blank=True, help_text="e.g. state:WI")
    # The creator was asked for a structured request and declined it.
    request_unchecked = models.BooleanField(default=False)

    authorities = models.ManyToManyField(Authority, through="Addressee", related_name="petitions")

    class Meta:
        ordering = ["-signature_count", "-created_at"]
        permissions = [("moderate_petition", "Can moderate petitions")]
        indexes = [
            models.Index(fields=["state", "-signature_count"], name="petition_state_count"),
            models.Index(fields=["closes_at"], name="petition_closes_at"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=~models.Q(rejection_reason="duplicate")
                | models.Q(duplicate_of__isnull=False),
                name="duplicate_names_original",
            ),
        ]

    def __str__(self) -> str:
        return self.action

    @property
    def shows_text(self) -> bool:
        return self.state in PUBLIC_TEXT_STATES

    def is_signable(self, now=None) -> bool:
        now = now or timezone.now()
        return self.state in SIGNABLE_STATES and (self.closes_at is None or now < self.closes_at)


class Addressee(models.Model):
    """One authority a petition is addressed to, with its own response deadline."""

    petition = models.ForeignKey(Petition, on_delete=models.CASCADE, related_name="addressees")
    authority = models.ForeignKey(Authority, on_delete=models.PROTECT, related_name="addressees")
    response_due_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["petition", "authority"], name="one_addressee_each")
        ]
        indexes = [models.Index(fields=["response_due_at"], name="addressee_due")]

    def __str__(self) -> str:
        return f"{self.petition} → {self.authority}"


class MilestoneReached(models.Model):
    """A milestone fired for an addressee; the unique constraint makes it fire once."""

    addressee = models.ForeignKey(Addressee, on_delete=models.CASCADE, related_name="milestones")
    milestone = models.ForeignKey(Milestone, on_delete=models.PROTECT, related_name="+")
    reached_at = models.DateTimeField(default=timezone.now)
    signature_count = models.PositiveIntegerField()

    class Meta:
        ordering = ["reached_at"]
        constraints = [
            models.UniqueConstraint(fields=["addressee", "milestone"], name="milestone_fires_once")
        ]
