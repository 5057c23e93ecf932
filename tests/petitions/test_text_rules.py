"""The text rules every form, service and export shares.

These are pure functions (no database): the validators in
``petitio.petitions.validators``, the petition text check and the signer
check. The pages' side of the same rules is in tests/functional.
"""

from __future__ import annotations

import string
import unicodedata

import pytest
from django.core.exceptions import ValidationError
from hypothesis import example, given
from hypothesis import strategies as st

from petitio.authorities.models import ResponsePolicy
from petitio.petitions.services import petition_validate_text
from petitio.petitions.validators import (
    FORMULA_PREFIXES,
    no_formula_prefix,
    no_url,
    spreadsheet_safe,
    text_clean,
)
from petitio.signatures.services import signer_validate

US_RULES = ResponsePolicy(slug="us", name="US", open_days=30, eligibility="")
UK_RULES = ResponsePolicy(
    slug="uk", name="UK", open_months=6, eligibility="I am a British citizen or UK resident"
)

GOOD_TEXT = {
    "action": "Plant trees along every school road",
    "background": "Shade and cleaner air for children walking to school.",
    "details": "",
}
GOOD_SIGNER = {
    "name": "Sam Signer",
    "email": "sam@example.org",
    "postal_code": "53703",
    "country": "US",
    "eligible": True,
}


def text_errors(**overrides: str) -> dict[str, list[str]]:
    with pytest.raises(ValidationError) as caught:
        petition_validate_text(**{**GOOD_TEXT, **overrides})
    return caught.value.message_dict


def signer_errors(policy: ResponsePolicy = US_RULES, **overrides) -> dict[str, list[str]]:
    with pytest.raises(ValidationError) as caught:
        signer_validate(policy=policy, **{**GOOD_SIGNER, **overrides})
    return caught.value.message_dict


def refusal(value: str, *, multiline: bool = False) -> str:
    with pytest.raises(ValidationError) as caught:
        text_clean(value, multiline=multiline)
    return caught.value.messages[0]


# Strategies: visible text around the character under test, so that trimming
# the ends cannot be what removes it.
visible = st.text(alphabet=st.characters(categories=["L", "N", "P", "S"]), min_size=1, max_size=20)
control_chars = st.characters(categories=["Cc"])
format_chars = st.characters(categories=["Cf"])


# --- Petition text: required, lengths


def test_petition_text_within_the_limits_is_accepted_and_trimmed():
    cleaned = petition_validate_text(
        action="  Plant trees  ", background=" Shade. ", details="\tMore.\r\nAnd more. "
    )
    assert cleaned == {
        "action": "Plant trees",
        "background": "Shade.",
        "details": "More.\nAnd more.",
    }


def test_petition_text_at_exactly_the_limits_is_accepted():
    cleaned = petition_validate_text(action="a" * 80, background="b" * 300, details="c" * 800)
    assert (len(cleaned["action"]), len(cleaned["background"]), len(cleaned["details"])) == (
        80,
        300,
        800,
    )


@pytest.mark.parametrize(
    ("field", "limit"), [("action", 80), ("background", 300), ("details", 800)]
)
def test_petition_text_one_over_the_limit_is_refused_saying_the_limit(field, limit):
    errors = text_errors(**{field: "x" * (limit + 1)})
    assert errors[field] == [f"Use at most {limit} characters (you used {limit + 1})."]


@pytest.mark.parametrize("value", ["", "   ", "\t"])
def test_empty_action_is_refused_as_required(value):
    assert text_errors(action=value)["action"] == ["This is required."]


@pytest.mark.parametrize("value", ["", "  \n "])
def test_empty_background_is_refused_as_required(value):
    assert text_errors(background=value)["background"] == ["This is required."]


def test_details_are_optional():
    assert petition_validate_text(**{**GOOD_TEXT, "details": ""})["details"] == ""


def test_every_bad_field_is_reported_at_once():
    errors = text_errors(action="", background="x" * 301, details="y" * 801)
    assert set(errors) == {"action", "background", "details"}


