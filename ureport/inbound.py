"""Turns pending inbox rows into conversation steps and queued replies, exactly once each."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime

from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.connection import connections
from tortoise.transactions import in_transaction

from ureport.clock import utcnow
from ureport.conversation import Conversation
from ureport.db import Select, Statement, fetch_seen, fetch_selects, select, update_in_statement
from ureport.flows.render import render_sms
from ureport.models import InboundMessage, InboxStatus, OutboundMessage
from ureport.outbox import Sender
from ureport.polls import Catalog
from ureport.privacy import Identity, Keyring
from ureport.sqlite_backend import LockingSqliteClient, Seen, StaleRead
from ureport.workspace import Workspace

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 5
Decoded = tuple[InboundMessage, Identity, str]  # an inbox row, its sender and its text


class InboundHandler:
    """Processes a batch of inbox rows in one transaction; a batch that fails is retried row by row,
    so one bad message never blocks the others."""

    def __init__(
        self,
        catalog: Catalog,
        keyring: Keyring,
        *,
        region: str,
        on_queued: Callable[[], None] | None = None,
        sender: Sender | None = None,
    ) -> None:
        """`sender`: this process's, which then takes the replies of a batch written on SQLite straight
        from memory (Sender.take_over), instead of claiming them back from the outbox."""
        self.catalog = catalog
        self.keyring = keyring
        self.conversation = Conversation(catalog, region=region)
        self.on_queued = on_queued
        self.sender = sender

    async def __call__(self, rows: list[InboundMessage]) -> None:
        await self.catalog.refresh()
        try:
            queued = await self.process(rows)
        except Exception:
            log.warning(
                "a batch of %d inbound messages failed; retrying them one by one", len(rows), exc_info=True
            )
            queued = 0
            for row in rows:
                try:
                    queued += await self.process([row])
                except Exception as exc:
                    await self._record_failure(row, exc)
        if queued and self.on_queued is not None:
            self.on_queued()

    async def process(self, rows: list[InboundMessage]) -> int:
        """Handle the rows in order and mark them processed, in one transaction; returns replies queued."""
        now = utcnow()
        decoded = [
            (
                row,
                self.keyring.stored_identity(row.urn_digest, row.urn_cipher),
                self.keyring.decrypt_text(row.text_cipher),
            )
            for row in rows
        ]
        client = connections.get("default")
        if isinstance(client, LockingSqliteClient):
            try:
                return await self._process_unlocked(client, decoded, now)
            except StaleRead as exc:  # rare: a USSD hop or an admin changed one of these people meanwhile
                log.info("a batch's reads changed before its write (%s); processing it under the lock", exc)
        async with in_transaction() as conn:
            pending, work = await self._claim_and_read(conn, decoded, now)
            queued = self._converse(decoded, pending, work)
            await work.flush(
                conn, then=[self._mark_processed(pending, now, conn.capabilities.dialect)], commit=True
            )
        return queued

    async def _process_unlocked(
        self, client: LockingSqliteClient, decoded: list[Decoded], now: datetime
    ) -> int:
        """SQLite: read and converse holding no lock, then write all at once, provided that what was read
        still holds (else StaleRead, nothing written). The writer lock is held for the writing alone,
        so the inbox's commits of new callbacks (another process's, or this one's) need not wait for
        a whole batch's conversations."""
        seen: list[Seen] = []
        work = Workspace.prepare([sender for _, sender, _ in decoded], now, regions=self.catalog.regions)
        claim = _claim([row.id for row, _, _ in decoded], "sqlite")
        claimed, contacts = await fetch_seen(client, [claim, work.contacts_query("sqlite")], seen)
        work.adopt_contacts(contacts)
        work.adopt_runs(*await fetch_seen(client, work.runs_queries("sqlite"), seen))
        pending = {row.id for row in claimed}
        queued = self._converse(decoded, pending, work)
        work.uncount((await fetch_seen(client, [work.replaced_query("sqlite")], seen))[0])
        marked = self._mark_processed(pending, now, "sqlite")
        if self.sender is None or not work.queued:
            await client.write_batch([*work.statements("sqlite"), marked], unchanged=seen)
            return queued
        token = now + self.sender.lease
        work.lease_outbox(token)
        statements = [*work.statements("sqlite"), marked]
        outbox = OutboundMessage._meta.db_table
        keys = await client.write_batch(statements, unchanged=seen, new_rows_of=outbox)
        # A key per reply, as the writer lock guarantees; were one missing, queued_messages() would
        # raise and the replies, written and leased, would be claimed once the lease runs out.
        self.sender.take_over(token, work.queued_messages(keys))
        return queued

    def _converse(self, decoded: list[Decoded], pending: set[int], work: Workspace) -> int:
        """Each still pending message through the conversation, in order; returns the replies queued."""
        queued = 0
        for row, sender, text in decoded:
            if row.id in pending:  # another worker may have processed it meanwhile
                contact = work.contact(sender)
                replies = self.conversation.handle(work, contact, text, channel="sms")
                queued += work.queue(contact, [render_sms(reply) for reply in replies], in_reply_to=row.id)
        return queued

    @staticmethod
    def _mark_processed(pending: set[int], now: datetime, dialect: str) -> Statement:
        done = {"status": InboxStatus.PROCESSED, "processed_at": now}
        return update_in_statement(InboundMessage, sorted(pending), done, dialect)

    async def _claim_and_read(
        self, conn: BaseDBAsyncClient, decoded: list[Decoded], now: datetime
    ) -> tuple[set[int], Workspace]:
        """The ids of the rows still pending, and a workspace with their contacts and runs."""
        dialect = conn.capabilities.dialect
        claim = _claim([row.id for row, _, _ in decoded], dialect)
        regions = self.catalog.regions
        if dialect == "postgres":  # several workers: lock the contacts of the rows this one claimed only
            (claimed,) = await fetch_selects(conn, [claim])
            pending = {row.id for row in claimed}
            senders = [sender for row, sender, _ in decoded if row.id in pending]
            work = Workspace.prepare(senders, now, regions=regions)
            (contacts,) = await fetch_selects(conn, [work.contacts_query(dialect)])
        else:  # one writer at a time: the claim and every row's contact in one trip to the database
            work = Workspace.prepare([sender for _, sender, _ in decoded], now, regions=regions)
            claimed, contacts = await fetch_selects(conn, [claim, work.contacts_query(dialect)])
            pending = {row.id for row in claimed}
        work.adopt_contacts(contacts)
        await work.read_runs(conn)
        return pending, work

    async def _record_failure(self, row: InboundMessage, exc: Exception) -> None:
        attempts = row.attempts + 1
        status = InboxStatus.FAILED if attempts >= MAX_ATTEMPTS else InboxStatus.PENDING
        log.exception("inbound message %s failed (attempt %d)", row.id, attempts)
        await InboundMessage.filter(id=row.id).update(
            attempts=attempts, status=status, error=f"{type(exc).__name__}: {exc}"[:255]
        )


def _claim(ids: list[int], dialect: str) -> Select | None:
    """The rows still pending, locked against other workers on PostgreSQL (skipped if they hold them)."""
    where = {"id__in": ids, "status": InboxStatus.PENDING}
    return select(InboundMessage, ("id",), dialect, where=where, lock="FOR UPDATE SKIP LOCKED")
