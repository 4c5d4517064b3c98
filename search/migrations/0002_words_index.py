"""The index of the findings' words, which each database keeps its own way.

PostgreSQL: a GIN index on the stored ``tsvector``. SQLite: an FTS5 table (porter stemming, so "mentions"
finds "mention" as PostgreSQL's english configuration does) whose rowid is the finding's id, kept by triggers.
A later migration that alters search_finding on SQLite remakes the table, which drops its triggers: it must
create them again (SQLITE below).
"""

from django.db import migrations

POSTGRESQL = ["CREATE INDEX search_finding_words ON search_finding USING gin (words)"]
POSTGRESQL_UNDO = ["DROP INDEX IF EXISTS search_finding_words"]

SQLITE = [
    "CREATE VIRTUAL TABLE search_finding_fts USING fts5(words, tokenize = 'porter unicode61')",
    """CREATE TRIGGER search_finding_fts_insert AFTER INSERT ON search_finding BEGIN
        INSERT INTO search_finding_fts (rowid, words) VALUES (new.id, trim(new.label || ' ' || new.text));
    END""",
    """CREATE TRIGGER search_finding_fts_delete AFTER DELETE ON search_finding BEGIN
        DELETE FROM search_finding_fts WHERE rowid = old.id;
    END""",
    """CREATE TRIGGER search_finding_fts_update AFTER UPDATE OF label, text ON search_finding BEGIN
        UPDATE search_finding_fts SET words = trim(new.label || ' ' || new.text) WHERE rowid = new.id;
    END""",
]
SQLITE_UNDO = [
    "DROP TRIGGER IF EXISTS search_finding_fts_update",
    "DROP TRIGGER IF EXISTS search_finding_fts_delete",
    "DROP TRIGGER IF EXISTS search_finding_fts_insert",
    "DROP TABLE IF EXISTS search_finding_fts",
]


def run(statements_by_vendor):
    def apply(apps, schema_editor):
        for statement in statements_by_vendor.get(schema_editor.connection.vendor, []):
            schema_editor.execute(statement)

    return apply


class Migration(migrations.Migration):
    dependencies = [("search", "0001_initial")]

    operations = [
        migrations.RunPython(
            run({"postgresql": POSTGRESQL, "sqlite": SQLITE}),
            run({"postgresql": POSTGRESQL_UNDO, "sqlite": SQLITE_UNDO}),
        )
    ]
