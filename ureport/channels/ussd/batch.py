"""Group commit for USSD hops: hops that arrive together share one transaction (reference/performance.md)."""

from __future__ import annotations

import asyncio
import contextlib
import logging

from ureport.channels.ussd.payloads import UssdRequest
from ureport.channels.ussd.sessions import Reply, UssdService
from ureport.privacy import Identity

log = logging.getLogger(__name__)

MAX_BATCH = 200


class HopBatcher:
    """One task answers every queued hop in one transaction, then wakes each waiting request.

    Each request still waits for its own hop to be committed, so a screen shown is a screen saved;
    what is shared is the transaction and its reads, which on SQLite is most of a hop's cost.
    """

    def __init__(self, service: UssdService) -> None:
        self.service = service
        self._queue: list[tuple[UssdRequest, Identity, asyncio.Future[Reply]]] = []
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    async def hop(self, request: UssdRequest, sender: Identity) -> Reply:
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(self._run())
        future: asyncio.Future[Reply] = asyncio.get_running_loop().create_future()
        self._queue.append((request, sender, future))
        self._wake.set()
        return await future

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def _run(self) -> None:
        while True:
            await self._wake.wait()
            self._wake.clear()
            while self._queue:
                batch, self._queue = self._queue[:MAX_BATCH], self._queue[MAX_BATCH:]
                await self._answer(batch)

    async def _answer(self, batch: list[tuple[UssdRequest, Identity, asyncio.Future[Reply]]]) -> None:
        try:
            replies = await self.service.process([(request, sender) for request, sender, _ in batch])
        except Exception:
            if len(batch) == 1:  # this hop alone fails: its request answers with an error line
                request, _, future = batch[0]
                log.exception("USSD hop failed in session %s", request.session_id)
                if not future.done():
                    future.set_exception(RuntimeError("hop failed"))
                return
            for item in batch:  # one bad hop (or a race on a new session) must not fail the others
                await self._answer([item])
            return
        for (_, _, future), reply in zip(batch, replies, strict=True):
            if not future.done():
                future.set_result(reply)
