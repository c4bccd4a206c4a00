"""The inbox: accepted callbacks are persisted (group commit) before the response, and only then processed."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any

from tortoise.connection import connections

from ureport.background import Loop, Task
from ureport.db import fetch_where, insert_rows_atomically
from ureport.models import InboundMessage, InboxStatus

log = logging.getLogger(__name__)

MAX_GROUP = 500


@dataclass(slots=True)
class _Pending:
    row: Mapping[str, Any]  # InboundMessage's fields, every one but the id
    done: asyncio.Future[None]


class GroupCommitter(Task):
    """One writer task commits every row queued meanwhile in one transaction, then answers each caller.

    The caller's response waits for its own row's commit, so "accepted means persisted" holds; sharing
    one commit among all concurrent callbacks is what lets SQLite keep up (see reference/performance.md).
    Rows repeating a gateway id are ignored by the unique constraint: retries are idempotent.
    """

    name = "inbox-writer"

    def __init__(self, on_commit: Callable[[], None] | None = None) -> None:
        super().__init__()
        self._queue: asyncio.Queue[_Pending] = asyncio.Queue()
        self.on_commit = on_commit  # wakes the processor: this process's, or one of its own

    async def persist(self, row: Mapping[str, Any]) -> None:
        """Return once `row` (or an earlier row with the same gateway id) is committed.

        A row is plain column values, not an InboundMessage: building a model per callback cost more
        than its share of the commit."""
        if not self.running:
            raise RuntimeError("the inbox writer is not running")
        pending = _Pending(row, asyncio.get_running_loop().create_future())
        await self._queue.put(pending)
        await pending.done

    async def _run(self) -> None:
        while True:
            group = [await self._queue.get()]
            while len(group) < MAX_GROUP and not self._queue.empty():
                group.append(self._queue.get_nowait())
            await self._commit(group)

    async def _commit(self, group: list[_Pending]) -> None:
        try:
            await insert_rows_atomically(InboundMessage, [p.row for p in group], ignore_conflicts=True)
        except Exception as exc:  # a failed commit must fail every caller, never hang them
            log.exception("inbox commit failed for %d messages", len(group))
            for pending in group:
                if not pending.done.done():
                    pending.done.set_exception(exc)
            return
        for pending in group:
            if not pending.done.done():
                pending.done.set_result(None)
        if self.on_commit is not None:
            self.on_commit()


class InboxProcessor(Loop):
    """Processes pending inbox rows in arrival order; pending rows left by a crash are picked up on start."""

    name = "inbox-processor"

    def __init__(
        self,
        handle: Callable[[list[InboundMessage]], Awaitable[None]],
        *,
        batch: int = 500,
        idle_seconds: float = 1.0,
        busy_seconds: float | None = None,
    ) -> None:
        super().__init__(idle_seconds=idle_seconds, busy_seconds=busy_seconds)
        self._handle = handle
        self._batch = batch

    async def drain(self) -> int:
        """Process until nothing is pending; returns how many rows were handled."""
        total, after = 0, 0
        # Each pass visits a row once: a row that failed stays pending for the next pass, not a hot loop.
        while rows := await pending_rows(self._batch, after=after):
            await self._handle(rows)
            total, after = total + len(rows), rows[-1].id
        return total


async def pending_rows(limit: int, *, after: int = 0) -> list[InboundMessage]:
    # Only what processing reads: building full rows (dates parsed) costs more than the query.
    return await fetch_where(
        InboundMessage,
        ("id", "urn_digest", "urn_cipher", "text_cipher", "attempts"),
        connections.get("default"),
        where={"status": InboxStatus.PENDING, "id__gt": after},
        order_by="id",
        limit=limit,
    )
