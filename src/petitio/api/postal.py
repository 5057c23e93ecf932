"""Postal areas for aggregated statistics, derived from a signer's postal code.

Only areas, never the code itself, leave this module: a US ZIP code gives its
state (from the three-digit prefix that USPS assigns per state), a UK postcode
gives its outward code (the district before the space, e.g. ``SW1A``). Other
countries have no area here and are counted as unknown.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

AreaKind = Literal["us_state", "uk_postcode_district"]

# Three-digit ZIP prefixes, as inclusive ranges, to USPS state codes.
_ZIP3_RANGES: tuple[tuple[int, int, str], ...] = (
    (5, 5, "NY"), (6, 7, "PR"), (8, 8, "VI"), (9, 9, "PR"),
    (10, 27, "MA"), (28, 29, "RI"), (30, 38, "NH"), (39, 49, "ME"),
    (50, 54, "VT"), (55, 55, "MA"), (56, 59, "VT"), (60, 69, "CT"),
    (70, 89, "NJ"), (90, 99, "AE"), (100, 149, "NY"), (150, 196, "PA"),
    (197, 199, "DE"), (200, 200, "DC"), (201, 201, "VA"), (202, 205, "DC"),
    (206, 219, "MD"), (220, 246, "VA"), (247, 268, "WV"), (270, 289, "NC"),
    (290, 299, "SC"), (300, 319, "GA"), (320, 339, "FL"), (340, 340, "AA"),
    (341, 349, "FL"), (350, 369, "AL"), (370, 385, "TN"), (386, 397, "MS"),
    (398, 399, "GA"), (400, 427, "KY"), (430, 459, "OH"), (460, 479, "IN"),
    (480, 499, "MI"), (500, 528, "IA"), (530, 549, "WI"), (550, 567, "MN"),
    (569, 569, "DC"), (570, 577, "SD"), (580, 588, "ND"), (590, 599, "MT"),
    (600, 629, "IL"), (630, 658, "MO"), (660, 679, "KS"), (680, 693, "NE"),
    (700, 714, "LA"), (716, 729, "AR"), (730, 731, "OK"), (733, 733, "TX"),
    (734, 749, "OK"), (750, 799, "TX"), (800, 816, "CO"), (820, 831, "WY"),
    (832, 838, "ID"), (840, 847, "UT"), (850, 865, "AZ"), (870, 884, "NM"),
    (885, 885, "TX"), (889, 898, "NV"), (900, 961, "CA"), (962, 966, "AP"),
    (967, 968, "HI"), (969, 969, "GU"), (970, 979, "OR"), (980, 994, "WA"),
    (995, 999, "AK"),
)  # fmt: skip

US_STATES = {
    "AL": "Alabama", "AK": "Alaska", "AZ": "Arizona", "AR": "Arkansas",
    "CA": "California", "CO": "Colorado", "CT": "Connecticut", "DE": "Delaware",
    "DC": "District of Columbia", "FL": "Florida", "GA": "Georgia", "HI": "Hawaii",
    "ID": "Idaho", "IL": "Illinois", "IN": "Indiana", "IA": "Iowa", "KS": "Kansas",
    "KY": "Kentucky", "LA": "Louisiana", "ME": "Maine", "MD": "Maryland",
    "MA": "Massachusetts", "MI": "Michigan", "MN": "Minnesota", "MS": "Mississippi",
    "MO": "Missouri", "MT": "Montana", "NE": "Nebraska", "NV": "Nevada",
    "NH": "New Hampshire", "NJ": "New Jersey", "NM": "New Mexico", "NY": "New York",
    "NC": "North Carolina", "ND": "North Dakota", "OH": "Ohio", "OK": "Oklahoma",
    "OR": "Oregon", "PA": "Pennsylvania", "RI": "Rhode Island", "SC": "South Carolina",
    "SD": "South Dakota", "TN": "Tennessee", "TX": "Texas", "UT": "Utah",
    "VT": "Vermont", "VA": "Virginia", "WA": "Washington", "WV": "West Virginia",
    "WI": "Wisconsin", "WY": "Wyoming", "PR": "Puerto Rico", "VI": "US Virgin Islands",
    "GU": "Guam", "AA": "Armed Forces Americas", "AE": "Armed Forces Europe",
    "AP": "Armed Forces Pacific",
}  # fmt: skip

_ZIP = re.compile(r"^(\d{3})\d{2}(?:[- ]?\d{4})?$")
_UK_FULL = re.compile(r"^([A-Z]{1,2}\d[A-Z\d]?) ?\d[A-Z]{2}$")
_UK_OUTWARD = re.compile(r"^[A-Z]{1,2}\d[A-Z\d]?$")


@dataclass(frozen=True)
class PostalArea:
    kind: AreaKind
    code: str
    label: str


def us_state_from_zip(postal_code: str) -> str | None:
    """The USPS state code of a ZIP (or ZIP+4) code, or None."""
    found = _ZIP.match(postal_code.strip())
    if not found:
        return None
    prefix = int(found.group(1))
    for low, high, state in _ZIP3_RANGES:
        if low <= prefix <= high:
            return state
    return None


def uk_outward_code(postal_code: str) -> str | None:
    """The outward code (postcode district) of a UK postcode, or None."""
    value = " ".join(postal_code.upper().split())
    found = _UK_FULL.match(value)
    if found:
        return found.group(1)
    return value if _UK_OUTWARD.match(value) else None


def postal_area(*, country: str, postal_code: str) -> PostalArea | None:
    """The area a postal code lies in, where the data allows; None otherwise."""
    country = country.upper()
    if country == "US":
        state = us_state_from_zip(postal_code)
        return PostalArea("us_state", state, US_STATES[state]) if state else None
    if country == "GB":
        outward = uk_outward_code(postal_code)
        return PostalArea("uk_postcode_district", outward, outward) if outward else None
    return None
