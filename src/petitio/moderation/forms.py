from __future__ import annotations

from django import forms

from petitio.petitions.models import RejectionReason


class RejectForm(forms.Form):
    reason = forms.ChoiceField(choices=RejectionReason.choices, label="Standard reason")
    details = forms.CharField(
        required=False,
        label="Public explanation (optional)",
        widget=forms.Textarea(attrs={"rows": 3}),
    )
    duplicate_of = forms.IntegerField(
        required=False, label="Original petition number (for duplicates)", min_value=1
    )


class RemoveForm(forms.Form):
    reason = forms.CharField(
        label="Why is it removed? (recorded, not public)", widget=forms.Textarea(attrs={"rows": 3})
    )
