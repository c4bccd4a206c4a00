"""Restore flow_run's (contact_id, status) index on SQLite.

0005 altered flow_run.status; on SQLite Tortoise does that by rebuilding the table, and the rebuild
dropped the index 0001 created, so every read of a contact's runs scanned the whole table. PostgreSQL
kept it (ALTER COLUMN), hence IF NOT EXISTS under Tortoise's own name for it: one index on both.
"""

from tortoise import migrations
from tortoise.migrations import operations as ops


class Migration(migrations.Migration):
    dependencies = [('models', '0007_staff_actions')]

    initial = False

    operations = [
        ops.RunSQL(
            'CREATE INDEX IF NOT EXISTS "idx_flow_run_contact_300acd" ON "flow_run" ("contact_id", "status")',
            reverse_sql=ops.RunSQL.noop,
        ),
    ]
