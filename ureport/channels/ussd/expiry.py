"""Expired USSD sessions are deleted in the background, a bounded batch per transaction.

A session row lives `expires_at` = last hop + the resume window (at least AT's 180 s session limit):
until then it answers retries and offers "continue where you left off"; after, nothing reads it.
The table therefore holds only the last few minutes of sessions, so the sweep's scan stays cheap
without an index, and batches keep each delete's lock short beside the hops' group commits.
"""

from __future__ import annotations

from datetime import datetime

from ureport.background import Loop
from ureport.clock import utcnow
from ureport.models import UssdSession

SWEEP_BATCH = 500
SWEEP_SECONDS = 60.0  # a minute late is harmless: an expired row is never read again


async def delete_expired(now: datetime, *, batch: int = SWEEP_BATCH) -> int:
    """Delete at most `batch` sessions expired before `now`; returns how many went."""
    ids = await UssdSession.filter(expires_at__lt=now).limit(batch).values_list("id", flat=True)
    if not ids:
        return 0
    # Checked again: a hop may have renewed one of them between the two statements.
    return await UssdSession.filter(id__in=list(ids), expires_at__lt=now).delete()


class SessionSweeper(Loop):
    """Every minute, deletes expired sessions batch by batch until none is left."""

    name = "ussd-session-sweeper"

    def __init__(self, *, idle_seconds: float = SWEEP_SECONDS, batch: int = SWEEP_BATCH) -> None:
        super().__init__(idle_seconds=idle_seconds)
        self._batch = batch

    async def drain(self) -> int:
        total, now = 0, utcnow()
        while (deleted := await delete_expired(now, batch=self._batch)) > 0:
            total += deleted
        return total
