"""Tortoise configuration, migrations and bulk writes for SQLite (embedded) and PostgreSQL (production)."""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import Enum
from functools import lru_cache, partial
from pathlib import Path
from typing import Any, TypeVar

from tortoise import Tortoise
from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.backends.base.config_generator import expand_db_url
from tortoise.connection import connections
from tortoise.fields import (
    BigIntField,
    BooleanField,
    CharField,
    DatetimeField,
    IntField,
    JSONField,
    SmallIntField,
    TextField,
    UUIDField,
)
from tortoise.fields.base import Field
from tortoise.fields.data import CharEnumFieldInstance
from tortoise.migrations.api import migrate as tortoise_migrate
from tortoise.models import Model
from tortoise.queryset import QuerySet
from tortoise.timezone import get_default_timezone, get_use_tz
from tortoise.transactions import in_transaction
from tortoise.validators import MaxLengthValidator

from ureport.sqlite_backend import LockingSqliteClient, LockingTransactionWrapper, Seen
from ureport.sqlite_backend import Statement as Statement  # re-exported: callers build statements here

M = TypeVar("M", bound=Model)

# SQLite: WAL lets readers run beside the one writer; NORMAL sync survives a process crash
# (the last commits may be lost on power loss: SQLite's documented trade-off). A 64 MiB page cache
# instead of 2 MiB keeps the hot tables' pages in memory, and the WAL file is kept up to 64 MiB after a
# checkpoint instead of being cut back to Tortoise's 16 KiB and grown again: commits cost less.
SQLITE_PRAGMAS = (
    "journal_mode=WAL&synchronous=NORMAL&busy_timeout=5000&cache_size=-65536&journal_size_limit=67108864"
)


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
    """One prepared UPDATE executed for every object (executemany): update_statement(), run now."""
    await conn.execute_many(*update_statement(model, objects, fields, conn.capabilities.dialect))


def build(model: type[M], **values: Any) -> M:
    """A new, unsaved model object holding exactly `values`: every stored field but a generated key,
    as plain attribute values, nothing else defaulted.

    Model.__init__ converts and checks each value and fills defaults through several calls per
    field: for the Answer built per poll answer that was about an eighth of processing an SMS. The
    hot paths build theirs from values of the right types already; a field left out is a TypeError
    here rather than a NULL written later.
    """
    meta = model._meta
    stored = meta.fields_db_projection
    missing = [name for name in stored if name not in values and not meta.fields_map[name].generated]
    unknown = [name for name in values if name not in stored]
    if missing or unknown:
        raise TypeError(f"{model.__name__}: missing fields {missing}, unknown fields {unknown}")
    obj = model.__new__(model)
    attributes = obj.__dict__  # what Model.__init__ sets, without __setattr__ per value
    attributes.update(_partial=False, _saved_in_db=False, _custom_generated_pk=False, _await_when_save={})
    attributes.update({name: None for name in stored if name not in values})  # the generated key
    attributes.update(values)
    return obj


def assign(obj: Model, **values: Any) -> None:
    """Set plain fields of a model object at once, as Model.__setattr__ would one by one: that looks
    for pending async defaults and checks relation objects on every assignment, about a microsecond
    each, and a USSD hop sets eight fields of its session. Relation objects are refused here."""
    meta = obj._meta
    if not values.keys().isdisjoint(meta.fk_fields | meta.o2o_fields):
        raise TypeError(f"{type(obj).__name__}: assign() sets plain fields, not relations")
    attributes = obj.__dict__
    pending = attributes.get("_await_when_save")
    if pending:
        for name in values:
            pending.pop(name, None)
    attributes.update(values)


def update_statement(
    model: type[Model], objects: Iterable[Model], fields: Sequence[str], dialect: str
) -> tuple[str, list[list[Any]]]:
    """The prepared UPDATE of `fields` by primary key, and each object's values.

    Tortoise's bulk_update renders a CASE expression per field and row through pypika, which costs
    several times more than the database work itself at a few hundred rows.
    """
    fields = tuple(fields)
    return _update_sql(model, fields, dialect), _object_rows(model, (*fields, model._meta.pk_attr), objects)


