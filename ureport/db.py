"""Tortoise configuration, migrations and bulk writes for SQLite (embedded) and PostgreSQL (production)."""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from tortoise import Tortoise
from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.migrations.api import migrate as tortoise_migrate
from tortoise.models import Model

# SQLite: WAL lets readers run beside the one writer; NORMAL sync survives a process crash
# (the last commits may be lost on power loss: SQLite's documented trade-off).
SQLITE_PRAGMAS = "journal_mode=WAL&synchronous=NORMAL&busy_timeout=5000"


def database_url(url: str) -> str:
    """Add our SQLite pragmas to a sqlite:// URL."""
    if not is_sqlite(url) or url == "sqlite://:memory:":
        return url
    separator = "&" if "?" in url else "?"
    return url + separator + SQLITE_PRAGMAS


def _ensure_directory(url: str) -> None:
    if is_sqlite(url) and url != "sqlite://:memory:":
        Path(url.removeprefix("sqlite://").split("?", 1)[0]).parent.mkdir(parents=True, exist_ok=True)


def tortoise_config(url: str) -> dict[str, Any]:
    """The one Tortoise config every entry point (server, CLI, tests) uses."""
    return {
        "connections": {"default": database_url(url)},
        "apps": {
            "models": {
                "models": ["ureport.models"],
                "default_connection": "default",
                "migrations": "ureport.migrations",
            }
        },
        "use_tz": True,
        "timezone": "UTC",
    }


def is_sqlite(url: str) -> bool:
    return url.startswith("sqlite://")


async def migrate(url: str) -> None:
    """Apply every pending migration, then close the connections the migration opened."""
    _ensure_directory(url)
    try:
        await tortoise_migrate(config=tortoise_config(url))
    finally:
        await Tortoise.close_connections()


async def init(url: str) -> None:
    """Open the ORM for a command-line task (the server uses RegisterTortoise in its lifespan)."""
    _ensure_directory(url)
    await Tortoise.init(config=tortoise_config(url), _enable_global_fallback=True)


async def close() -> None:
    await Tortoise.close_connections()


async def update_rows(
    model: type[Model], objects: Iterable[Model], fields: Sequence[str], conn: BaseDBAsyncClient
) -> None:
    """One prepared UPDATE executed for every object (executemany).

    Tortoise's bulk_update renders a CASE expression per field and row through pypika, which costs
    several times more than the database work itself at a few hundred rows.
    """
    meta = model._meta
    columns = [meta.fields_db_projection[name] for name in fields]
    if conn.capabilities.dialect == "postgres":
        marks = [f"${i}" for i in range(1, len(columns) + 2)]
    else:
        marks = ["?"] * (len(columns) + 1)
    assignments = ", ".join(f'"{column}" = {mark}' for column, mark in zip(columns, marks, strict=False))
    sql = f'UPDATE "{meta.db_table}" SET {assignments} WHERE "{meta.db_pk_column}" = {marks[-1]}'  # noqa: S608
    converters = [meta.fields_map[name] for name in fields]
    pk = meta.fields_map[meta.pk_attr]
    values = [
        [field.to_db_value(getattr(obj, name), obj) for field, name in zip(converters, fields, strict=True)]
        + [pk.to_db_value(obj.pk, obj)]
        for obj in objects
    ]
    await conn.execute_many(sql, values)


async def insert_rows(model: type[Model], rows: Sequence[Mapping[str, Any]], conn: BaseDBAsyncClient) -> None:
    """One prepared INSERT executed for every row (executemany), from plain column values.

    Building a Tortoise object per row costs more than the insert itself on the hot path (replies);
    values go through each field's own to_db_value, exactly as the ORM would write them.
    """
    if not rows:
        return
    meta = model._meta
    names = list(rows[0])
    columns = ", ".join(f'"{meta.fields_db_projection[name]}"' for name in names)
    postgres = conn.capabilities.dialect == "postgres"
    marks = ", ".join(f"${i}" if postgres else "?" for i in range(1, len(names) + 1))
    sql = f'INSERT INTO "{meta.db_table}" ({columns}) VALUES ({marks})'  # noqa: S608
    fields = [meta.fields_map[name] for name in names]
    values = [[f.to_db_value(row[n], model) for f, n in zip(fields, names, strict=True)] for row in rows]
    await conn.execute_many(sql, values)


# For Tortoise's own CLI (`tortoise -c ureport.db.TORTOISE_ORM makemigrations`).
TORTOISE_ORM = tortoise_config(
    os.environ.get("UREPORT_DATABASE_URL") or "sqlite://ureport-data/ureport.sqlite3"
)
