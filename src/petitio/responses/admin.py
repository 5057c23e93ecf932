from django.contrib import admin

from petitio.responses.models import Response


@admin.register(Response)
class ResponseAdmin(admin.ModelAdmin):
    list_display = ["summary", "addressee", "published_at", "published_by_name"]
    readonly_fields = ["addressee", "published_at", "published_by", "published_by_name"]

    def has_add_permission(self, request):  # published from the official's page
        return False