def test_length_is_counted_on_the_composed_text():
    """An accented letter typed as letter + combining accent counts as one character."""
    decomposed = "e\u0301" * 80  # 160 code points, 80 letters once composed
    cleaned = petition_validate_text(**{**GOOD_TEXT, "action": decomposed})
    assert cleaned["action"] == "\u00e9" * 80


@given(extra=st.integers(min_value=1, max_value=200), letter=st.sampled_from("aZ9é漢"))
def test_any_action_longer_than_80_characters_is_refused(extra, letter):
    errors = text_errors(action=letter * (80 + extra))
    assert errors["action"] == [f"Use at most 80 characters (you used {80 + extra})."]


# --- Control and invisible characters


@pytest.mark.parametrize(
    ("char", "named"),
    [
        ("\u200b", "Zero Width Space"),
        ("\u202e", "Right-To-Left Override"),
        ("\ufeff", "Zero Width No-Break Space"),
        ("\x00", "U+0000"),
        ("\x07", "U+0007"),
        ("\x1b", "U+001B"),
    ],
)
def test_invisible_and_control_characters_are_refused_by_name(char, named):
    message = refusal(f"Free{char}dom")
    assert message == f"Remove the invisible or control character ({named}) from this text."


@pytest.mark.parametrize("field", ["action", "background", "details"])
def test_petition_text_with_a_zero_width_space_is_refused(field):
    errors = text_errors(**{field: "Save the\u200b park"})
    assert "Zero Width Space" in errors[field][0]


@pytest.mark.parametrize("field", ["action", "background", "details"])
def test_petition_text_with_a_right_to_left_override_is_refused(field):
    errors = text_errors(**{field: "Fund \u202eslooc\u202c schools"})
    assert "Right-To-Left Override" in errors[field][0]


@pytest.mark.parametrize("field", ["action", "background", "details"])
def test_petition_text_with_a_nul_byte_is_refused(field):
    errors = text_errors(**{field: "Fund\x00schools"})
    assert "U+0000" in errors[field][0]


def test_a_line_break_is_refused_in_a_one_line_title():
    assert "U+000A" in text_errors(action="Plant trees\nnow")["action"][0]


def test_line_breaks_and_tabs_are_kept_in_multiline_text():
    assert text_clean("One\r\nTwo\rThree\tfour", multiline=True) == "One\nTwo\nThree\tfour"


@pytest.mark.parametrize("char", ["\u2028", "\u2029"])
def test_unicode_line_and_paragraph_separators_are_refused(char):
    assert refusal(f"One{char}Two", multiline=True) == "Remove the line separator from this text."


@given(before=visible, char=control_chars, after=visible)
@example(before="a", char="\x00", after="b")
@example(before="a", char="\x85", after="b")
def test_any_single_line_text_containing_a_control_character_is_refused(before, char, after):
    with pytest.raises(ValidationError) as caught:
        text_clean(before + char + after)
    assert caught.value.code == "control_character"


@given(
    before=visible,
    char=control_chars.filter(lambda c: c not in "\n\t\r"),
    after=visible,
)
def test_any_multiline_text_containing_a_control_character_other_than_a_line_break_is_refused(
    before, char, after
):
    with pytest.raises(ValidationError):
        text_clean(before + char + after, multiline=True)


@given(before=visible, char=format_chars, after=visible)
@example(before="a", char="\u200b", after="b")
@example(before="a", char="\u202e", after="b")
def test_any_text_containing_an_invisible_format_character_is_refused(before, char, after):
    with pytest.raises(ValidationError):
        text_clean(before + char + after)
    with pytest.raises(ValidationError):
        text_clean(before + char + after, multiline=True)


@given(value=st.text(max_size=60), multiline=st.booleans())
def test_cleaned_text_never_contains_a_control_or_invisible_character(value, multiline):
    try:
        cleaned = text_clean(value, multiline=multiline)
    except ValidationError:
        return
    allowed = "\n\t" if multiline else ""
    for char in cleaned:
        assert char in allowed or unicodedata.category(char) not in {"Cc", "Cf", "Zl", "Zp"}


