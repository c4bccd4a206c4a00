"""The outbox: replies are queued in the database and sent by a background sender through the gateway."""

from __future__ import annotations

import asyncio
import logging
import math
import time
from collections import defaultdict, deque
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any

from starlette.concurrency import run_in_threadpool
from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.connection import connections
from tortoise.expressions import Q
from tortoise.transactions import in_transaction

from ureport.background import Loop
from ureport.channels.gateway import RecipientOutcome, RecipientResult, SendError, SmsGateway
from ureport.channels.segments import sms_segments
from ureport.clock import utcnow
from ureport.db import assign, fetch_partial, insert_rows, update_in, update_rows
from ureport.limits import SenderCensus, TokenBucket, next_day, sent_today, share
from ureport.models import Contact, OutboundMessage, OutboxStatus
from ureport.privacy import Keyring
from ureport.recipients import UNDELIVERABLE_STATUS, mark_undeliverable, opt_out

log = logging.getLogger(__name__)

DAILY_CAP = "DailyCap"  # failure_reason shown while a capped message waits for the next day
LEASE = timedelta(minutes=2)  # a claimed batch not finished by then is claimed again (crashed sender)
BACKOFF_BASE = timedelta(seconds=15)
OUTBOX_QUIET = 1.0  # seconds: see Sender.drain()
OUTBOX_FIELDS = (
    "status",
    "gateway_id",
    "gateway_status",
    "failure_reason",
    "parts",
    "cost",
    "attempts",
    "next_attempt_at",
    "claimed_until",
    "sent_at",
)
# What the sender reads of a claimed message: what it sends, and every field it writes back.
SENDER_LOADED = ("id", "contact_id", "urn_cipher", "text", "in_reply_to_id", *OUTBOX_FIELDS)


def new_message(
    contact: Contact, text: str, *, now: datetime, in_reply_to: int | None = None, poll_id: int | None = None
) -> dict[str, Any]:
    """The column values of a queued outbox row addressed to `contact`, with its SMS segment count."""
    segments = sms_segments(text)
    return {
        "contact_id": contact.id,
        "urn_cipher": contact.urn_cipher,
        "text": text,
        "status": OutboxStatus.QUEUED,
        "encoding": segments.encoding,
        "parts": segments.parts,
        "attempts": 0,
        "next_attempt_at": now,
        "in_reply_to_id": in_reply_to,
        "poll_id": poll_id,
        "created_at": now,
    }


async def queue(messages: Sequence[Mapping[str, Any]], conn: BaseDBAsyncClient) -> None:
    """Write queued messages (from new_message) in the caller's transaction; the sender picks them up."""
    await insert_rows(OutboundMessage, messages, conn)


def backoff(attempts: int) -> timedelta:
    """Exponential backoff: 15 s, 30 s, 1 min, ... capped at one hour."""
    delay: timedelta = BACKOFF_BASE * (2 ** max(attempts - 1, 0))
    return min(delay, timedelta(hours=1))