@lru_cache(maxsize=256)
def _update_sql(model: type[Model], fields: tuple[str, ...], dialect: str) -> str:
    """update_statement()'s SQL, written once per model, fields and dialect (a batch writes the same
    few shapes every time)."""
    meta = model._meta
    columns = [meta.fields_db_projection[name] for name in fields]
    marks = [_mark(dialect == "postgres", i) for i in range(1, len(columns) + 2)]
    assignments = ", ".join(f'"{column}" = {mark}' for column, mark in zip(columns, marks, strict=False))
    return f'UPDATE "{meta.db_table}" SET {assignments} WHERE "{meta.db_pk_column}" = {marks[-1]}'  # noqa: S608


class _Unknown:
    """Stands in a snapshot for a value not read, or one that may change in place (a JSON dict or
    list): equal to nothing, so the field is always written."""

    def __eq__(self, other: object) -> bool:
        return False

    def __ne__(self, other: object) -> bool:
        return True

    __hash__ = None  # type: ignore[assignment]


_UNKNOWN = _Unknown()
_MUTABLE = (dict, list)


def snapshot(obj: Model, fields: Sequence[str]) -> tuple[Any, ...]:
    """The values of `fields` as read, for changed_statements() to write back only what changed."""
    values = obj.__dict__  # where a model keeps its fields' values: no getattr per field
    # A tuple of types, not `dict | list`: that builds a union object for every field, a third of the cost.
    return tuple(
        [_UNKNOWN if isinstance(v := values.get(name, _UNKNOWN), _MUTABLE) else v for name in fields]
    )


def changed_statements(
    model: type[Model],
    objects: Iterable[Model],
    fields: Sequence[str],
    loaded: Mapping[Any, tuple[Any, ...]],
    dialect: str,
) -> list[Statement]:
    """UPDATEs by primary key of only the `fields` each object changed since it was read (`loaded`: its
    snapshot() by primary key): one statement per set of changed fields. An object without a snapshot
    writes every field; one that changed nothing writes nothing.

    SQLite rewrites a row's index entries whenever the UPDATE names an indexed column, changed or not:
    a contact answering a question changes only `last_seen_at`, and writing its 14 fields cost several
    times more (contact's digest and status indexes, flow_run's status index)."""
    groups: dict[tuple[str, ...], list[Model]] = {}
    for obj in objects:
        before = loaded.get(obj.pk)
        if before is None:
            names = tuple(fields)
        else:
            values = obj.__dict__
            names = tuple([name for name, old in zip(fields, before, strict=True) if values[name] != old])
        if names:
            groups.setdefault(names, []).append(obj)
    return [update_statement(model, group, names, dialect) for names, group in groups.items()]


def insert_models_statement(
    model: type[Model],
    objects: Iterable[Model],
    dialect: str,
    *,
    conflict: Sequence[str] = (),
    update: Sequence[str] = (),
) -> tuple[str, list[list[Any]]]:
    """The prepared INSERT of whole model objects and their values, as bulk_create writes them
    (every stored field but a generated key; auto_now fields left None are set), without its pypika
    query per call.
    With `conflict` columns, a row that exists already has its `update` fields replaced."""
    sql, names = _insert_sql(model, dialect, tuple(conflict), tuple(update))
    return sql, _object_rows(model, names, objects)


