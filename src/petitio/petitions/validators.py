"""Text rules shared by every form and service that accepts text from the public."""

from __future__ import annotations

import re
import unicodedata

from django.core.exceptions import ValidationError

# Characters that would make a spreadsheet treat a cell as a formula.
FORMULA_PREFIXES = ("=", "+", "-", "@")
_URL = re.compile(r"(https?://|www\.|\b[\w-]+\.(com|org|net|info|io|ru|cn|xyz)\b)", re.IGNORECASE)


def text_clean(value: str, *, multiline: bool = False) -> str:
    """Normalise text (NFC, trimmed) and refuse control and invisible characters.

    Zero-width and bidirectional-override characters are used to disguise
    duplicates and spoof text; control characters break emails and exports.
    """
    value = unicodedata.normalize("NFC", value).strip()
    if multiline:
        value = value.replace("\r\n", "\n").replace("\r", "\n")
    for char in value:
        if multiline and char in "\n\t":
            continue
        category = unicodedata.category(char)
        if category in {"Cc", "Cf", "Cs", "Co", "Cn"}:
            name = unicodedata.name(char, f"U+{ord(char):04X}")
            raise ValidationError(
                "Remove the invisible or control character (%(name)s) from this text.",
                code="control_character",
                params={"name": name.title()},
            )
        if category in {"Zl", "Zp"}:
            raise ValidationError("Remove the line separator from this text.", code="separator")
    return value


def no_formula_prefix(value: str) -> None:
    if value.startswith(FORMULA_PREFIXES):
        raise ValidationError(
            "This cannot start with =, +, - or @. Please start with a letter or number.",
            code="formula_prefix",
        )


def no_url(value: str) -> None:
    if _URL.search(value):
        raise ValidationError("Please enter your name only, without a web address.", code="url")


def spreadsheet_safe(value: str) -> str:
    """Neutralise a cell for CSV export so that no spreadsheet runs it as a formula."""
    if value.startswith((*FORMULA_PREFIXES, "\t", "\r")):
        return "'" + value
    return value
