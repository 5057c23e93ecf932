"""``petitio partner create NAME | revoke ID | list``: partner sites' API keys."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser

from petitio.api.models import PartnerKey, Scope
from petitio.api.services import partner_key_create, partner_key_revoke


class Command(BaseCommand):
    help = "Register partner sites that submit signatures through the API, and revoke their keys."

    def add_arguments(self, parser: CommandParser) -> None:
        actions = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
        create = actions.add_parser(
            "create",
            help="Register a partner and print its API key (shown only this once).",
        )
        create.add_argument("name", help="The partner's name, e.g. 'Daily Gazette'.")
        create.add_argument(
            "--scope",
            dest="scopes",
            action="append",
            choices=Scope.values,
            help=f"What the key may do (repeatable; default: {Scope.SIGNATURES_WRITE}).",
        )
        create.add_argument(
            "--rate-limit",
            type=int,
            default=60,
            metavar="N",
            help="Calls a minute the key may make (default: 60).",
        )
        revoke = actions.add_parser("revoke", help="Revoke a partner's key for good.")
        revoke.add_argument("id", type=int, help="The key's id (see `petitio partner list`).")
        actions.add_parser("list", help="List partners and their keys' prefixes.")

    def handle(self, *args: Any, **options: Any) -> None:
        if options["action"] == "create":
            self._create(options)
        elif options["action"] == "revoke":
            self._revoke(options["id"])
        else:
            self._list()

    def _create(self, options: dict[str, Any]) -> None:
        try:
            partner, key = partner_key_create(
                name=options["name"],
                scopes=options["scopes"] or [Scope.SIGNATURES_WRITE],
                rate_limit_per_minute=options["rate_limit"],
            )
        except ValidationError as invalid:
            problems = "; ".join(f"{f}: {' '.join(m)}" for f, m in invalid.message_dict.items())
            raise CommandError(problems) from invalid
        self.stdout.write(
            self.style.SUCCESS(f"Partner {partner.name} registered (id {partner.pk}).")
        )
        self.stdout.write("API key (shown only now; it is stored as a hash):")
        self.stdout.write(key)

    def _revoke(self, partner_id: int) -> None:
        partner = PartnerKey.objects.filter(pk=partner_id).first()
        if partner is None:
            raise CommandError(f"No partner key has id {partner_id}.")
        partner = partner_key_revoke(partner=partner)
        self.stdout.write(
            self.style.SUCCESS(
                f"Key {partner.key_prefix} of {partner.name} revoked at "
                f"{partner.revoked_at:%Y-%m-%d %H:%M} UTC."
            )
        )

    def _list(self) -> None:
        for partner in PartnerKey.objects.all():
            state = f"revoked {partner.revoked_at:%Y-%m-%d}" if partner.revoked_at else "active"
            self.stdout.write(
                f"{partner.pk}\t{partner.name}\tptk_{partner.key_prefix}_…\t"
                f"{','.join(partner.scopes)}\t{partner.rate_limit_per_minute}/min\t{state}"
            )
