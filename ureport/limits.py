"""Sending limits: a token bucket for the gateway's rate, and a daily cap per person against flooding."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Collection
from datetime import datetime, timedelta
from datetime import time as dtime

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