@lru_cache(maxsize=256)
def _insert_sql(
    model: type[Model], dialect: str, conflict: tuple[str, ...], update: tuple[str, ...]
) -> tuple[str, tuple[str, ...]]:
    """insert_models_statement()'s SQL and the fields it writes, in order: written once per shape."""
    meta = model._meta
    names = tuple(name for name in meta.fields_db_projection if not meta.fields_map[name].generated)
    columns = ", ".join(f'"{meta.fields_db_projection[name]}"' for name in names)
    marks = ", ".join(_mark(dialect == "postgres", i) for i in range(1, len(names) + 1))
    sql = f'INSERT INTO "{meta.db_table}" ({columns}) VALUES ({marks})'  # noqa: S608
    if conflict:
        target = ", ".join(f'"{meta.fields_db_projection[name]}"' for name in conflict)
        changes = ", ".join(
            f'"{column}" = excluded."{column}"' for column in (meta.fields_db_projection[n] for n in update)
        )
        sql += f" ON CONFLICT ({target}) DO UPDATE SET {changes}"
    return sql, names


def _object_rows(model: type[Model], names: Sequence[str], objects: Iterable[Model]) -> list[list[Any]]:
    """Each object's values of `names`, as its fields write them (db.writer). Values are read from the
    object's __dict__, where a model keeps them (a getattr looks through the class first); an object
    missing one (a partial model) is read by getattr, which raises as the ORM would."""
    writers = _writers(model, tuple(names))
    rows = []
    for obj in objects:
        values = obj.__dict__
        try:
            rows.append([write(values[name], obj) for name, write in writers])
        except KeyError:
            rows.append([write(getattr(obj, name), obj) for name, write in writers])
    return rows


@lru_cache(maxsize=256)
def _writers(model: type[Model], names: tuple[str, ...]) -> tuple[tuple[str, Writer], ...]:
    """Each field's writer, looked up once per model and fields (a tuple: the cache shares it)."""
    return tuple((name, writer(model._meta.fields_map[name])) for name in names)


async def execute_statements(
    conn: BaseDBAsyncClient, statements: Iterable[Statement], *, commit: bool = False
) -> None:
    """Run (sql, rows) statements in order in the caller's transaction, skipping those with no rows:
    on SQLite in one trip to the database thread (ureport.sqlite_backend), elsewhere one by one.

    `commit`: these are the transaction's last writes. On SQLite the commit goes in the same trip, and
    the transaction is over (anything more in it is refused); elsewhere the transaction commits at its
    end as usual."""
    todo = [(sql, rows) for sql, rows in statements if rows]
    if isinstance(conn, LockingTransactionWrapper):
        if todo or commit:
            await conn.execute_statements(todo, commit=commit)
        return
    for sql, rows in todo:
        await conn.execute_many(sql, list(rows))  # type: ignore[arg-type]


async def update_in(
    model: type[Model],
    ids: Sequence[Any],
    values: Mapping[str, Any],
    conn: BaseDBAsyncClient,
    *,
    where: Mapping[str, Any] | None = None,
) -> int:
    """update_in_statement(), run now; returns how many rows it changed."""
    if not ids:
        return 0
    sql, (params,) = update_in_statement(model, ids, values, conn.capabilities.dialect, where=where)
    changed, _ = await conn.execute_query(sql, params)
    return changed


def update_in_statement(
    model: type[Model],
    ids: Sequence[Any],
    values: Mapping[str, Any],
    dialect: str,
    *,
    where: Mapping[str, Any] | None = None,
) -> tuple[str, list[list[Any]]]:
    """`UPDATE ... SET values WHERE pk IN ids [AND field = value ...]` as one statement, without building
    it through pypika (whose IN list of a few hundred ids cost more than the update on the hot path);
    no rows to run it for when `ids` is empty."""
    meta = model._meta
    where = where or {}
    names, conditions = list(values), list(where)
    marks = [_mark(dialect == "postgres", i) for i in range(1, len(names) + len(conditions) + len(ids) + 1)]

    def equal(name: str, mark: str) -> str:
        return f'"{meta.fields_db_projection[name]}" = {mark}'

    assignments = ", ".join(equal(name, mark) for name, mark in zip(names, marks, strict=False))
    tests = [equal(name, mark) for name, mark in zip(conditions, marks[len(names) :], strict=False)]
    tests.append(f'"{meta.db_pk_column}" IN ({", ".join(marks[len(names) + len(conditions) :])})')
    sql = f'UPDATE "{meta.db_table}" SET {assignments} WHERE {" AND ".join(tests)}'  # noqa: S608
    key = writer(meta.fields_map[meta.pk_attr])  # as to_db_value writes them, without its calls per id
    params = [writer(meta.fields_map[name])(values[name], model) for name in names]
    params += [writer(meta.fields_map[name])(where[name], model) for name in conditions]
    params += [key(i, model) for i in ids]
    return sql, [params] if ids else []


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
    writers = [writer(meta.fields_map[name]) for name in names]
    values = [[write(row[n], model) for write, n in zip(writers, names, strict=True)] for row in rows]
    return sql, values


