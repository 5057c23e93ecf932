"""Can the addressed authorities do what a petition asks? Checked before anyone signs.

A structured request names an action (pardon, commute) and the convicting
court. An authority can grant it when one of its powers for that action
lists the court. When none of the addressees can, the creator is told the
rule that applies (with its citation) and which authorities can act.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field

from django_countries import countries  # noqa: F401  (keeps country names loaded for labels)

from petitio.authorities.models import Authority, Power
from petitio.authorities.schema import FEDERAL_COURTS

US_STATES = {
    "AL": "Alabama", "AK": "Alaska", "AZ": "Arizona", "AR": "Arkansas", "CA": "California",
    "CO": "Colorado", "CT": "Connecticut", "DE": "Delaware", "FL": "Florida", "GA": "Georgia",
    "HI": "Hawaii", "ID": "Idaho", "IL": "Illinois", "IN": "Indiana", "IA": "Iowa",
    "KS": "Kansas", "KY": "Kentucky", "LA": "Louisiana", "ME": "Maine", "MD": "Maryland",
    "MA": "Massachusetts", "MI": "Michigan", "MN": "Minnesota", "MS": "Mississippi",
    "MO": "Missouri", "MT": "Montana", "NE": "Nebraska", "NV": "Nevada", "NH": "New Hampshire",
    "NJ": "New Jersey", "NM": "New Mexico", "NY": "New York", "NC": "North Carolina",
    "ND": "North Dakota", "OH": "Ohio", "OK": "Oklahoma", "OR": "Oregon", "PA": "Pennsylvania",
    "RI": "Rhode Island", "SC": "South Carolina", "SD": "South Dakota", "TN": "Tennessee",
    "TX": "Texas", "UT": "Utah", "VT": "Vermont", "VA": "Virginia", "WA": "Washington",
    "WV": "West Virginia", "WI": "Wisconsin", "WY": "Wyoming",
}  # fmt: skip

FEDERAL_COURT_LABELS = {
    "us-district": "a US District Court (a federal conviction)",
    "dc-superior": "the Superior Court of the District of Columbia",
    "court-martial": "a military court-martial",
}
assert set(FEDERAL_COURT_LABELS) == set(FEDERAL_COURTS)

REQUEST_ACTIONS = {"pardon": "a pardon", "commute": "a commutation of sentence"}


def court_choices() -> list[tuple[str, str]]:
    return [
        *FEDERAL_COURT_LABELS.items(),
        *((f"state:{code}", f"a court of the State of {name}") for code, name in US_STATES.items()),
    ]


def court_label(code: str) -> str:
    if code in FEDERAL_COURT_LABELS:
        return FEDERAL_COURT_LABELS[code]
    if code.startswith("state:") and code[6:] in US_STATES:
        return f"a court of the State of {US_STATES[code[6:]]}"
    return "an unknown court"


@dataclass(frozen=True)
class AddresseeFinding:
    authority: Authority
    power: Power | None  # the power for the requested action, if it holds one
    can_act: bool
    explanation: str


@dataclass(frozen=True)
class JurisdictionCheck:
    action: str
    court: str
    findings: list[AddresseeFinding]
    can_act_instead: list[Power] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return any(finding.can_act for finding in self.findings)

    def summary(self) -> str:
        """The refusal in one paragraph, for messages and errors."""
        if self.passed:
            return ""
        reasons = " ".join(f.explanation for f in self.findings)
        who = ", ".join(p.authority.name for p in self.can_act_instead)
        return reasons + (f" Who can act: {who}." if who else "")


def _explain(authority: Authority, power: Power | None, action: str, court: str) -> str:
    wanted = REQUEST_ACTIONS.get(action, action)
    if power is None:
        return f"{authority.name} holds no power to grant {wanted}."
    if court in power.courts:
        note = "" if power.confirmed else " (this rule's source is not yet confirmed)"
        return (
            f"{authority.name} can grant {wanted} for a conviction in {court_label(court)}: "
            f"{power.scope} ({power.citation}){note}."
        )
    note = "" if power.confirmed else " (this rule's source is not yet confirmed)"
    return (
        f"{authority.name} cannot grant {wanted} for a conviction in {court_label(court)}. "
        f"Its power covers only: {power.scope} ({power.citation}).{note}"
    )


def jurisdiction_check(
    *, action: str, court: str, authorities: Iterable[Authority]
) -> JurisdictionCheck:
    """Which addressees can grant ``action`` for a conviction in ``court``, and who else can."""
    addressed = list(authorities)
    powers = {
        (p.authority_id, p.action): p
        for p in Power.objects.filter(authority__in=addressed, action=action)
    }
    findings = []
    for authority in addressed:
        power = powers.get((authority.pk, action))
        can_act = power is not None and court in power.courts
        findings.append(
            AddresseeFinding(authority, power, can_act, _explain(authority, power, action, court))
        )
    check = JurisdictionCheck(action=action, court=court, findings=findings)
    if not check.passed:
        check.can_act_instead.extend(
            p
            for p in Power.objects.filter(action=action).select_related("authority")
            if court in p.courts and p.authority not in addressed
        )
    return check


_CLEMENCY_WORDS = re.compile(
    r"(?i:\b(pardons?|pardon(ed|ing)|clemency|commut(e|es|ed|ing|ation)|exonerat(e|es|ed|ing|ion))\b)"
    r"|(?i:\b(free|release)\s+)(?!(?i:school|public|speech|parking|tuition|transport|"
    r"health|care|meals?|wifi|access|of|from|up|the|a|an)\b)"
    r"((?i:him|her|them)\b|[A-Z][a-z]+\s+[A-Z][a-z]+)"
)


def clemency_request_detect(text: str) -> bool:
    """A light check: does free text look like a pardon or clemency request?

    It only prompts the creator to fill in the structured request; they can
    decline. "free" and "release" count only before a pronoun or a name, so
    "free school meals" is not taken for a pardon.
    """
    return bool(_CLEMENCY_WORDS.search(text))
