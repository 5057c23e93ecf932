"""``petitio authorities load [--file PATH]``: load the authority registry."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from petitio.authorities.services import (
    DEFAULT_REGISTRY_PATH,
    RegistryError,
    authorities_load,
)


class Command(BaseCommand):
    help = "Manage the authority registry (policies, milestones, authorities)."

    def add_arguments(self, parser: CommandParser) -> None:
        actions = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
        load = actions.add_parser(
            "load",
            help="Validate the registry file and make the database match it.",
            description=(
                "Validate the registry file, then create or update its policies, milestones "
                "and authorities in one transaction. Loading twice changes nothing."
            ),
        )
        load.add_argument(
            "--file",
            type=Path,
            default=None,
            metavar="PATH",
            help=f"Registry file to load (default: {DEFAULT_REGISTRY_PATH}).",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if options["action"] == "load":
            self._load(path=options.get("file"))

    def _load(self, *, path: Path | str | None) -> None:
        path = Path(path) if path is not None else None
        try:
            report = authorities_load(path=path)
        except RegistryError as exc:
            shown = path or DEFAULT_REGISTRY_PATH
            problems = "\n".join(f"  {error}" for error in exc.errors)
            raise CommandError(f"registry not loaded, {shown} has problems:\n{problems}") from exc
        self.stdout.write(self.style.SUCCESS(str(report)))
