"""Page forms collect input; the services validate it (one set of rules for
pages, API and commands), and views map service errors back onto the fields."""

from __future__ import annotations

from django import forms
from django.core.exceptions import ValidationError
from django_countries import countries

from petitio.authorities.jurisdiction import court_choices
from petitio.authorities.models import Authority


def country_choices() -> list[tuple[str, str]]:
    return [("", "Choose your country"), *((code, name) for code, name in countries)]


def form_errors_add(form: forms.Form, invalid: ValidationError) -> None:
    """Show a service's ValidationError on a bound form, beside the form's own
    errors: a field the form already flagged (e.g. "This field is required.")
    keeps its message instead of getting a second one."""
    form.is_valid()
    if not hasattr(invalid, "error_dict"):
        form.add_error(None, invalid)
        return
    for field, errors in invalid.error_dict.items():
        if field not in form.errors:
            form.add_error(field if field in form.fields else None, errors)


class SignerFields(forms.Form):
    name = forms.CharField(label="Full name", strip=False)
    email = forms.CharField(
        label="Email address",
        strip=False,
        widget=forms.EmailInput(attrs={"autocomplete": "email"}),
    )
    postal_code = forms.CharField(
        label="Postal code",
        strip=False,
        widget=forms.TextInput(attrs={"autocomplete": "postal-code"}),
    )
    country = forms.CharField(
        label="Country",
        # A callable: the ~250 choices are not copied into every form instance.
        widget=forms.Select(choices=country_choices),  # type: ignore[arg-type]
    )
    eligible = forms.BooleanField(required=False)

    def __init__(self, *args, eligibility: str = "", **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["name"].widget.attrs.update({"autocomplete": "name", "maxlength": 100})
        if eligibility:
            self.fields["eligible"].label = eligibility
        else:
            del self.fields["eligible"]


class PetitionForm(SignerFields):
    field_order = [
        "authority",
        "also_to",
        "action",
        "background",
        "details",
        "request_action",
        "request_persons",
        "request_court",
        "request_declined",
        "seen_similar",
    ]

    authority = forms.ModelChoiceField(
        queryset=Authority.objects.all(),
        to_field_name="slug",
        label="Who should act on it?",
        empty_label="Choose the authority",
    )
    also_to = forms.ModelMultipleChoiceField(
        queryset=Authority.objects.all(),
        to_field_name="slug",
        required=False,
        label="Also address (optional)",
        help_text="Each addressee gets its own milestones and owes its own response.",
        widget=forms.SelectMultiple(attrs={"size": 4}),
    )
    request_action = forms.ChoiceField(
        required=False,
        label="Does it ask for a pardon or a commutation?",
        choices=[("", "No"), ("pardon", "Yes: a pardon"), ("commute", "Yes: a commutation")],
        help_text="We check, before anyone signs, that the authority you address can grant it.",
    )
    request_persons = forms.CharField(
        required=False, label="Who was convicted?", widget=forms.TextInput(attrs={"maxlength": 200})
    )
    request_court = forms.ChoiceField(
        required=False,
        label="Which court convicted them?",
        choices=[("", "Choose the court"), *court_choices()],
    )
    seen_similar = forms.BooleanField(
        required=False,
        label="I have looked at the similar petitions and mine asks for something different",
    )
    request_declined = forms.BooleanField(
        required=False,
        label="Publish without the check (the petition will say its request was not checked)",
    )
    action = forms.CharField(
        label="What do you want them to do?",
        help_text="A short title, up to 80 characters.",
        strip=False,
        widget=forms.TextInput(attrs={"maxlength": 80}),
    )
    background = forms.CharField(
        label="Why?",
        help_text="Up to 300 characters.",
        strip=False,
        widget=forms.Textarea(attrs={"rows": 4, "maxlength": 300}),
    )
    details = forms.CharField(
        label="More details (optional)",
        help_text="Up to 800 characters.",
        strip=False,
        required=False,
        widget=forms.Textarea(attrs={"rows": 6, "maxlength": 800}),
    )

    def __init__(self, *args, **kwargs) -> None:
        kwargs.setdefault(
            "eligibility",
            "I meet the authority's eligibility rule, if it has one "
            "(UK Government and Parliament: I am a British citizen or UK resident)",
        )
        super().__init__(*args, **kwargs)
        self.fields["name"].label = "Your full name"


class SignatureForm(SignerFields):
    pass


class ResendForm(forms.Form):
    email = forms.CharField(label="Email address you signed with", widget=forms.EmailInput)
