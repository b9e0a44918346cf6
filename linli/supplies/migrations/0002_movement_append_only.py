"""The database itself refuses to change a ledger line, whatever code or console tries it."""

from django.db import migrations

SQLITE = [
    """CREATE TRIGGER supplies_movement_append_only BEFORE UPDATE ON supplies_movement
    BEGIN SELECT RAISE(ABORT, 'supplies_movement is append-only'); END""",
]
SQLITE_DROP = ["DROP TRIGGER IF EXISTS supplies_movement_append_only"]
POSTGRES = [
    """CREATE OR REPLACE FUNCTION supplies_movement_append_only() RETURNS trigger AS $$
    BEGIN RAISE EXCEPTION 'supplies_movement is append-only'; END; $$ LANGUAGE plpgsql""",
    """CREATE TRIGGER supplies_movement_append_only BEFORE UPDATE ON supplies_movement
    FOR EACH ROW EXECUTE FUNCTION supplies_movement_append_only()""",
]
POSTGRES_DROP = [
    "DROP TRIGGER IF EXISTS supplies_movement_append_only ON supplies_movement",
    "DROP FUNCTION IF EXISTS supplies_movement_append_only()",
]


def _run(statements: dict[str, list[str]]):  # type: ignore[no-untyped-def]
    def run(apps, schema_editor):  # type: ignore[no-untyped-def]
        for sql in statements.get(schema_editor.connection.vendor, []):
            schema_editor.execute(sql)

    return run


class Migration(migrations.Migration):
    dependencies = [("supplies", "0001_initial")]

    operations = [
        migrations.RunPython(
            _run({"sqlite": SQLITE, "postgresql": POSTGRES}),
            _run({"sqlite": SQLITE_DROP, "postgresql": POSTGRES_DROP}),
        )
    ]
