from django.contrib import admin

from petitio.authorities.models import Authority, Milestone, Official, ResponsePolicy


class MilestoneInline(admin.TabularInline):
    model = Milestone
    extra = 0


@admin.register(ResponsePolicy)
class ResponsePolicyAdmin(admin.ModelAdmin):
    list_display = ["name", "slug", "requires_moderation", "open_months", "open_days"]
    inlines = [MilestoneInline]


@admin.register(Authority)
class AuthorityAdmin(admin.ModelAdmin):
    list_display = ["name", "kind", "country", "region", "policy"]
    list_filter = ["country", "policy"]
    search_fields = ["name", "slug"]


@admin.register(Official)
class OfficialAdmin(admin.ModelAdmin):
    list_display = ["user", "authority"]
    autocomplete_fields = ["authority"]
