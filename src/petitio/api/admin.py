"""Staff register partner sites; a new key is shown once, in a message, then only its hash."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest

from petitio.api.models import PartnerKey, Scope
from petitio.api.services import (
    partner_key_create,
    partner_key_revoke,
    partner_key_update,
)


class PartnerKeyForm(forms.ModelForm):
    scopes = forms.MultipleChoiceField(
        choices=Scope.choices,
        widget=forms.CheckboxSelectMultiple,
        initial=[Scope.SIGNATURES_WRITE],
        required=False,
    )

    class Meta:
        model = PartnerKey
        fields = ["name", "scopes", "rate_limit_per_minute"]


@admin.register(PartnerKey)
class PartnerKeyAdmin(admin.ModelAdmin):
    form = PartnerKeyForm
    list_display = [
        "name",
        "key_prefix",
        "scope_list",
        "rate_limit_per_minute",
        "created_at",
        "revoked_at",
    ]
    list_filter = [("revoked_at", admin.EmptyFieldListFilter)]
    search_fields = ["name", "key_prefix"]
    readonly_fields = ["key_prefix", "created_at", "revoked_at"]
    actions = ["revoke_keys"]

    @admin.display(description="scopes")
    def scope_list(self, partner: PartnerKey) -> str:
        return ", ".join(partner.scopes or [])

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False  # revoke instead: signatures keep naming the key that sent them

    def save_model(self, request: HttpRequest, obj: PartnerKey, form: Any, change: bool) -> None:
        data = form.cleaned_data
        if change:
            partner_key_update(
                partner=obj,
                name=data["name"],
                scopes=data["scopes"],
                rate_limit_per_minute=data["rate_limit_per_minute"],
            )
            return
        partner, key = partner_key_create(
            name=data["name"],
            scopes=data["scopes"],
            rate_limit_per_minute=data["rate_limit_per_minute"],
        )
        for field in PartnerKey._meta.concrete_fields:
            setattr(obj, field.attname, getattr(partner, field.attname))
        obj._state.adding = False
        obj._state.db = partner._state.db
        messages.warning(
            request,
            f"The API key for {partner.name} is {key} — copy it now and send it to the "
            "partner safely. It is stored only as a hash and cannot be shown again.",
        )

    @admin.action(description="Revoke the selected keys")
    def revoke_keys(self, request: HttpRequest, queryset: QuerySet[PartnerKey]) -> None:
        revoked = 0
        for partner in queryset.filter(revoked_at__isnull=True):
            partner_key_revoke(partner=partner)
            revoked += 1
        self.message_user(request, f"Revoked {revoked} key(s).", messages.SUCCESS)
