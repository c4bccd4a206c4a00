"""Tortoise configuration, migrations and bulk writes for SQLite (embedded) and PostgreSQL (production)."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import datetime
from functools import partial
from pathlib import Path
from typing import Any, TypeVar

from tortoise import Tortoise
from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.backends.base.config_generator import expand_db_url
from tortoise.connection import connections
from tortoise.fields import DatetimeField
from tortoise.migrations.api import migrate as tortoise_migrate
from tortoise.models import Model
from tortoise.queryset import QuerySet
from tortoise.transactions import in_transaction

from ureport.sqlite_backend import LockingSqliteClient

M = TypeVar("M", bound=Model)

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


def connection_config(url: str) -> str | dict[str, Any]:
    """PostgreSQL by URL; SQLite through our client (ureport.sqlite_backend), which lets several
    processes write one file: transactions begin IMMEDIATE under a lock that wakes waiters at once."""
    if not is_sqlite(url):
        return url
    config = expand_db_url(database_url(url))
    config["engine"] = "ureport.sqlite_backend"
    return config


def tortoise_config(url: str) -> dict[str, Any]:
    """The one Tortoise config every entry point (server, CLI, tests) uses."""
    return {
        "connections": {"default": connection_config(url)},
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
    postgres = conn.capabilities.dialect == "postgres"
    marks = [_mark(postgres, i) for i in range(1, len(columns) + 2)]
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


async def update_in(
    model: type[Model],
    ids: Sequence[Any],
    values: Mapping[str, Any],
    conn: BaseDBAsyncClient,
    *,
    where: Mapping[str, Any] | None = None,
) -> int:
    """`UPDATE ... SET values WHERE pk IN ids [AND field = value ...]` as one statement, without building
    it through pypika (whose IN list of a few hundred ids cost more than the update on the hot path).
    Returns how many rows it changed."""
    if not ids:
        return 0
    meta = model._meta
    where = where or {}
    names, conditions = list(values), list(where)
    postgres = conn.capabilities.dialect == "postgres"
    marks = [_mark(postgres, i) for i in range(1, len(names) + len(conditions) + len(ids) + 1)]

    def equal(name: str, mark: str) -> str:
        return f'"{meta.fields_db_projection[name]}" = {mark}'

    assignments = ", ".join(equal(name, mark) for name, mark in zip(names, marks, strict=False))
    tests = [equal(name, mark) for name, mark in zip(conditions, marks[len(names) :], strict=False)]
    tests.append(f'"{meta.db_pk_column}" IN ({", ".join(marks[len(names) + len(conditions) :])})')
    sql = f'UPDATE "{meta.db_table}" SET {assignments} WHERE {" AND ".join(tests)}'  # noqa: S608
    pk = meta.fields_map[meta.pk_attr]
    params = [meta.fields_map[name].to_db_value(values[name], model) for name in names]
    params += [meta.fields_map[name].to_db_value(where[name], model) for name in conditions]
    changed, _ = await conn.execute_query(sql, params + [pk.to_db_value(i, model) for i in ids])
    return changed


async def insert_rows_atomically(
    model: type[Model], rows: Sequence[Mapping[str, Any]], *, ignore_conflicts: bool = False
) -> None:
    """insert_rows() in a transaction of its own; on SQLite in one trip to the database thread
    (ureport.sqlite_backend.write_batch), so the writer lock is held only while the rows are written."""
    conn = connections.get("default")
    if isinstance(conn, LockingSqliteClient):
        sql, values = insert_statement(model, rows, "sqlite", ignore_conflicts=ignore_conflicts)
        await conn.write_batch([(sql, values)])
        return
    async with in_transaction() as tx:
        await insert_rows(model, rows, tx, ignore_conflicts=ignore_conflicts)


async def insert_rows(
    model: type[Model],
    rows: Sequence[Mapping[str, Any]],
    conn: BaseDBAsyncClient,
    *,
    ignore_conflicts: bool = False,
) -> None:
    """One prepared INSERT executed for every row (executemany), from plain column values.

    Building a Tortoise object per row costs more than the insert itself on the hot path (replies,
    the inbox); values go through each field's own to_db_value, exactly as the ORM would write them.
    Every row names the same fields; fields left out get NULL (Python-side defaults do not apply).
    `ignore_conflicts` skips rows that break a unique constraint (ON CONFLICT DO NOTHING), as
    bulk_create(ignore_conflicts=True) does.
    """
    if not rows:
        return
    sql, values = insert_statement(model, rows, conn.capabilities.dialect, ignore_conflicts=ignore_conflicts)
    await conn.execute_many(sql, values)


def insert_statement(
    model: type[Model], rows: Sequence[Mapping[str, Any]], dialect: str, *, ignore_conflicts: bool
) -> tuple[str, list[list[Any]]]:
    """The prepared INSERT of insert_rows() and each row's values, converted as the ORM would."""
    meta = model._meta
    names = list(rows[0])
    columns = ", ".join(f'"{meta.fields_db_projection[name]}"' for name in names)
    marks = ", ".join(_mark(dialect == "postgres", i) for i in range(1, len(names) + 1))
    sql = f'INSERT INTO "{meta.db_table}" ({columns}) VALUES ({marks})'  # noqa: S608
    if ignore_conflicts:
        sql += " ON CONFLICT DO NOTHING"
    fields = [meta.fields_map[name] for name in names]
    values = [[f.to_db_value(row[n], model) for f, n in zip(fields, names, strict=True)] for row in rows]
    return sql, values