Writer = Callable[[Any, Any], Any]


@lru_cache(maxsize=1024)  # by the field object itself: fields live as long as their models
def writer(field: Any) -> Writer:
    """The field's `to_db_value(value, instance)`, with a shortcut giving the same result for what
    the hot paths mostly write: text within its length, ints, bools, UUIDs, enum members, aware
    datetimes, dicts and lists for JSON. Tortoise converts and validates every value through several
    calls; on a batch's rows that was about a fifth of building its writes. Anything else (None where
    not allowed, other types, None for an auto_now(_add) field, fields with validators of their own)
    goes through the field itself.

    One difference, on purpose: an auto_now field given an aware datetime writes it as given. The hot
    paths set a run's `updated_at` to their batch's clock reading (Workspace.update_run), where the
    field would read the clock again a few milliseconds later, through several calls per row."""
    slow: Writer = field.to_db_value
    kind = type(field)
    validators = [type(v) for v in field.validators]
    null = field.null
    if kind is CharField and validators == [MaxLengthValidator]:
        limit = field.max_length

        def write_text(value: Any, instance: Any) -> Any:
            if type(value) is str and len(value) <= limit:
                return value
            return None if value is None and null else slow(value, instance)

        return write_text
    if kind is CharEnumFieldInstance and validators == [MaxLengthValidator]:
        enum = field.enum_type
        members = {m: str(m.value) for m in enum if len(str(m.value)) <= field.max_length}

        def write_member(value: Any, instance: Any) -> Any:
            found = members.get(value) if type(value) is enum else None
            return slow(value, instance) if found is None else found

        return write_member
    if validators:
        return slow
    if kind is TextField:
        return lambda value, instance: value if type(value) is str else slow(value, instance)
    if kind in (IntField, BigIntField, SmallIntField):
        return lambda value, instance: value if type(value) is int else slow(value, instance)
    if kind is BooleanField:
        return lambda value, instance: value if type(value) is bool else slow(value, instance)
    if kind is UUIDField:
        return lambda value, instance: (
            _uuid_text(value) if type(value) is uuid.UUID else slow(value, instance)
        )
    if kind is DatetimeField:
        auto = field.auto_now or field.auto_now_add  # None: the field fills in the time itself
        return lambda value, instance: (
            value
            if (value is None and not auto) or (type(value) is datetime and value.utcoffset() is not None)
            else slow(value, instance)
        )
    if kind is JSONField:
        encode = field.encoder
        return lambda value, instance: encode(value) if type(value) in (dict, list) else slow(value, instance)
    return slow


_OPERATORS = {"": "=", "in": "IN", "gt": ">", "gte": ">=", "lt": "<", "lte": "<="}


@dataclass(frozen=True)
class Select:
    """A prepared SELECT of some fields of a model, its rows to be read back as partial models."""

    model: type[Model]
    fields: Sequence[str]
    sql: str
    params: list[Any]
    raw: tuple[str, ...] = ()  # fields whose values are kept as the database returned them


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
    """fetch_partial() for the hot paths' simple queries, with the SQL written here, not by pypika:
    select() run now."""
    query = select(
        model, fields, conn.capabilities.dialect, where=where, order_by=order_by, limit=limit, lock=lock
    )
    found: list[M] = (await fetch_selects(conn, [query]))[0]
    return found


