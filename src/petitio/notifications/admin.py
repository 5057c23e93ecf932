from django.contrib import admin

from petitio.notifications.models import OutboxMessage


@admin.register(OutboxMessage)
class OutboxMessageAdmin(admin.ModelAdmin):
    """Delivery status only: addresses are personal data, so they are not listed."""

    list_display = ["pk", "kind", "state", "attempts", "created_at", "sent_at", "last_error"]
    list_filter = ["kind", "state"]
    fields = readonly_fields = (
        "key",
        "kind",
        "state",
        "attempts",
        "next_attempt_at",
        "sent_at",
        "last_error",
    )

    def has_add_permission(self, request):
        return False
