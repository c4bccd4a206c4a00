"""Background loops look again soon while work keeps coming, and rarely once it stopped."""

from __future__ import annotations

import asyncio

import pytest

from ureport.background import Loop

pytestmark = pytest.mark.anyio


class Probe(Loop):
    name = "probe"

    def __init__(self, work: list[int], **timing: float) -> None:
        super().__init__(**timing)
        self.work = work
        self.drained = asyncio.Event()

    async def drain(self) -> int:
        done = self.work.pop(0) if self.work else 0
        if not self.work:
            self.drained.set()
        return done


def test_a_loop_without_busy_seconds_always_waits_its_idle_seconds() -> None:
    loop = Probe([], idle_seconds=2.0)
    loop._last_work = 100.0
    assert (loop.pause(100.1), loop.pause(200.0)) == (2.0, 2.0)


def test_the_busy_pause_holds_for_a_second_after_the_last_work() -> None:
    loop = Probe([], idle_seconds=0.05, busy_seconds=0.005)
    assert loop.pause(100.0) == 0.05  # nothing done yet
    loop._last_work = 100.0
    assert loop.pause(100.0) == loop.pause(100.99) == 0.005
    assert loop.pause(101.0) == 0.05
    assert Probe([], idle_seconds=0.05, busy_seconds=3.0).pause(0.0) == 0.05  # never slower than idle


async def test_a_drain_that_did_work_starts_the_busy_pause() -> None:
    loop = Probe([3, 0], idle_seconds=60.0, busy_seconds=0.001)
    loop.start()
    try:
        # The second drain comes after the busy pause, not after a minute.
        await asyncio.wait_for(loop.drained.wait(), timeout=30)
    finally:
        await loop.stop()
    assert loop.pause(loop._last_work) == 0.001
