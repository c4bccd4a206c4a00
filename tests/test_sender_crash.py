"""A real sender (`ureport worker` on PostgreSQL, the real SDK, the fake gateway on 127.0.0.1) is killed
at three points of a batch and restarted: every message reaches the gateway, and the only duplicates are
the messages of the requests that were in flight when it died (docs/sending.md, "The duplicate window").

The kill points are made exact, not timed: the fake gateway holds a request while the test kills the
sender, and a row lock taken by the test stops the sender just before a request (renewing its lease) or
just after one (recording the answer), where PostgreSQL shows it waiting on the lock.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import asyncpg
import pytest
from tortoise import connections
from tortoise.queryset import QuerySet

from tests.conftest import PG_URL
from tests.processes import environment, eventually, kill, start
from ureport.channels.fake_gateway import FakeGateway, HeldRequest
from ureport.clock import utcnow
from ureport.models import Contact, ContactStatus, OutboundMessage, OutboxStatus
from ureport.outbox import new_message, queue
from ureport.settings import Settings

pytestmark = [
    pytest.mark.anyio,
    pytest.mark.skipif(
        not PG_URL,
        reason="kill points are held with row locks and pg_stat_activity (PostgreSQL); "
        "on SQLite the one in-process sender has no one to race",
    ),
]

NUMBERS = [f"+2547110009{i:02d}" for i in range(4)]
TEXTS = [f"Crash test message {i}" for i in range(12)]  # 4 recipients each: one request per text
BATCH = 12  # three requests per claimed batch
Pair = tuple[str, str]


async def _queue_messages(settings: Settings) -> dict[Pair, int]:
    """48 queued messages, text by text; returns each (number, text)'s outbox row id."""
    keyring, now = settings.keyring(), utcnow()
    contacts = [
        await Contact.create(
            urn_digest=keyring.digest(n), urn_cipher=keyring.encrypt(n), status=ContactStatus.ACTIVE
        )
        for n in NUMBERS
    ]
    rows = [new_message(contact, text, now=now) for text in TEXTS for contact in contacts]
    await queue(rows, connections.get("default"))
    number_of = {c.id: n for c, n in zip(contacts, NUMBERS, strict=True)}
    messages = await OutboundMessage.all().values_list("id", "contact_id", "text")
    return {(number_of[contact], text): id_ for id_, contact, text in messages}


def _pairs(hold: HeldRequest) -> set[Pair]:
    return {(number, hold.text) for number in hold.numbers}


@asynccontextmanager
async def _locked(url: str, ids: list[int]) -> AsyncIterator[asyncpg.Connection]:
    """Row locks on these outbox rows, held by the test until the block ends (then rolled back)."""
    conn = await asyncpg.connect(url.replace("postgres://", "postgresql://", 1))
    tx = conn.transaction()
    await tx.start()
    try:
        await conn.execute("SELECT id FROM outbound_message WHERE id = ANY($1::bigint[]) FOR UPDATE", ids)
        yield conn
    finally:
        await tx.rollback()
        await conn.close()


async def _sender_waits_on_a_lock(conn: asyncpg.Connection) -> bool:
    waiting = (
        "SELECT count(*) FROM pg_stat_activity"
        " WHERE datname = current_database() AND wait_event_type = 'Lock'"
    )
    return int(await conn.fetchval(waiting)) > 0


async def _arrived(hold: HeldRequest) -> None:
    await asyncio.to_thread(hold.wait_arrived, 120)  # generous: a worker's start-up on a loaded machine


async def test_killed_sender_loses_nothing_and_repeats_only_the_request_in_flight(
    settings: Settings, fake_gateway: FakeGateway, database: str, tmp_path: Path
) -> None:
    ids = await _queue_messages(settings)
    env = environment(settings, UREPORT_SEND_BATCH=str(BATCH), UREPORT_SEND_LEASE="10", UREPORT_DAILY_CAP="0")
    log = tmp_path / "worker.log"
    in_flight: set[Pair] = set()

    # 1. Killed with its second request in flight; the gateway then accepts that request anyway.
    hold = fake_gateway.hold_request(2)
    worker = start(["worker"], env, log)
    await _arrived(hold)
    kill(worker)
    hold.release()
    in_flight |= _pairs(hold)

    # 2. Killed just before a request: its first request is answered and recorded, then the renewal of
    #    the next request's lease waits on the test's lock on every other queued row.
    hold = fake_gateway.hold_request(1)
    worker = start(["worker"], env, log)
    await _arrived(hold)
    others = [i for pair, i in ids.items() if pair not in _pairs(hold)]
    async with _locked(database, others) as conn:
        hold.release()
        await eventually(lambda: _sender_waits_on_a_lock(conn), what="the sender to wait before a request")
        kill(worker)
    recorded = await OutboundMessage.filter(id__in=[ids[p] for p in _pairs(hold)]).values_list(
        "status", flat=True
    )
    assert set(recorded) == {OutboxStatus.SENT}  # its answer was recorded before the next request

    # 3. Killed after the gateway answered, before the answer was recorded (the rows are locked).
    hold = fake_gateway.hold_request(1)
    worker = start(["worker"], env, log)
    await _arrived(hold)
    async with _locked(database, [ids[p] for p in _pairs(hold)]) as conn:
        hold.release()
        await eventually(lambda: _sender_waits_on_a_lock(conn), what="the sender to wait to record")
        kill(worker)
    in_flight |= _pairs(hold)

    # A sender that lives: takes over every lease the dead ones left and sends the rest.
    worker = start(["worker"], env, log)
    try:
        queued = OutboundMessage.filter(status=OutboxStatus.QUEUED)
        await eventually(lambda: _none(queued), what="the outbox to drain", timeout=180)
    finally:
        worker.terminate()
        worker.wait(timeout=60)

    sent = Counter((m.number, m.text) for m in fake_gateway.messages)
    assert set(sent) == set(ids)  # nothing lost
    assert {pair for pair, n in sent.items() if n > 1} == in_flight  # the only duplicates: in flight
    assert max(sent.values()) == 2
    assert await OutboundMessage.exclude(status=OutboxStatus.SENT).count() == 0
    assert NUMBERS[0].removeprefix("+") not in log.read_text()  # the workers' logs never show a number


async def _none(query: QuerySet[OutboundMessage]) -> bool:
    return not await query.exists()
