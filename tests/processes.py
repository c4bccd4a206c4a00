"""Real `ureport` processes for tests: start them on 127.0.0.1, wait for them patiently, kill them."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

import httpx

from ureport.settings import Settings


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def environment(settings: Settings, **extra: str) -> dict[str, str]:
    """The environment of a process sharing the test's database, secret and fake gateway."""
    env = {
        **os.environ,
        "UREPORT_DATA_DIR": str(settings.data_dir),
        "UREPORT_DATABASE_URL": settings.db_url,
        "UREPORT_SECRET_KEY": settings.require_secret(),
        "UREPORT_AT_USERNAME": "testapp",
        "UREPORT_AT_API_KEY": "test-api-key",
        "UREPORT_AT_API_URL": str(settings.at_api_url),
    }
    return {**env, **extra}


def start(args: list[str], env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    """`ureport ARGS` in its own process, its output appended to `log`."""
    with log.open("ab") as out:
        return subprocess.Popen(
            [sys.executable, "-m", "ureport.cli", *args], env=env, stdout=out, stderr=subprocess.STDOUT
        )


def kill(proc: subprocess.Popen[bytes]) -> None:
    """SIGKILL: no graceful shutdown, as in a crash or an OOM kill."""
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)


def healthy(url: str) -> bool:
    try:
        return httpx.get(url + "/healthz", timeout=1).status_code == 200
    except httpx.HTTPError:
        return False


def wait_until(condition: Callable[[], bool], *, what: str, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


async def eventually(condition: Callable[[], Awaitable[bool]], *, what: str, timeout: float = 60.0) -> None:
    """Poll an async condition with a generous deadline (a loaded 2-core machine is slow, not wrong)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if await condition():
            return
        await asyncio.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")
