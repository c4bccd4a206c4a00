"""Tortoise's SQLite client, made safe and quick for several processes writing one database file.

Tortoise opens transactions with a plain (deferred) `BEGIN`. A transaction that reads and then writes
while another process commits (the web process's inbox commit beside `ureport worker`) then fails at
its first write with "database is locked" (SQLITE_BUSY_SNAPSHOT): SQLite cannot wait there without
risking a deadlock, so its busy timeout does not apply, and a whole batch of messages was retried row
by row. Here every transaction starts with `BEGIN IMMEDIATE`, which takes the write lock up front,
where the busy timeout does apply.

SQLite's busy handler waits by sleeping and polling (1, 2, 5, ... 100 ms), so a waiting process
wakes late and the other one, retrying at once, keeps winning. Writers therefore first take an
exclusive `flock` on a file beside the database: a blocked writer is woken the moment the lock is
released. The lock is taken before SQLite's and released after the commit, in every process, so
the two locks are always taken in the same order. Single statements outside a transaction that
write take it too; reads never do (WAL readers do not block writers).

A batch may also read without any lock, work in memory, and write optimistically: `read_rows` reads
outside any transaction, and `write_batch(..., unchanged=...)` runs those reads again under the lock
before writing, rolling back with `StaleRead` if any of them now returns other rows. The lock is then
held for the writes alone, not for the work between the reads and the writes.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import sqlite3
from collections import Counter
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from typing import Any

import tortoise.backends.sqlite.executor  # noqa: F401 - registers Tortoise's adapters, replaced below
from tortoise.backends.base.client import ConnectionWrapper, TransactionContext
from tortoise.backends.sqlite.client import (
    SqliteClient,
    SqliteTransactionContext,
    SqliteTransactionWrapper,
)
from tortoise.exceptions import IntegrityError, OperationalError, TransactionManagementError

try:
    import fcntl
except ImportError:  # pragma: no cover - not POSIX: SQLite's busy timeout alone
    fcntl = None  # type: ignore[assignment]

LOCK_SUFFIX = "-writer.lock"
Statement = tuple[str, Sequence[Sequence[Any]]]  # SQL and the rows to execute it for (executemany)
Query = tuple[str, Sequence[Any]]  # SQL and its parameters
Row = tuple[Any, ...]
_NO_OFFSET = timedelta(0)


def adapt_datetime(value: datetime) -> str:
    """A datetime as SQLite stores it: the same text as Tortoise's adapter (`isoformat(" ")`), with a
    UTC time's text made once and kept. sqlite3 calls the adapter for every datetime it binds, with the
    interpreter lock held: a batch writes its one clock reading into several columns of every row,
    and formatting it cost about a microsecond each time."""
    if value.tzinfo is UTC or value.utcoffset() == _NO_OFFSET:
        return _utc_text(value)
    return value.isoformat(" ")


@lru_cache(maxsize=4096)
def _utc_text(value: datetime) -> str:
    # Equal datetimes with no offset have the same fields, so the same text, whatever their tzinfo.
    return value.isoformat(" ")


sqlite3.register_adapter(datetime, adapt_datetime)


@dataclass(frozen=True)
class Seen:
    """A query read outside a transaction and the rows it returned then."""

    sql: str
    params: Sequence[Any]
    rows: list[Row]

    def holds(self, rows: list[Row]) -> bool:
        """The same rows as were seen, in any order. The same query over unchanged rows returns them in
        the same order, so comparing the lists decides at C speed; counting them is the fallback."""
        return rows == self.rows or Counter(rows) == Counter(self.rows)


class StaleRead(Exception):
    """A write's reads no longer hold: another writer changed their rows since. Nothing was written."""