def test_html_is_kept_as_typed_text():
    """Markup is not stripped or rejected: it is text, escaped wherever it is shown."""
    assert text_clean("<script>alert(1)</script>") == "<script>alert(1)</script>"
    cleaned = petition_validate_text(**{**GOOD_TEXT, "action": "<b>Bold</b> & <i>brave</i>"})
    assert cleaned["action"] == "<b>Bold</b> & <i>brave</i>"


def test_text_is_normalised_to_composed_form():
    assert text_clean("Cafe\u0301") == "Caf\u00e9"


# --- Spreadsheet formula prefixes


@pytest.mark.parametrize("prefix", FORMULA_PREFIXES)
def test_a_title_starting_with_a_formula_prefix_is_refused(prefix):
    errors = text_errors(action=f'{prefix}HYPERLINK("http://evil.example","Sign")')
    assert errors["action"] == [
        "This cannot start with =, +, - or @. Please start with a letter or number."
    ]


@pytest.mark.parametrize("prefix", FORMULA_PREFIXES)
def test_a_title_with_spaces_before_a_formula_prefix_is_refused(prefix):
    assert "cannot start with" in text_errors(action=f"   {prefix}1+1")["action"][0]


@pytest.mark.parametrize("prefix", FORMULA_PREFIXES)
def test_a_signer_name_starting_with_a_formula_prefix_is_refused(prefix):
    assert signer_errors(name=f"{prefix}cmd|' /C calc'!A0")["name"] == [
        "This cannot start with =, +, - or @. Please start with a letter or number."
    ]


def test_a_formula_character_inside_a_title_is_fine():
    cleaned = petition_validate_text(
        **{**GOOD_TEXT, "action": "Make 2+2=4 taught in year-1 @ school"}
    )
    assert cleaned["action"] == "Make 2+2=4 taught in year-1 @ school"


@given(prefix=st.sampled_from(FORMULA_PREFIXES), rest=st.text(max_size=30))
def test_any_text_starting_with_a_formula_prefix_is_refused_in_names_and_titles(prefix, rest):
    with pytest.raises(ValidationError):
        no_formula_prefix(prefix + rest)


@given(value=st.text(max_size=40))
@example(value="=SUM(A1:A9)")
@example(value="+1 555")
@example(value="-2")
@example(value="@handle")
@example(value="\t=1")
def test_spreadsheet_safe_never_returns_a_formula_and_keeps_the_text(value):
    safe = spreadsheet_safe(value)
    assert not safe.startswith(FORMULA_PREFIXES)
    assert safe in (value, "'" + value)
    if not value.startswith((*FORMULA_PREFIXES, "\t", "\r")):
        assert safe == value


# --- Signers: name, email, postal code, country, eligibility


def test_a_valid_signer_is_cleaned():
    signer = signer_validate(
        policy=US_RULES,
        name="  Ann Lee ",
        email=" Ann.Lee+petition@GoogleMail.com ",
        postal_code="sw1a 1aa",
        country="gb",
        eligible=True,
    )
    assert signer.name == "Ann Lee"
    assert signer.email == "Ann.Lee+petition@GoogleMail.com"
    assert signer.email_canonical == "annlee@gmail.com"
    assert signer.postal_code == "SW1A 1AA"
    assert signer.country == "GB"


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("name", "", "Enter your name."),
        ("name", "   ", "Enter your name."),
        ("name", "n" * 101, "Use at most 100 characters for your name."),
        ("email", "", "Enter your email address."),
        ("email", "a" * 250 + "@example.org", "That email address is too long."),
        ("postal_code", "", "Enter your postal code."),
        ("postal_code", "1" * 17, "Enter a postal code of letters, digits, spaces or hyphens."),
        ("postal_code", "537;03", "Enter a postal code of letters, digits, spaces or hyphens."),
    ],
)
def test_empty_and_over_long_signer_fields_are_refused(field, value, message):
    assert signer_errors(**{field: value})[field] == [message]


