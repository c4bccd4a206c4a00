"""Several processes writing one SQLite file (`ureport serve` beside `ureport worker`, or a CLI command
beside the server): transactions that read and then write never fail with "database is locked", and a
cancelled wait for the writer lock never leaves it held (ureport.sqlite_backend)."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import textwrap
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest
from tortoise.connection import connections
from tortoise.transactions import in_transaction

from tests.conftest import PG_URL
from tests.db_helpers import count_trips
from tests.harness import running_app
from ureport import db
from ureport.channels.fake_gateway import FakeGateway
from ureport.models import Answer, Contact, InboundMessage, InboxStatus, OutboundMessage, OutboxStatus
from ureport.settings import Settings
from ureport.sqlite_backend import LockingSqliteClient, Seen, StaleRead, Statement, WriterLock

pytestmark = pytest.mark.skipif(bool(PG_URL), reason="SQLite's writer lock; PostgreSQL locks rows")

ROUNDS = 400
# Each round reads, then writes, in one transaction: with a deferred BEGIN, a commit by the other process
# between the read and the write made the write fail at once (SQLITE_BUSY_SNAPSHOT, no busy wait).
WRITER = """
import asyncio, os, sys, time
from tortoise.connection import connections
from tortoise.transactions import in_transaction
from ureport import db

async def main(url: str, who: str, rounds: int, go: str) -> None:
    await db.init(url)
    try:
        await connections.get("default").execute_query("SELECT 1")  # connected before the start
        open(go + "." + who, "w").close()
        while not os.path.exists(go):  # both start together
            time.sleep(0.005)
        for n in range(rounds):
            async with in_transaction() as conn:
                _, rows = await conn.execute_query("SELECT count(*) FROM tally")
                await conn.execute_query("INSERT INTO tally (who, seen) VALUES (?, ?)", [who, rows[0][0]])
    finally:
        await db.close()