class Sender(Loop):
    """Claims due messages, sends identical texts together, records each recipient's outcome.

    Crash safety (docs/sending.md): a batch is claimed with FOR UPDATE SKIP LOCKED and a lease
    (`claimed_until`); right before each gateway request the sender renews the lease of that request's
    messages, on condition that it still holds them (the lease value it wrote is its fencing token), and
    it records the request's outcome before the next request goes out. So a message is only ever
    repeated if a sender died (or stalled past its lease) with that message's request in flight.
    """

    name = "outbox-sender"

    def __init__(
        self,
        gateway: SmsGateway,
        keyring: Keyring,
        *,
        batch: int = 100,
        max_attempts: int = 6,
        rate: float = 0.0,
        daily_cap: int = 0,
        bucket: TokenBucket | None = None,
        lease: timedelta = LEASE,
        channel_rate: float = 0.0,
        census: SenderCensus | None = None,
    ) -> None:
        super().__init__()
        self.gateway = gateway
        self.keyring = keyring
        self.batch = batch
        self.max_attempts = max_attempts
        self.bucket = bucket or TokenBucket(rate)
        self.rate, self.channel_rate, self.census = rate, channel_rate, census
        self.daily_cap = daily_cap
        self.lease = lease
        self._stopping = False
        self._busy = asyncio.Lock()
        self._handed: deque[tuple[datetime, list[OutboundMessage]]] = deque()
        self._outbox_quiet_until = -math.inf  # monotonic time: no claim before, while batches are handed

    def take_over(self, token: datetime, messages: list[OutboundMessage]) -> None:
        """Replies the inbox processor of this process has just written already leased to this sender
        until `token` (written with it, in the same transaction): sent as a claimed batch is, without
        reading them back. Crash safety is a claim's: unsent when this process dies, they are claimed
        again once the lease has run out; the lease is renewed before each request, as for a claim."""
        if messages:
            self._handed.append((token, messages))
            self.wake()

    async def drain(self) -> int:
        """Send everything due: handed-over batches and claimed ones in turn, so that neither waits
        behind the other; while batches are being handed over, an outbox found empty is looked at
        again only after OUTBOX_QUIET seconds (a claim that finds nothing still costs a transaction)."""
        total = 0
        while not self._stopping:
            sent = 0
            if self._handed:
                token, messages = self._handed.popleft()
                sent += await self._send_batch(token, messages)
            if not self._handed or time.monotonic() >= self._outbox_quiet_until:
                claimed = await self.send_due()
                if not claimed:
                    self._outbox_quiet_until = time.monotonic() + OUTBOX_QUIET
                sent += claimed
            if not sent:
                return total
            total += sent
        return total

    async def stop(self) -> None:
        """Let the request in flight finish and be recorded, hand back the rest of the batch and what
        was handed over, then stop: a graceful stop (SIGTERM) never repeats a message, nor leaves one
        waiting for its lease to run out."""
        self._stopping = True
        async with self._busy:
            await super().stop()
            while self._handed:
                token, messages = self._handed.popleft()
                await release(messages, token)
            if self.census is not None:
                await self.census.leave()

    async def send_due(self) -> int:
        """Send one batch claimed from the outbox; returns how many messages it held (0: none due)."""
        async with self._busy:
            await self._pace()
            now = utcnow()
            token, claimed = await self._claim(now)
            messages = await self._within_cap(claimed, now) if self.daily_cap else claimed
            await self._send_groups(token, messages)
            return len(claimed)

    async def _send_batch(self, token: datetime, messages: list[OutboundMessage]) -> int:
        """Send a batch handed over (take_over): replies, which no daily cap holds back."""
        async with self._busy:
            await self._pace()
            await self._send_groups(token, messages)
            return len(messages)

    async def _send_groups(self, token: datetime, messages: list[OutboundMessage]) -> None:
        """Messages leased until `token`, a request per text; what is left when stopping is handed back."""
        groups: dict[str, list[OutboundMessage]] = defaultdict(list)
        for message in messages:
            groups[message.text].append(message)
        for text, group in groups.items():
            if self._stopping:
                await release(group, token)
                continue
            await self._send_group(text, await self._renew(group, token))

    async def _pace(self) -> None:
        """With a channel rate, this sender's share of it: the rate over the live senders (all hosts)."""
        if self.channel_rate > 0:
            senders = 1
            if self.census is not None:
                await self.census.join()
                senders = await self.census.count()
            self.bucket.set_rate(share(self.channel_rate, self.rate, senders))

    async def _within_cap(self, messages: list[OutboundMessage], now: datetime) -> list[OutboundMessage]:
        """Unsolicited messages (broadcasts, reminders, results) over a person's daily cap stay queued
        until midnight UTC; replies to what a person sent are never held back."""
        unsolicited = [m for m in messages if m.in_reply_to_id is None and m.contact_id is not None]  # type: ignore[attr-defined]
        counts = await sent_today({m.contact_id for m in unsolicited}, now)  # type: ignore[attr-defined]
        allowed, deferred = [], []
        for message in messages:
            contact = message.contact_id  # type: ignore[attr-defined]
            if message.in_reply_to_id is None and contact is not None:
                if counts.get(contact, 0) >= self.daily_cap:
                    message.next_attempt_at, message.claimed_until = next_day(now), None
                    message.failure_reason = DAILY_CAP
                    deferred.append(message)
                    continue
                counts[contact] = counts.get(contact, 0) + 1
            allowed.append(message)
        if deferred:
            async with in_transaction() as conn:
                await update_rows(OutboundMessage, deferred, OUTBOX_FIELDS, conn)
        return allowed

    async def _claim(self, now: datetime) -> tuple[datetime, list[OutboundMessage]]:
        """Due messages, leased to this sender until `token` (the lease's end, which only grows from one
        claim of a row to the next, so it tells this claim from any later one)."""
        token = now + self.lease
        async with in_transaction() as conn:
            unclaimed = Q(claimed_until__isnull=True) | Q(claimed_until__lt=now)
            query = OutboundMessage.filter(unclaimed, status=OutboxStatus.QUEUED, next_attempt_at__lte=now)
            if conn.capabilities.dialect == "postgres":  # several senders: never two on one row
                query = query.select_for_update(skip_locked=True)
            query = query.order_by("id").limit(self.batch).using_db(conn)
            messages = await fetch_partial(query, SENDER_LOADED)
            await update_in(OutboundMessage, [m.id for m in messages], {"claimed_until": token}, conn)
        for message in messages:
            message.claimed_until = token
        return token, messages

    async def _renew(self, group: list[OutboundMessage], token: datetime) -> list[OutboundMessage]:
        """The messages of `group` this sender still holds, leased afresh for the request about to go:
        any whose lease ran out and which another sender took over are left to that sender."""
        renewed = utcnow() + self.lease
        ids = [m.id for m in group]
        held_by_me = {"status": OutboxStatus.QUEUED, "claimed_until": token}
        conn = connections.get("default")
        held = await update_in(OutboundMessage, ids, {"claimed_until": renewed}, conn, where=held_by_me)
        if held < len(ids):
            kept = await OutboundMessage.filter(id__in=ids, claimed_until=renewed).values_list(
                "id", flat=True
            )
            log.warning("%d message(s) were taken over by another sender", len(ids) - len(kept))
            group = [m for m in group if m.id in set(kept)]
        for message in group:
            message.claimed_until = renewed
        return group

    async def _send_group(self, text: str, group: Sequence[OutboundMessage]) -> None:
        """One gateway request; its outcomes are written before the next request goes out, so a crash
        can only ever repeat the request that was in flight."""
        if not group:
            return
        changed: list[OutboundMessage] = []
        opted_out: list[object] = []
        undeliverable: dict[object, str] = {}
        by_number: dict[str, OutboundMessage] = {}
        for message in group:
            if message.urn_cipher is None:
                changed.append(self._fail(message, "NoRecipient"))
            else:
                by_number[self.keyring.decrypt(message.urn_cipher)] = message
        if by_number:
            await self.bucket.acquire(len(by_number))
            try:
                results = await run_in_threadpool(self.gateway.send, text, list(by_number))
            except SendError as exc:
                log.warning("send of %d message(s) failed: %s", len(by_number), exc.reason)
                results = []
                changed += [self._after_error(m, exc.retryable, exc.reason) for m in by_number.values()]
                by_number.clear()
            for result in results:
                if result.number in by_number:
                    message = by_number.pop(result.number)
                    changed.append(self._record(message, result))
                    if result.outcome == RecipientOutcome.OPTED_OUT:
                        opted_out.append(message.contact_id)  # type: ignore[attr-defined]
                    if result.status_code in UNDELIVERABLE_STATUS:
                        undeliverable[message.contact_id] = result.status  # type: ignore[attr-defined]
            # The gateway said nothing about these: try again later.
            changed += [self._after_error(m, True, "NoRecipientResult") for m in by_number.values()]
        await self._save(changed, opted_out, undeliverable)

    async def _save(
        self, changed: list[OutboundMessage], opted_out: list[object], undeliverable: dict[object, str]
    ) -> None:
        async with in_transaction() as conn:
            if changed:
                await update_rows(OutboundMessage, changed, OUTBOX_FIELDS, conn)
            for contact_id in opted_out:
                await opt_out(contact_id, conn)
            await mark_undeliverable(undeliverable, conn)

    def _record(self, message: OutboundMessage, result: RecipientResult) -> OutboundMessage:
        # assign(): a batch records hundreds of these, and Model.__setattr__ costs ~0.5 us a field
        assign(message, attempts=message.attempts + 1, claimed_until=None, gateway_status=result.status)
        if result.outcome == RecipientOutcome.ACCEPTED:
            assign(
                message,
                status=OutboxStatus.SENT,
                gateway_id=result.message_id,
                cost=result.cost,
                parts=result.parts or message.parts,
                sent_at=utcnow(),
            )
            return message
        if result.outcome == RecipientOutcome.RETRY:
            return self._after_error(message, True, result.status, counted=True)
        return self._fail(message, result.status)

    def _after_error(
        self, message: OutboundMessage, retryable: bool, reason: str, *, counted: bool = False
    ) -> OutboundMessage:
        if not counted:
            message.attempts += 1
        if not retryable or message.attempts >= self.max_attempts:
            return self._fail(message, reason)
        message.claimed_until = None
        message.failure_reason = reason
        message.next_attempt_at = utcnow() + backoff(message.attempts)
        return message

    @staticmethod
    def _fail(message: OutboundMessage, reason: str) -> OutboundMessage:
        message.status = OutboxStatus.FAILED
        message.failure_reason = reason
        message.claimed_until = None
        return message


async def release(messages: Sequence[OutboundMessage], token: datetime) -> None:
    """Hand back claimed messages that were not sent, so any sender may take them at once."""
    ids = [m.id for m in messages]
    await OutboundMessage.filter(id__in=ids, claimed_until=token).update(claimed_until=None)
