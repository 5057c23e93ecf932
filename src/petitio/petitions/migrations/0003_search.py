"""Similar-petition search (see petitio.petitions.search).

SQLite: an FTS5 table ``petitions_petition_fts`` kept in sync by triggers,
filled from the existing petitions. PostgreSQL: the pg_trgm extension, a GIN
index on the weighted tsvector the search ranks with and a trigram GIN index on
the action. Written by hand; reversible.
"""

from django.db import migrations

from petitio.petitions import search


def install(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    with schema_editor.connection.cursor() as cursor:
        if vendor == "sqlite":
            search.sqlite_fts_install(cursor)
        elif vendor == "postgresql":
            for statement in search.PG_INSTALL:
                cursor.execute(statement)


def uninstall(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    with schema_editor.connection.cursor() as cursor:
        if vendor == "sqlite":
            search.sqlite_fts_uninstall(cursor)
        elif vendor == "postgresql":
            for statement in search.PG_UNINSTALL:
                cursor.execute(statement)


class Migration(migrations.Migration):
    dependencies = [
        ("petitions", "0002_jurisdiction"),
    ]

    operations = [migrations.RunPython(install, uninstall, elidable=False)]