_OPERATORS = {"": "=", "in": "IN", "gt": ">", "gte": ">=", "lt": "<", "lte": "<="}


async def fetch_where(
    model: type[M],
    fields: Sequence[str],
    conn: BaseDBAsyncClient,
    *,
    where: Mapping[str, Any],
    order_by: str | None = None,
    limit: int | None = None,
    lock: str = "",
) -> list[M]:
    """fetch_partial() for the hot paths' simple queries, with the SQL written here, not by pypika.

    `where` takes Tortoise's filter names (`status`, `id__in`, `id__gt`, `updated_at__gte`, ...), all
    ANDed; `order_by` a field name, `-` first for descending; `lock` (`FOR UPDATE`, ...) applies on
    PostgreSQL only. Building a queryset's SQL through pypika cost about as much as running it, for
    the few rows a batch reads; the values are converted by each field as the ORM would."""
    meta = model._meta
    postgres = conn.capabilities.dialect == "postgres"
    tests: list[str] = []
    params: list[Any] = []
    for name, value in where.items():
        field_name, _, operator = name.partition("__")
        column = f'"{meta.fields_db_projection[field_name]}"'
        convert = meta.fields_map[field_name].to_db_value
        if operator == "in":
            if not value:
                return []
            marks = [_mark(postgres, len(params) + i) for i in range(1, len(value) + 1)]
            tests.append(f"{column} IN ({', '.join(marks)})")
            params += [convert(v, model) for v in value]
        else:
            params.append(convert(value, model))
            tests.append(f"{column} {_OPERATORS[operator]} {_mark(postgres, len(params))}")
    columns = ", ".join(_column_as(meta.fields_db_projection[name], name) for name in fields)
    sql = f'SELECT {columns} FROM "{meta.db_table}"'  # noqa: S608
    if tests:
        sql += " WHERE " + " AND ".join(tests)
    if order_by:
        descending = order_by.startswith("-")
        sql += f' ORDER BY "{meta.fields_db_projection[order_by.lstrip("-")]}"' + (
            " DESC" if descending else ""
        )
    if limit is not None:
        sql += f" LIMIT {int(limit)}"
    if lock and postgres:
        sql += " " + lock
    _, rows = await conn.execute_query(sql, params)
    return _partial_models(model, fields, rows, by_position=True)


def _column_as(column: str, name: str) -> str:
    return f'"{column}"' if column == name else f'"{column}" AS "{name}"'


def _mark(postgres: bool, n: int) -> str:
    """The n-th (from 1) placeholder of a prepared statement: asyncpg numbers them, sqlite3 does not."""
    return f"${n}" if postgres else "?"


async def fetch_partial(query: QuerySet[M], fields: Sequence[str]) -> list[M]:
    """The rows of `query` as models holding only `fields` (what `.only(*fields)` returns), built fast.

    Tortoise's `.only()` builds each row twice (its fast path stops at the first missing field, then
    a slow one converts every value) and reads SQLite's datetimes with the iso8601 package: on a
    batch's contacts and runs, that cost more than the queries. Here each value goes through its
    field's own to_python_value, datetimes parsed first by datetime.fromisoformat.
    """
    query = query.only(*fields)
    query._choose_db_if_not_chosen()  # what awaiting the queryset does, up to running its SQL
    query._make_query()
    _, rows = await query._db.execute_query(*query.query.get_parameterized_sql())
    return _partial_models(query.model, fields, rows)


def _partial_models(
    model: type[M], fields: Sequence[str], rows: Iterable[Any], *, by_position: bool = False
) -> list[M]:
    """Rows as partial models, each value through its field's to_python_value. Values are found by
    column name, or by position when the query selected exactly `fields` in order (quicker)."""
    meta = model._meta
    readers = [
        (name, index if by_position else name, _reader(meta.fields_map[name]))
        for index, name in enumerate(fields)
    ]
    custom_pk = meta.db_pk_column not in meta.generated_db_fields
    out = []
    for row in rows:
        obj = model.__new__(model)
        values = obj.__dict__  # as _init_from_db: no __setattr__ per value
        values.update(_partial=True, _saved_in_db=True, _custom_generated_pk=custom_pk, _await_when_save={})
        for name, key, read in readers:
            values[name] = read(row[key])
        out.append(obj)
    return out


def _reader(field: Any) -> Callable[[Any], Any]:
    if isinstance(field, DatetimeField):
        return partial(_read_datetime, field)
    reader: Callable[[Any], Any] = field.to_python_value
    return reader


def _read_datetime(field: Any, value: Any) -> Any:
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value)  # SQLite's text; iso8601 below reads anything else
        except ValueError:
            pass
    return field.to_python_value(value)


# For Tortoise's own CLI (`tortoise -c ureport.db.TORTOISE_ORM makemigrations`).
TORTOISE_ORM = tortoise_config(
    os.environ.get("UREPORT_DATABASE_URL") or "sqlite://ureport-data/ureport.sqlite3"
)
