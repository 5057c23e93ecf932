from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from petitio.petitions.demo import DEMO_PASSWORD, demo_load


class Command(BaseCommand):
    help = "Load the demo petitions, signatures and staff accounts (idempotent)."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("action", choices=["load"])

    def handle(self, *args: Any, **options: Any) -> None:
        loaded = demo_load()
        self.stdout.write(f"Demo data: {len(loaded)} petitions added.")
        self.stdout.write(
            "Staff accounts (password "
            f"'{DEMO_PASSWORD}'): moderator, official-us, official-uk, official-wi"
        )