def select(
    model: type[Model],
    fields: Sequence[str],
    dialect: str,
    *,
    where: Mapping[str, Any],
    order_by: str | None = None,
    limit: int | None = None,
    lock: str = "",
    raw: Sequence[str] = (),
) -> Select | None:
    """The SELECT of `fields`, or None when an empty IN list means no row can match.

    `where` takes Tortoise's filter names (`status`, `id__in`, `id__gt`, `updated_at__gte`, ...), all
    ANDed; `order_by` a field name, `-` first for descending; `lock` (`FOR UPDATE`, ...) applies on
    PostgreSQL only; `raw` fields are not converted (a JSON field's text, for a caller that parses
    each distinct text once). Building a queryset's SQL through pypika cost about as much as running
    it, for the few rows a batch reads; the values are converted by each field as the ORM would."""
    meta = model._meta
    postgres = dialect == "postgres"
    tests: list[str] = []
    params: list[Any] = []
    for name, value in where.items():
        field_name, _, operator = name.partition("__")
        column = f'"{meta.fields_db_projection[field_name]}"'
        convert = writer(meta.fields_map[field_name])
        if operator == "in":
            if not value:
                return None
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
    return Select(model, tuple(fields), sql, params, tuple(raw))


async def fetch_selects(conn: BaseDBAsyncClient, queries: Sequence[Select | None]) -> list[list[Any]]:
    """Each query's rows as partial models (none for a None query), in the caller's transaction: on
    SQLite all in one trip to the database thread, elsewhere one after another."""
    todo = [query for query in queries if query is not None]
    results: Sequence[Sequence[Any]]
    if isinstance(conn, LockingTransactionWrapper) and todo:  # one alone too: BEGIN rides with it
        results = await conn.fetch_all([(query.sql, query.params) for query in todo])
    else:
        results = [(await conn.execute_query(query.sql, query.params))[1] for query in todo]
    return _as_models(queries, results)


async def fetch_seen(
    client: LockingSqliteClient, queries: Sequence[Select | None], seen: list[Seen]
) -> list[list[Any]]:
    """fetch_selects() on SQLite outside any transaction, in one trip, each query and its rows added to
    `seen`: a write given them (`write_batch(..., unchanged=seen)`) happens only if they still hold."""
    todo = [query for query in queries if query is not None]
    results = await client.read_rows([(query.sql, query.params) for query in todo]) if todo else []
    seen += (Seen(q.sql, q.params, rows) for q, rows in zip(todo, results, strict=True))
    return _as_models(queries, results)


def _as_models(queries: Sequence[Select | None], results: Sequence[Sequence[Any]]) -> list[list[Any]]:
    """The rows of the queries that ran (`results`, in order) as partial models; [] for a None query."""
    found = iter(results)
    return [
        []
        if query is None
        else _partial_models(query.model, query.fields, next(found), by_position=True, raw=query.raw)
        for query in queries
    ]


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
    model: type[M],
    fields: Sequence[str],
    rows: Iterable[Any],
    *,
    by_position: bool = False,
    raw: tuple[str, ...] = (),
) -> list[M]:
    """Rows as partial models, each value through its field's to_python_value (`raw` fields: as they
    are). Values are found by column name, or by position when the query selected exactly `fields`
    in order (quicker)."""
    readers, custom_pk = _readers(model, tuple(fields), by_position, get_use_tz(), raw)
    out = []
    for row in rows:
        obj = model.__new__(model)
        values = obj.__dict__  # as _init_from_db: no __setattr__ per value
        values.update(_partial=True, _saved_in_db=True, _custom_generated_pk=custom_pk, _await_when_save={})
        for name, key, read in readers:
            values[name] = read(row[key])
        out.append(obj)
    return out