class WriterLock:
    """An exclusive lock on `<database>-writer.lock` shared by every process writing that database."""

    def __init__(self, database_path: str) -> None:
        self._path = None
        if fcntl is not None and database_path not in ("", ":memory:"):
            self._path = database_path + LOCK_SUFFIX
        self._fd: int | None = None

    def opened(self) -> int | None:
        """The lock file's descriptor (None: no lock, in memory or not POSIX). Opened on first use,
        and again after close(): Tortoise reconnects a client it closed."""
        if self._fd is None and self._path is not None:
            self._fd = os.open(self._path, os.O_RDWR | os.O_CREAT, 0o600)
        return self._fd

    async def acquire(self) -> None:
        fd = self.opened()
        if fd is None:
            return
        try:  # uncontended: one system call on the event loop
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return
        except BlockingIOError:
            pass
        waiting = asyncio.ensure_future(asyncio.to_thread(fcntl.flock, fd, fcntl.LOCK_EX))
        try:
            await asyncio.shield(waiting)
        except asyncio.CancelledError:
            # The thread still gets the lock; give it back when it does, or nobody ever will.
            waiting.add_done_callback(self._release_once_held)
            raise

    def _release_once_held(self, waited: asyncio.Future[None]) -> None:
        if not waited.cancelled() and waited.exception() is None:
            self.release()

    def acquire_blocking(self) -> None:
        """For code already on the database thread, where blocking is what it is for."""
        fd = self.opened()
        if fd is not None:
            fcntl.flock(fd, fcntl.LOCK_EX)

    def release(self) -> None:
        if self._fd is not None:
            fcntl.flock(self._fd, fcntl.LOCK_UN)

    def close(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None


def _writes(query: str) -> bool:
    return not query.lstrip()[:6].upper().startswith(("SELECT", "PRAGMA"))


class LockingSqliteClient(SqliteClient):
    """SqliteClient whose transactions begin IMMEDIATE under the cross-process writer lock."""

    def __init__(self, file_path: str, **kwargs: Any) -> None:
        super().__init__(file_path, **kwargs)
        self.writer_lock = WriterLock(file_path)

    def _in_transaction(self) -> TransactionContext:
        return LockingTransactionContext(LockingTransactionWrapper(self), self._lock)

    async def close(self) -> None:
        await super().close()
        self.writer_lock.close()

    async def read_rows(self, queries: Sequence[Query]) -> list[list[Row]]:
        """Each query's rows as plain tuples, in one trip to the database thread, outside any
        transaction and without the writer lock (a WAL reader never waits for the writer)."""
        async with self.acquire_connection() as connection:
            rows: list[list[Row]] = await connection._execute(_read_tuples, connection._conn, queries)
            return rows

    async def write_batch(
        self, statements: Sequence[Statement], *, unchanged: Sequence[Seen] = (), new_rows_of: str = ""
    ) -> list[int]:
        """Run each (sql, rows) with executemany, all in one transaction, in one trip to the
        database thread: writer lock, BEGIN IMMEDIATE, the statements, COMMIT, unlock. With
        `unchanged`, those reads are run again first, and StaleRead is raised (nothing written) if
        any returns other rows than it did. With `new_rows_of`, a table with an integer key, returns
        the keys of the rows the statements inserted there, in the order they were inserted; else [].

        A transaction driven from the event loop holds the lock across every hop between the loop and
        the database thread, and a busy web process's loop answers each hop late (HTTP requests run
        between them): the other process then waits far longer than the writing takes.
        """
        async with self.acquire_connection() as connection:
            keys: list[int] = await connection._execute(
                self._write_on_thread, connection._conn, statements, unchanged, new_rows_of
            )
            return keys

    def _write_on_thread(
        self,
        raw: sqlite3.Connection,
        statements: Sequence[Statement],
        unchanged: Sequence[Seen],
        new_rows_of: str,
    ) -> list[int]:
        self.writer_lock.acquire_blocking()
        try:
            raw.execute("BEGIN IMMEDIATE")
            try:
                for seen in unchanged:
                    if not seen.holds(_read_tuples(raw, [(seen.sql, seen.params)])[0]):
                        raise StaleRead(seen.sql)
                last = _last_rowid(raw, new_rows_of) if new_rows_of else 0
                _execute_all(raw, statements)
                keys = _rowids_after(raw, new_rows_of, last) if new_rows_of else []
            except BaseException:
                raw.rollback()
                raise
            raw.commit()
            return keys
        finally:
            self.writer_lock.release()

    @contextlib.asynccontextmanager
    async def _writing(self, query: str) -> AsyncIterator[None]:
        if not _writes(query):
            yield
            return
        await self.writer_lock.acquire()
        try:
            yield
        finally:
            self.writer_lock.release()

    async def execute_insert(self, query: str, values: list[Any]) -> int:
        async with self._writing(query):
            inserted: int = await super().execute_insert(query, values)
            return inserted

    async def execute_many(self, query: str, values: list[list[Any]]) -> None:
        async with self._writing(query):
            await super().execute_many(query, values)

    async def execute_query(
        self, query: str, values: list[Any] | None = None
    ) -> tuple[int, Sequence[dict[str, Any]]]:
        async with self._writing(query):
            result: tuple[int, Sequence[dict[str, Any]]] = await super().execute_query(query, values)
            return result

    async def execute_script(self, query: str) -> None:
        async with self._writing(query):
            await super().execute_script(query)


class LockingTransactionContext(SqliteTransactionContext):
    """Lets go of the writer lock however the transaction ends (Tortoise skips the rollback after a
    TransactionManagementError)."""

    async def __aexit__(self, exc_type: Any, exc_val: Any, exc_tb: Any) -> None:
        try:
            await super().__aexit__(exc_type, exc_val, exc_tb)
        finally:
            self.connection._let_go()


class LockingTransactionWrapper(SqliteTransactionWrapper):
    """A transaction holding the writer lock from its begin() (its `BEGIN IMMEDIATE` follows with its
    first statements) to its commit or rollback."""

    def __init__(self, connection: LockingSqliteClient) -> None:
        super().__init__(connection)
        self._writer_lock = connection.writer_lock
        self._holding = False
        self._begun = False

    async def begin(self) -> None:
        """Take the writer lock; `BEGIN IMMEDIATE` goes to the database with the transaction's first
        statements, in the same trip (a trip fewer per transaction; nothing runs in between)."""
        await self._writer_lock.acquire()
        self._holding = True

    async def execute_statements(self, statements: Sequence[Statement], *, commit: bool = False) -> None:
        """Each (sql, rows) with executemany, in order, in one trip to the database thread; with
        `commit`, the transaction's commit too (it is then over: the context does not commit again).

        A batch's writes (contacts, runs, answers, counters, replies, sessions) were a trip each; every
        trip is a hand-over to the thread and back (about 0.6 ms under load beside the work itself),
        and while this transaction holds the connection the web's inbox commits wait behind it.
        """
        self._check_open()
        for sql, rows in statements:  # what Tortoise's own execute_many logs
            self.log.debug("%s: %s", sql, rows)
        await self._on_thread(_execute_all, statements, commit)
        if commit:
            self._finalized = True
            self._let_go()

    async def fetch_all(self, queries: Sequence[tuple[str, Sequence[Any]]]) -> list[list[Any]]:
        """Each query's rows, all run in one trip to the database thread."""
        self._check_open()
        for sql, params in queries:
            self.log.debug("%s: %s", sql, params)
        rows: list[list[Any]] = await self._on_thread(_fetch_all, queries)
        return rows

    async def _on_thread(self, function: Callable[..., Any], *args: Any) -> Any:
        """`function(raw connection, *args)` on the database thread, after BEGIN IMMEDIATE if this is
        the transaction's first trip (counted as begun from here: a rollback must always reach it)."""
        begin, self._begun = not self._begun, True
        try:
            return await self._connection._execute(_run, self._connection._conn, begin, function, *args)  # type: ignore[no-untyped-call]
        except sqlite3.IntegrityError as exc:  # as Tortoise's own methods translate them
            raise IntegrityError(exc) from exc
        except sqlite3.OperationalError as exc:
            raise OperationalError(exc) from exc

    def acquire_connection(self) -> ConnectionWrapper[Any]:
        """Tortoise's own statements in this transaction: BEGIN IMMEDIATE first when still to come."""
        self._check_open()
        return _BeginFirst(self._lock, self)

    def _in_transaction(self) -> TransactionContext:
        """A nested transaction (a savepoint): the transaction itself is begun first."""
        return _BegunFirst(super()._in_transaction(), self)

    async def _begin_now(self) -> None:
        if not self._begun:
            await self._on_thread(_nothing)

    def _check_open(self) -> None:
        """Nothing runs in a transaction committed early: it would run outside it."""
        if self._finalized:
            raise TransactionManagementError("the transaction was already committed")

    async def commit(self) -> None:
        try:
            if self._begun:
                await super().commit()
            else:  # nothing ran: nothing to commit, no trip to the database
                self._finish()
        finally:
            self._let_go()

    async def rollback(self) -> None:
        try:
            if self._begun:
                await super().rollback()
            else:
                self._finish()
        finally:
            self._let_go()

    def _finish(self) -> None:
        if self._finalized:
            raise TransactionManagementError("Transaction already finalised")
        self._finalized = True

    def _let_go(self) -> None:
        if self._holding:
            self._holding = False
            self._writer_lock.release()


class _BeginFirst(ConnectionWrapper[Any]):
    """The transaction's connection for one of Tortoise's statements, begun first if need be."""

    __slots__ = ("transaction",)

    def __init__(self, lock: asyncio.Lock, transaction: LockingTransactionWrapper) -> None:
        super().__init__(lock, transaction)
        self.transaction = transaction

    async def __aenter__(self) -> Any:
        connection = await super().__aenter__()
        try:
            await self.transaction._begin_now()
        except BaseException:
            self._lock.release()
            raise
        return connection


class _BegunFirst(TransactionContext):
    """A nested transaction's context, its outer transaction begun before the savepoint."""

    def __init__(self, nested: TransactionContext, outer: LockingTransactionWrapper) -> None:
        self.nested, self.outer = nested, outer
        self.client = nested.client

    async def __aenter__(self) -> Any:
        await self.outer._begin_now()
        return await self.nested.__aenter__()

    async def __aexit__(self, exc_type: Any, exc_val: Any, exc_tb: Any) -> None:
        await self.nested.__aexit__(exc_type, exc_val, exc_tb)


def _run(raw: sqlite3.Connection, begin: bool, function: Callable[..., Any], *args: Any) -> Any:
    if begin:
        _begin_immediate(raw)
    return function(raw, *args)


def _nothing(raw: sqlite3.Connection) -> None:
    return None


def _begin_immediate(raw: sqlite3.Connection) -> None:
    raw.commit()  # Tortoise's commit-then-BEGIN: nothing implicit left open
    raw.execute("BEGIN IMMEDIATE")


def _execute_all(raw: sqlite3.Connection, statements: Sequence[Statement], commit: bool = False) -> None:
    for sql, rows in statements:
        raw.executemany(sql, rows)
    if commit:
        raw.commit()


def _fetch_all(raw: sqlite3.Connection, queries: Sequence[Query]) -> list[list[Any]]:
    return [raw.execute(sql, params).fetchall() for sql, params in queries]


def _last_rowid(raw: sqlite3.Connection, table: str) -> int:
    """The largest key in `table`. Inside a write transaction nobody else inserts, and SQLite gives a
    new row a key above the largest in the table (above the largest ever used, with AUTOINCREMENT):
    the rows this transaction inserts next are exactly those above it, in the order it inserts them."""
    (last,) = raw.execute(f'SELECT coalesce(max(rowid), 0) FROM "{table}"').fetchone()  # noqa: S608
    return int(last)


def _rowids_after(raw: sqlite3.Connection, table: str, last: int) -> list[int]:
    rows = raw.execute(f'SELECT rowid FROM "{table}" WHERE rowid > ? ORDER BY rowid', (last,))  # noqa: S608
    return [key for (key,) in rows]


def _read_tuples(raw: sqlite3.Connection, queries: Sequence[Query]) -> list[list[Row]]:
    cursor = raw.cursor()
    cursor.row_factory = None  # plain tuples: comparable and hashable, unlike the connection's rows
    return [cursor.execute(sql, params).fetchall() for sql, params in queries]


client_class = LockingSqliteClient
