"""Staff views of petitions. State changes go through the moderation pages and
services (never by editing the state field), so every change is audited."""

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest

from petitio.petitions.models import Addressee, Petition
from petitio.petitions.services import TransitionRefused, petition_approve


class AddresseeInline(admin.TabularInline):
    model = Addressee
    extra = 0
    readonly_fields = ["authority", "response_due_at"]
    can_delete = False


@admin.register(Petition)
class PetitionAdmin(admin.ModelAdmin):
    list_display = ["pk", "action", "state", "signature_count", "created_at", "closes_at"]
    list_filter = ["state", "policy"]
    search_fields = ["action", "background"]
    readonly_fields = [
        "state",
        "policy",
        "signature_count",
        "count_updated_at",
        "created_at",
        "published_at",
        "opened_at",
        "listed_at",
        "closes_at",
        "closed_at",
        "moderated_at",
        "rejection_reason",
        "rejection_details",
        "duplicate_of",
        "removal_reason",
    ]
    inlines = [AddresseeInline]
    actions = ["approve"]

    @admin.action(description="Approve and open the selected petitions")
    def approve(self, request: HttpRequest, queryset: QuerySet[Petition]) -> None:
        for petition in queryset:
            try:
                petition_approve(petition=petition, by=request.user)
            except TransitionRefused as refused:
                self.message_user(request, f"{petition.pk}: {refused}", messages.WARNING)
