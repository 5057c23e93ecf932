"""Services of the authority registry.

The registry (policies, their milestones, authorities) is reviewed data in
``data/authorities.yaml``; ``authorities_load`` makes the database match it.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import yaml
from django.core.exceptions import ValidationError
from django.db import models, transaction
from django.db.models import ProtectedError, RestrictedError

from petitio.authorities.models import Authority, Milestone, Power, ResponsePolicy
from petitio.authorities.schema import Registry, RegistryError, registry_validate

__all__ = [
    "DEFAULT_REGISTRY_PATH",
    "LoadReport",
    "RegistryError",
    "authorities_load",
    "registry_read",
]

DEFAULT_REGISTRY_PATH = Path(__file__).resolve().parent / "data" / "authorities.yaml"

_M = TypeVar("_M", bound=models.Model)


@dataclass(slots=True)
class LoadReport:
    """What a load did, counted in rows (policies, milestones and authorities together)."""

    path: Path
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    deleted: int = 0

    def __str__(self) -> str:
        return (
            f"Loaded {self.path}: {self.created} created, {self.updated} updated, "
            f"{self.unchanged} unchanged, {self.deleted} deleted."
        )


def registry_read(*, path: Path) -> Registry:
    """Read and validate a registry file without touching the database."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise RegistryError(f"{path}: cannot read the file ({exc.strerror or exc})") from exc
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise RegistryError(f"{path}: not valid YAML: {exc}") from exc
    return registry_validate(data)


def authorities_load(*, path: Path | None = None) -> LoadReport:
    """Make the database match the registry file; all or nothing, and idempotent.

    Policies and authorities are matched by slug, milestones by (policy, kind).
    Rows whose values already match are not written, so a second load reports
    everything unchanged. A milestone whose kind has left a policy's data is
    deleted, unless something (a milestone a petition has reached) still refers
    to it. Policies and authorities missing from the file are left alone:
    petitions refer to them, and removing one is a decision, not a sync.

    Each authority's powers are matched by action; a power no longer in the
    data is deleted.
    """
    path = path or DEFAULT_REGISTRY_PATH
    registry = registry_read(path=path)
    report = LoadReport(path=path)
    with transaction.atomic():
        policies: dict[str, ResponsePolicy] = {}
        for index, spec in enumerate(registry.policies):
            where = f"policies[{index}]"
            policy = _upsert(
                ResponsePolicy,
                report,
                where=where,
                lookup={"slug": spec.slug},
                values={
                    "name": spec.name,
                    "description": spec.description,
                    "requires_moderation": spec.requires_moderation,
                    "supporters_needed": spec.supporters_needed,
                    "open_months": spec.open_months,
                    "open_days": spec.open_days,
                    "late_confirmation_hours": spec.late_confirmation_hours,
                    "eligibility": spec.eligibility,
                },
            )
            policies[spec.slug] = policy
            for m_index, milestone in enumerate(spec.milestones):
                _upsert(
                    Milestone,
                    report,
                    where=f"{where}.milestones[{m_index}]",
                    lookup={"policy_id": policy.pk, "kind": milestone.kind},
                    values={
                        "signatures": milestone.signatures,
                        "window_days": milestone.window_days,
                        "response_days": milestone.response_days,
                        "per_million": milestone.per_million,
                        "ceiling": milestone.ceiling,
                    },
                )
            _milestones_prune(
                policy, keep={m.kind for m in spec.milestones}, where=where, report=report
            )

        for index, authority in enumerate(registry.authorities):
            population = authority.population
            stored = _upsert(
                Authority,
                report,
                where=f"authorities[{index}]",
                lookup={"slug": authority.slug},
                values={
                    "name": authority.name,
                    "kind": authority.kind,
                    "country": authority.country,
                    "region": authority.region,
                    "city": authority.city,
                    "population": population.count if population else None,
                    "population_source": population.source if population else "",
                    "population_year": population.year if population else None,
                    "time_zone": authority.time_zone,
                    "contact_email": authority.contact_email,
                    "policy_id": policies[authority.policy].pk,
                    "description": authority.description,
                },
            )
            for p_index, power in enumerate(authority.powers):
                _upsert(
                    Power,
                    report,
                    where=f"authorities[{index}].powers[{p_index}]",
                    lookup={"authority_id": stored.pk, "action": power.action},
                    values={
                        "courts": list(power.courts),
                        "scope": power.scope,
                        "citation": power.citation,
                        "source_url": power.source_url,
                        "confirmed": power.confirmed,
                    },
                )
            stale = Power.objects.filter(authority=stored).exclude(
                action__in=[power.action for power in authority.powers]
            )
            report.deleted += stale.delete()[0]
    return report


def _milestones_prune(
    policy: ResponsePolicy, *, keep: set[str], where: str, report: LoadReport
) -> None:
    stale = Milestone.objects.filter(policy=policy).exclude(kind__in=keep)
    kinds = sorted(stale.values_list("kind", flat=True))
    if not kinds:
        return
    try:
        _, per_model = stale.delete()
    except (ProtectedError, RestrictedError) as exc:
        if isinstance(exc, ProtectedError):
            blocking = exc.protected_objects
        else:
            blocking = exc.restricted_objects
        raise RegistryError(
            f"{where}.milestones: cannot remove the {', '.join(kinds)} milestone(s) of policy "
            f"{policy.slug!r}: {len(set(blocking))} record(s) still refer to them (milestones "
            f"petitions have already reached). Keep the milestone in the data, or use a new "
            f"policy for the changed rules."
        ) from exc
    report.deleted += per_model.get(Milestone._meta.label, 0)


def _upsert(
    model: type[_M],
    report: LoadReport,
    *,
    where: str,
    lookup: dict[str, Any],
    values: dict[str, Any],
) -> _M:
    """Create or update one row, and write only when a value differs.

    Like ``update_or_create``, but an unchanged row is not saved at all, so a
    repeated load writes nothing and its report says so.
    """
    obj = model._default_manager.select_for_update().filter(**lookup).first()
    if obj is None:
        obj = model(**lookup, **values)
        _model_check(obj, where)
        obj.save(force_insert=True)
        report.created += 1
        return obj
    changed = [name for name, value in values.items() if getattr(obj, name) != value]
    if not changed:
        report.unchanged += 1
        return obj
    for name in changed:
        setattr(obj, name, values[name])
    _model_check(obj, where)
    obj.save(update_fields=[model._meta.get_field(name).name for name in changed])
    report.updated += 1
    return obj


def _model_check(obj: models.Model, where: str) -> None:
    """Run the model's own field validation, which SQLite would not enforce (lengths)."""
    try:
        obj.full_clean(validate_unique=False, validate_constraints=False)
    except ValidationError as exc:
        raise RegistryError(
            [
                f"{where}.{field}: {message}"
                for field, messages in exc.message_dict.items()
                for message in messages
            ]
        ) from exc
