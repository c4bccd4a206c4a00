"""Background loops in the server process: do the work that is due, then sleep until woken or idle."""

from __future__ import annotations

import asyncio
import logging
import math
import time
from abc import ABC, abstractmethod

log = logging.getLogger(__name__)


class Task(ABC):
    """One asyncio task with start/stop, for the writer, the processor and the sender."""

    name = "task"

    def __init__(self) -> None:
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name=self.name)

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
            self._task = None

    @property
    def running(self) -> bool:
        return self._task is not None

    @abstractmethod
    async def _run(self) -> None: ...


class Loop(Task):
    """Calls `drain()` whenever woken (or every `idle` seconds); a failure is logged and retried later,
    since the work it left stays in the database.

    With `busy_seconds`, it looks that often instead while work has kept coming (within the last
    `QUIET_AFTER` seconds): for work that nothing in this process wakes it for, such as a worker's
    inbox filled by the web process, where a long sleep between batches left the inbox idle."""

    QUIET_AFTER = 1.0

    def __init__(self, *, idle_seconds: float = 1.0, busy_seconds: float | None = None) -> None:
        super().__init__()
        self._idle = idle_seconds
        self._soon = idle_seconds if busy_seconds is None else min(busy_seconds, idle_seconds)
        self._last_work = -math.inf  # monotonic time of the last drain that did something
        self._wake = asyncio.Event()

    def wake(self) -> None:
        self._wake.set()

    @abstractmethod
    async def drain(self) -> int:
        """Do everything that is due now; returns how much was done."""

    def pause(self, now: float) -> float:
        """Seconds until the next look, unless woken first."""
        return self._soon if now - self._last_work < self.QUIET_AFTER else self._idle

    async def _run(self) -> None:
        while True:
            try:
                if await self.drain():
                    self._last_work = time.monotonic()
            except Exception:  # keep serving: whatever failed is still due and is retried
                log.exception("%s failed; retrying", self.name)
            self._wake.clear()
            try:
                await asyncio.wait_for(self._wake.wait(), timeout=self.pause(time.monotonic()))
            except TimeoutError:
                pass