asyncio.run(main(sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]))
"""


async def _create_tally(url: str) -> None:
    await db.init(url)
    try:
        conn = connections.get("default")
        await conn.execute_script("CREATE TABLE IF NOT EXISTS tally (who TEXT, seen INTEGER)")
    finally:
        await db.close()


async def _tally(url: str) -> list[tuple[str, int]]:
    await db.init(url)
    try:
        _, rows = await connections.get("default").execute_query("SELECT who, seen FROM tally")
        return [(row[0], row[1]) for row in rows]
    finally:
        await db.close()


def test_two_processes_reading_then_writing_never_fail(tmp_path: Path) -> None:
    url = f"sqlite://{tmp_path}/shared.sqlite3"
    asyncio.run(_create_tally(url))
    script = tmp_path / "writer.py"
    script.write_text(textwrap.dedent(WRITER))
    go = tmp_path / "go"
    procs = [
        subprocess.Popen(
            [sys.executable, str(script), url, who, str(ROUNDS), str(go)], stderr=subprocess.PIPE, text=True
        )
        for who in ("a", "b")
    ]
    for _ in range(3000):
        started = zip("ab", procs, strict=True)
        if all(Path(f"{go}.{who}").exists() or p.poll() is not None for who, p in started):
            break
        time.sleep(0.01)
    go.touch()
    errors = [proc.communicate(timeout=120)[1] for proc in procs]
    assert [proc.returncode for proc in procs] == [0, 0], errors
    rows = asyncio.run(_tally(url))
    assert len(rows) == 2 * ROUNDS
    # Serialised for real: every transaction saw exactly the rows committed before it.
    assert sorted(seen for _, seen in rows) == list(range(2 * ROUNDS))


@pytest.mark.anyio
async def test_the_connection_runs_with_our_pragmas(tmp_path: Path) -> None:
    await db.init(f"sqlite://{tmp_path}/one.sqlite3")
    try:
        conn = connections.get("default")
        found = {}
        for pragma in ("journal_mode", "synchronous", "busy_timeout", "cache_size", "journal_size_limit"):
            _, rows = await conn.execute_query(f"PRAGMA {pragma}")
            found[pragma] = rows[0][0]
        assert found == {
            "journal_mode": "wal",
            "synchronous": 1,  # NORMAL
            "busy_timeout": 5000,
            "cache_size": -65536,  # KiB: 64 MiB
            "journal_size_limit": 64 * 1024 * 1024,
        }
    finally:
        await db.close()


@asynccontextmanager
async def locking_client(path: Path, *, migrate: bool = False) -> AsyncIterator[LockingSqliteClient]:
    """Tortoise on the SQLite file at `path` (with the schema, if `migrate`), and its locking client."""
    url = f"sqlite://{path}"
    if migrate:
        await db.migrate(url)
    await db.init(url)
    try:
        client = connections.get("default")
        assert isinstance(client, LockingSqliteClient)
        yield client
    finally:
        await db.close()


@pytest.mark.anyio
async def test_transactions_begin_immediate_and_let_go_of_the_lock(tmp_path: Path) -> None:
    async with locking_client(tmp_path / "one.sqlite3") as client:
        other = WriterLock(str(tmp_path / "one.sqlite3"))  # another process's view of the lock
        try:
            async with in_transaction() as conn:
                await conn.execute_query("SELECT 1")
                # Held from BEGIN, before any write: another writer must wait.
                assert not _try_lock(other)
            assert _try_lock(other)  # released at commit
            other.release()
            with pytest.raises(RuntimeError):
                async with in_transaction() as conn:
                    await conn.execute_query("SELECT 1")
                    raise RuntimeError("rolled back")
            assert _try_lock(other)  # released at rollback
            other.release()
            await client.close()  # Tortoise reconnects a closed client on its next use
            async with in_transaction() as conn:
                await conn.execute_query("SELECT 1")
                assert not _try_lock(other)  # and the lock comes back with it
        finally:
            other.close()


@pytest.mark.anyio
async def test_begin_goes_with_the_first_statements_and_every_way_in_begins(tmp_path: Path) -> None:
    """BEGIN IMMEDIATE rides on the transaction's first trip to the database thread: a batch that
    reads in one trip and writes (committing) in another takes two trips in all. Whatever runs first
    (Tortoise's own statements, a nested transaction) begins the transaction, so its writes stay
    atomic; a transaction in which nothing ran commits without a trip and lets go of the lock."""
    url = f"sqlite://{tmp_path}/one.sqlite3"
    await db.migrate(url)
    await db.init(url)
    try:
        other = WriterLock(str(tmp_path / "one.sqlite3"))
        try:
            async with in_transaction() as conn:
                thread = conn._connection
                trips = count_trips(thread)
                await db.fetch_selects(
                    conn,
                    [
                        db.select(Contact, ("id",), "sqlite", where={"urn_digest": "d1"}),
                        db.select(Contact, ("id",), "sqlite", where={"urn_digest": "d2"}),
                    ],
                )
                statement = db.insert_models_statement(Contact, [Contact(urn_digest="d1")], "sqlite")
                await db.execute_statements(conn, [statement], commit=True)
            assert trips() == 2
            assert await Contact.filter(urn_digest="d1").count() == 1

            async with in_transaction() as conn:
                trips = count_trips(conn._connection)
                await db.fetch_where(Contact, ("id",), conn, where={"urn_digest": "d1"})
            assert trips() == 2  # a lone read carries BEGIN too; then the commit

            async with in_transaction() as conn:
                trips = count_trips(conn._connection)
            assert trips() == 0 and _try_lock(other)  # nothing ran, nothing held
            other.release()

            with pytest.raises(RuntimeError):  # the ORM's own write first: inside the transaction
                async with in_transaction():
                    await Contact.create(urn_digest="d2")
                    raise RuntimeError("rolled back")
            with pytest.raises(RuntimeError):  # a savepoint first: the transaction begins before it
                async with in_transaction():
                    async with in_transaction():
                        await Contact.create(urn_digest="d3")
                    raise RuntimeError("rolled back")
            assert await Contact.filter(urn_digest__in=["d2", "d3"]).count() == 0
            assert _try_lock(other)
            other.release()
        finally:
            other.close()
    finally:
        await db.close()


@pytest.mark.anyio
async def test_a_cancelled_wait_gives_the_lock_back_once_it_comes(tmp_path: Path) -> None:
    path = str(tmp_path / "db.sqlite3")
    holder, waiter, probe = WriterLock(path), WriterLock(path), WriterLock(path)
    try:
        await holder.acquire()
        waiting = asyncio.create_task(waiter.acquire())
        await asyncio.sleep(0.1)  # blocked in its thread
        waiting.cancel()
        with pytest.raises(asyncio.CancelledError):
            await waiting
        holder.release()  # the waiter's thread now gets the lock, and must hand it back
        for _ in range(100):
            if _try_lock(probe):
                break
            await asyncio.sleep(0.02)
        else:
            pytest.fail("the lock stayed held after its waiter was cancelled")
        probe.release()
    finally:
        for lock in (holder, waiter, probe):
            lock.close()


@pytest.mark.anyio
async def test_an_optimistic_write_happens_only_if_its_reads_still_hold(tmp_path: Path) -> None:
    """write_batch(unchanged=...) runs the reads again under the lock: the same rows (in any order), it
    writes; other rows, it raises StaleRead, writes nothing and lets go of the lock."""
    async with locking_client(tmp_path / "one.sqlite3", migrate=True) as client:
        await Contact.create(urn_digest="d1", language="en")
        await Contact.create(urn_digest="d2", language="sw")
        query = db.select(
            Contact, ("urn_digest", "language"), "sqlite", where={"urn_digest__in": ["d1", "d2"]}
        )
        seen: list[Seen] = []
        (read,) = await db.fetch_seen(client, [query], seen)
        assert sorted((c.urn_digest, c.language) for c in read) == [("d1", "en"), ("d2", "sw")]
        touch = ("UPDATE contact SET language = ? WHERE urn_digest = ?", [["fr", "d1"]])
        await client.write_batch([touch], unchanged=seen)  # nothing changed since the read
        assert (await Contact.get(urn_digest="d1")).language == "fr"

        with pytest.raises(StaleRead):  # d1 changed since `seen` was read
            await client.write_batch([("UPDATE contact SET language = 'ar'", [[]])], unchanged=seen)
        assert {c.language for c in await Contact.all()} == {"fr", "sw"}
        other = WriterLock(str(tmp_path / "one.sqlite3"))
        try:
            assert _try_lock(other)
            other.release()
        finally:
            other.close()


@pytest.mark.anyio
async def test_a_write_batch_returns_the_keys_it_inserted_in_order(tmp_path: Path) -> None:
    """Keys above the largest at the start of the transaction, even when AUTOINCREMENT skips some."""
    async with locking_client(tmp_path / "keys.sqlite3") as client:
        await client.execute_script("CREATE TABLE t (id INTEGER PRIMARY KEY AUTOINCREMENT, v TEXT)")
        await client.execute_query("INSERT INTO t (v) VALUES ('a'), ('b'), ('c')")
        await client.execute_query("DELETE FROM t WHERE id = 3")  # AUTOINCREMENT never reuses 3
        insert: Statement = ("INSERT INTO t (v) VALUES (?)", [["d"], ["e"]])
        touch: Statement = ("UPDATE t SET v = 'A' WHERE id = 1", [[]])
        assert await client.write_batch([touch, insert], new_rows_of="t") == [4, 5]
        assert await client.write_batch([insert]) == []
        _, rows = await client.execute_query("SELECT id, v FROM t ORDER BY id")
        assert [(row["id"], row["v"]) for row in rows] == [
            (1, "A"),
            (2, "b"),
            (4, "d"),
            (5, "e"),
            (6, "d"),
            (7, "e"),
        ]


def test_seen_rows_hold_in_any_order_and_with_their_repeats() -> None:
    seen = Seen("SELECT ...", (), [("a", 1), ("b", None), ("a", 1)])
    assert seen.holds([("a", 1), ("b", None), ("a", 1)])
    assert seen.holds([("b", None), ("a", 1), ("a", 1)])  # another order: counted
    assert not seen.holds([("a", 1), ("b", None)])  # a repeat gone
    assert not seen.holds([("a", 1), ("b", None), ("a", 2)])
    assert not seen.holds([])


@pytest.mark.anyio
async def test_a_batch_whose_people_changed_meanwhile_is_processed_again_under_the_lock(
    settings: Settings, fake_gateway: FakeGateway, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The inbox's batches read and converse without the lock: when a person's row changed before the
    batch's write (here they opted out by USSD meanwhile), nothing of the stale work is written and the
    batch runs again under the lock, from the rows as they are now."""
    phone = "+254711000401"
    async with running_app(settings, fake_gateway) as app:
        for text in ["JOIN", "2007", "1", "Nairobi", "1"]:
            await app.send(phone, text)
        client = connections.get("default")
        assert isinstance(client, LockingSqliteClient)
        write_batch, refused = client.write_batch, []

        async def opt_out_first(statements: Any, *, unchanged: Any = (), new_rows_of: str = "") -> list[int]:
            """The first optimistic write finds the person opted out since the batch read them."""
            if unchanged and not refused:
                await write_batch([("UPDATE contact SET status = 'stopped'", [[]])])
                with pytest.raises(StaleRead):
                    await write_batch(statements, unchanged=unchanged, new_rows_of=new_rows_of)
                refused.append(statements)
                raise StaleRead("contact")
            return await write_batch(statements, unchanged=unchanged, new_rows_of=new_rows_of)

        monkeypatch.setattr(client, "write_batch", opt_out_first)
        assert await app.send(phone, "1") == []  # a person who left gets nothing
        assert refused  # the optimistic write was refused, and the batch processed again
        assert await Answer.all().count() == 0
        assert await InboundMessage.filter(status=InboxStatus.PROCESSED).count() == 6
        assert await OutboundMessage.filter(status=OutboxStatus.QUEUED).count() == 0


def _try_lock(lock: WriterLock) -> bool:
    import fcntl

    fd = lock.opened()
    assert fd is not None
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    return True
