from django.apps import AppConfig
from django.db.models.signals import post_migrate


def _search_index_repair(sender: AppConfig, using: str = "default", **kwargs: object) -> None:
    """A later migration that copies the petitions table on SQLite drops the
    search triggers; put them back right after migrating."""
    from django.db import connections

    from petitio.petitions.search import sqlite_fts_repair

    if connections[using].vendor == "sqlite" and "petitions_petition" in (
        connections[using].introspection.table_names()
    ):
        sqlite_fts_repair()


class PetitionsConfig(AppConfig):
    name = "petitio.petitions"

    def ready(self) -> None:
        from petitio.petitions import emails  # noqa: F401  (registers email kinds)

        post_migrate.connect(_search_index_repair, sender=self)