@lru_cache(maxsize=256)
def _readers(
    model: type[Model], fields: tuple[str, ...], by_position: bool, use_tz: bool, raw: tuple[str, ...]
) -> tuple[tuple[tuple[str, int | str, Callable[[Any], Any]], ...], bool]:
    """_partial_models()'s reader per field and whether the key is custom, made once per query shape
    (`use_tz` is in the key because the readers depend on it)."""
    meta = model._meta
    readers = tuple(  # a tuple: the cache shares it
        (name, index if by_position else name, _as_is if name in raw else reader(meta.fields_map[name]))
        for index, name in enumerate(fields)
    )
    return readers, meta.db_pk_column not in meta.generated_db_fields


def _as_is(value: Any) -> Any:
    return value


def reader(field: Any) -> Callable[[Any], Any]:
    """The field's to_python_value, with shortcuts giving the same result: values already of a plain
    field's type pass as they are, and a UUID's text is parsed once (the same contact and run ids come
    back in several queries of a batch, and again in the next batches of a conversation)."""
    slow: Callable[[Any], Any] = field.to_python_value
    if isinstance(field, DatetimeField):
        return _datetime_reader(field) if get_use_tz() else partial(_read_datetime, field)
    if type(field).to_python_value is Field.to_python_value and field.field_type in (str, int):
        plain = field.field_type
        return lambda value: value if value is None or type(value) is plain else slow(value)
    if type(field) is UUIDField:
        return lambda value: _uuid(value) if type(value) is str else slow(value)
    if type(field) is CharEnumFieldInstance:
        return _enum_reader(field.enum_type, slow)
    return slow


def _enum_reader(enum_type: type[Enum], slow: Callable[[Any], Any]) -> Callable[[Any], Any]:
    """A member found by its stored text in a dict, not by calling the enum class (Python-level lookup
    machinery, and a status is read with every contact and run); anything else goes the field's way."""
    members = {member.value: member for member in enum_type}

    def read(value: Any) -> Any:
        if type(value) is str and (member := members.get(value)) is not None:
            return member
        return slow(value)

    return read


@lru_cache(maxsize=16_384)
def _uuid(text: str) -> uuid.UUID:
    return uuid.UUID(text)


_UUID_TEXTS: dict[int, str] = {}
_UUID_TEXTS_KEPT = 16_384


def _uuid_text(value: uuid.UUID) -> str:
    """A UUID's text, formatted once: a batch writes and filters by the same contact and run ids several
    times (str() of a UUID is Python-level hex formatting, about eight a message). Kept by the UUID's
    int, hashed in C, where a cache keyed by the UUID itself calls its Python __hash__ and __eq__."""
    number = value.int
    text = _UUID_TEXTS.get(number)
    if text is None:
        if len(_UUID_TEXTS) >= _UUID_TEXTS_KEPT:
            _UUID_TEXTS.clear()
        text = _UUID_TEXTS[number] = str(value)
    return text


def _datetime_reader(field: Any) -> Callable[[Any], Any]:
    """SQLite's text of an aware datetime, parsed and moved to the ORM's time zone as to_python_value
    does with time zone support on (the zone is looked up once per field, not once per value)."""
    zone = get_default_timezone()

    def read(value: Any) -> Any:
        if type(value) is str:
            found = _aware_in(value, zone)
            if found is not None:
                return found
            try:  # naive text (made aware by the field) or not a datetime (refused by it)
                value = datetime.fromisoformat(value)
            except ValueError:
                return field.to_python_value(value)
        return None if value is None else field.to_python_value(value)

    return read


@lru_cache(maxsize=4096)
def _aware_in(text: str, zone: Any) -> datetime | None:
    """An aware datetime's text, parsed and moved to `zone`; None for any other text. Kept: the same
    texts come back batch after batch (a batch's replies share one queued time, a person's registration
    time never changes), and parsing one cost more than the rest of reading its row. Datetimes are
    immutable, so rows may share one."""
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        return None
    return parsed.astimezone(zone) if parsed.utcoffset() is not None else None


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
