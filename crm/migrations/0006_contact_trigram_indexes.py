"""PostgreSQL only: trigram indexes for the contact search's "contains" filters (R11; a search of 100,000 contacts stays fast).

`icontains` is `UPPER(col::text) LIKE UPPER('%word%')` on PostgreSQL, which no B-tree index can
serve: over 100,000 contacts each filtered search scanned the table twice (the page and its
COUNT). A GIN index with `gin_trgm_ops` on the same expression serves both. pg_trgm is a trusted
extension (PostgreSQL 13+): the database's owner may create it. Where it cannot be created, the
search works as before (scans) and a warning says why; SQLite is left alone (its LIKE cannot use
such an index anyway).
"""

import logging

from django.db import DatabaseError, migrations, transaction

logger = logging.getLogger(__name__)

COLUMNS = ("first_name", "last_name", "email", "city")


def create(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    try:
        with transaction.atomic(using=schema_editor.connection.alias), schema_editor.connection.cursor() as cursor:
            cursor.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
            for column in COLUMNS:
                cursor.execute(
                    f'CREATE INDEX IF NOT EXISTS "contact_{column}_trgm_idx" ON "crm_contact" '
                    f'USING gin ((UPPER("{column}"::text)) gin_trgm_ops)'
                )
    except DatabaseError as exc:
        logger.warning("Contact search without trigram indexes (pg_trgm unavailable): %s", exc)


def drop(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    with schema_editor.connection.cursor() as cursor:
        for column in COLUMNS:
            cursor.execute(f'DROP INDEX IF EXISTS "contact_{column}_trgm_idx"')


class Migration(migrations.Migration):
    dependencies = [("crm", "0005_contact_person_order_index")]

    operations = [migrations.RunPython(create, drop)]
