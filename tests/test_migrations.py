"""The committed migrations build the schema the models declare: every index and unique constraint a
model asks for exists in a freshly migrated database, on SQLite and on PostgreSQL.

On SQLite, Tortoise alters a column by rebuilding its table; the rebuild of flow_run in 0005 dropped
the (contact_id, status) index, and every read of a contact's runs became a scan of the whole table.
"""

from __future__ import annotations

from typing import Any

import pytest
from tortoise import Tortoise
from tortoise.connection import connections
from tortoise.indexes import Index

pytestmark = pytest.mark.anyio

PG_INDEXES = """
SELECT t.relname, array_agg(a.attname ORDER BY k.n)
FROM pg_index i
JOIN pg_class t ON t.oid = i.indrelid
JOIN pg_namespace s ON s.oid = t.relnamespace AND s.nspname = 'public'
CROSS JOIN LATERAL unnest(i.indkey) WITH ORDINALITY AS k(attnum, n)
JOIN pg_attribute a ON a.attrelid = t.oid AND a.attnum = k.attnum
GROUP BY t.relname, i.indexrelid
"""


def _column(model: Any, name: str) -> str:
    """A field's column: a foreign key's relation name stands for its `_id` column."""
    column = model._meta.fields_db_projection.get(name) or model._meta.fields_map[name].source_field
    return str(column)


def declared() -> set[tuple[str, tuple[str, ...]]]:
    """(table, leading columns) of every index the models ask for, unique or not, primary keys aside."""
    wanted: set[tuple[str, tuple[str, ...]]] = set()
    for model in Tortoise.apps["models"].values():
        meta = model._meta
        for index in meta.indexes:
            names = index.fields if isinstance(index, Index) else index
            wanted.add((meta.db_table, tuple(_column(model, n) for n in names)))
        for together in meta.unique_together:
            wanted.add((meta.db_table, tuple(_column(model, n) for n in together)))
        for name, field in meta.fields_map.items():
            if not field.pk and (field.index or field.unique) and name in meta.fields_db_projection:
                wanted.add((meta.db_table, (meta.fields_db_projection[name],)))
    return wanted


async def existing() -> set[tuple[str, tuple[str, ...]]]:
    conn = connections.get("default")
    if conn.capabilities.dialect == "postgres":
        _, rows = await conn.execute_query(PG_INDEXES)
        return {(row[0], tuple(row[1])) for row in rows}
    _, names = await conn.execute_query("SELECT name, tbl_name FROM sqlite_master WHERE type = 'index'")
    found = set()
    for name, table in ((row[0], row[1]) for row in names):
        _, columns = await conn.execute_query(f'PRAGMA index_info("{name}")')
        found.add((table, tuple(c[2] for c in sorted(columns, key=lambda c: c[0]))))
    return found


async def test_every_declared_index_exists_after_migrating(database: str) -> None:
    missing = declared() - await existing()
    assert not missing, f"indexes the models declare but the migrations did not build: {sorted(missing)}"


async def test_runs_of_a_contact_are_found_by_index(database: str) -> None:
    conn = connections.get("default")
    if conn.capabilities.dialect != "sqlite":
        pytest.skip("the query plan checked is SQLite's")
    _, plan = await conn.execute_query(
        'EXPLAIN QUERY PLAN SELECT "id" FROM "flow_run" WHERE "contact_id" IN (?, ?)', ["a", "b"]
    )
    assert any("USING INDEX" in str(row[3]) for row in plan), plan
