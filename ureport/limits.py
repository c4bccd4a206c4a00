"""Sending limits: a token bucket for the gateway's rate (per sender, and the channel's shared by every
live sender), and a daily cap per person against flooding."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Collection
from datetime import datetime, timedelta
from datetime import time as dtime
from typing import Any

from tortoise.functions import Count

from ureport.models import OutboundMessage


class TokenBucket:
    """`rate` messages a second on average, bursts of up to `burst`; rate 0 means unlimited.

    Taking more tokens than there are leaves a debt that the caller sleeps off before sending, so a
    bulk request of any size is allowed and the average rate still holds. The clock and the sleep are
    injected: tests run it without waiting.
    """

    def __init__(
        self,
        rate: float,
        *,
        burst: float | None = None,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self.rate = rate
        self.burst = burst if burst is not None else max(rate, 1.0)
        self._clock = clock
        self._sleep = sleep
        self._tokens = self.burst
        self._at = clock()

    def take(self, n: int) -> float:
        """Take n tokens; returns the seconds to wait before using them (0 when they were there)."""
        if self.rate <= 0:
            return 0.0
        now = self._clock()
        self._tokens = min(self.burst, self._tokens + (now - self._at) * self.rate)
        self._at = now
        self._tokens -= n
        return max(0.0, -self._tokens / self.rate)

    def set_rate(self, rate: float) -> None:
        """Change the pace from now on (the channel's share when senders come and go)."""
        if rate != self.rate:
            self.take(0)  # tokens earned at the old rate are kept
            self.rate, self.burst = rate, max(rate, 1.0)
            self._tokens = min(self._tokens, self.burst)

    async def acquire(self, n: int) -> None:
        wait = self.take(n)
        if wait > 0:
            await self._sleep(wait)


def next_day(now: datetime) -> datetime:
    """Midnight UTC after `now`: when a capped person's messages may go again."""
    return datetime.combine(now.date() + timedelta(days=1), dtime(0), tzinfo=now.tzinfo)


async def sent_today(contact_ids: Collection[object], now: datetime) -> dict[object, int]:
    """Unsolicited messages (not replies) each contact was sent since midnight UTC, from the outbox."""
    if not contact_ids:
        return {}
    midnight = datetime.combine(now.date(), dtime(0), tzinfo=now.tzinfo)
    rows = (
        await OutboundMessage.filter(
            contact_id__in=list(contact_ids), sent_at__gte=midnight, in_reply_to_id__isnull=True
        )
        .annotate(n=Count("id"))
        .group_by("contact_id")
        .values_list("contact_id", "n")
    )
    return {contact: int(n) for contact, n in rows}


def share(channel_rate: float, sender_rate: float, senders: int) -> float:
    """Each sender's pace: its even share of the channel's rate, never above its own limit (0: none)."""
    rates = [r for r in (channel_rate / max(senders, 1) if channel_rate > 0 else 0.0, sender_rate) if r > 0]
    return min(rates, default=0.0)


class SenderCensus:
    """How many senders are alive, so that they can share the channel's rate evenly (PostgreSQL).

    Each sender holds a session-level advisory lock (CENSUS, slot) on a connection of its own for as
    long as it lives; the database releases it when the process dies, however it dies. Counting the
    granted locks counts the live senders, on every host, with no table and no heartbeat.
    """

    CENSUS = 0x7572  # the first key of ureport's advisory locks ("ur")
    SLOTS = 4096

    def __init__(self, database_url: str) -> None:
        self._url = database_url.split("?", 1)[0].replace("postgres://", "postgresql://", 1)
        self._conn: Any = None

    async def join(self) -> None:
        import asyncpg  # type: ignore[import-untyped]  # the driver Tortoise uses for PostgreSQL

        if self._conn is not None:
            return
        conn = await asyncpg.connect(self._url)
        for slot in range(self.SLOTS):
            if await conn.fetchval("SELECT pg_try_advisory_lock($1, $2)", self.CENSUS, slot):
                self._conn = conn
                return
        await conn.close()
        raise RuntimeError(f"more than {self.SLOTS} senders")

    async def count(self) -> int:
        """Live senders (this one included once it has joined)."""
        if self._conn is None:
            return 1
        sql = (
            "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND granted AND classid = $1"
            " AND database = (SELECT oid FROM pg_database WHERE datname = current_database())"
        )
        return max(int(await self._conn.fetchval(sql, self.CENSUS)), 1)

    async def leave(self) -> None:
        if self._conn is not None:
            conn, self._conn = self._conn, None
            await conn.close()