def test_a_name_of_exactly_100_characters_is_accepted():
    assert signer_validate(policy=US_RULES, **{**GOOD_SIGNER, "name": "n" * 100}).name == "n" * 100


@pytest.mark.parametrize(
    "email",
    [
        "not-an-email",
        "sam@",
        "@example.org",
        "sam@example",
        "sam@@example.org",
        "sam example@example.org",
        "sam@exa mple.org",
        "<sam@example.org>",
    ],
)
def test_an_invalid_email_is_refused_with_an_example(email):
    assert signer_errors(email=email)["email"] == [
        "Enter a valid email address, like name@example.com."
    ]


@pytest.mark.parametrize("email", ["sam\u200b@example.org", "sam@example.org\x00"])
def test_an_email_with_invisible_characters_is_refused(email):
    assert "character" in signer_errors(email=email)["email"][0]


@pytest.mark.parametrize(
    "name",
    [
        "Sam http://cheap-pills.example",
        "Sam https://x.example/path",
        "www.cheap-pills.example",
        "Sam from casino.com",
        "Visit buy-now.ru",
        "WWW.SHOUTING.EXAMPLE",
    ],
)
def test_a_url_in_a_signer_name_is_refused(name):
    assert signer_errors(name=name)["name"] == [
        "Please enter your name only, without a web address."
    ]


@pytest.mark.parametrize(
    "name", ["Dr. Jane Smith", "J.R.R. Tolkien", "Anne-Marie O'Neil", "李小龍"]
)
def test_ordinary_names_with_dots_and_punctuation_are_accepted(name):
    assert no_url(name) is None
    assert signer_validate(policy=US_RULES, **{**GOOD_SIGNER, "name": name}).name == name


@pytest.mark.parametrize("country", ["XX", "ZZ", "UK", "EU", "United States", "USA", "", "U S"])
def test_an_unknown_country_code_is_refused(country):
    assert signer_errors(country=country)["country"] == ["Choose a country from the list."]


def test_a_country_code_in_lower_case_is_accepted():
    assert signer_validate(policy=US_RULES, **{**GOOD_SIGNER, "country": "us"}).country == "US"


def test_a_signer_who_does_not_confirm_the_eligibility_rule_is_refused_under_uk_rules():
    errors = signer_errors(policy=UK_RULES, eligible=False)
    assert errors["eligible"] == ["Please confirm: I am a British citizen or UK resident."]


def test_no_eligibility_confirmation_is_needed_under_us_rules():
    signer = signer_validate(policy=US_RULES, **{**GOOD_SIGNER, "eligible": False})
    assert signer.name == "Sam Signer"


def test_every_bad_signer_field_is_reported_at_once():
    errors = signer_errors(name="", email="nope", postal_code="", country="XX")
    assert set(errors) == {"name", "email", "postal_code", "country"}


def test_a_signer_name_with_html_is_kept_as_text():
    signer = signer_validate(
        policy=US_RULES, **{**GOOD_SIGNER, "name": "<script>alert(1)</script>"}
    )
    assert signer.name == "<script>alert(1)</script>"


@given(
    name=st.text(alphabet=string.ascii_letters + " '", min_size=1, max_size=40).filter(
        lambda s: s.strip()
    ),
    char=st.sampled_from(["\x00", "\u200b", "\u202e", "\x1b", "\u2066"]),
    at=st.integers(min_value=0, max_value=40),
)
def test_any_signer_name_with_an_invisible_character_inside_is_refused(name, char, at):
    name = name.strip()
    at = max(1, min(at, len(name) - 1)) if len(name) > 1 else 1
    tampered = "A" + name[:at] + char + name[at:] + "z"
    errors = signer_errors(name=tampered)
    assert "character" in errors["name"][0]
