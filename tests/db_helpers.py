"""Helpers for tests of ureport.db and ureport.sqlite_backend."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any


def count_trips(thread: Any) -> Callable[[], int]:
    """Counts the calls made on an aiosqlite connection's thread from now on (for the rest of the
    connection's life: each test has its own database)."""
    calls = 0
    original = thread._execute

    async def counted(*args: Any, **kwargs: Any) -> Any:
        nonlocal calls
        calls += 1
        return await original(*args, **kwargs)

    thread._execute = counted
    return lambda: calls
