"""Shared benchmark plumbing: servers in subprocesses on 127.0.0.1, load from wrk, RSS, fresh databases.

The load comes from `wrk` (Debian package), a separate C process: a Python HTTP client tops out near
300 requests/s on this machine, far below what uvicorn serves, and would measure itself instead.
"""

from __future__ import annotations

import asyncio
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import httpx

TRIVIAL_APP = """
from starlette.applications import Starlette
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route

async def sms(request):
    await request.form()  # parse the same body our callbacks parse
    return Response(status_code=200)

async def ussd(request):
    await request.form()
    return PlainTextResponse("CON ok")

app = Starlette(routes=[Route("/sms", sms, methods=["POST"]), Route("/ussd", ussd, methods=["POST"]),
                        Route("/", ussd, methods=["GET"])])
"""
CLI = [sys.executable, "-m", "ureport.cli"]
# What `ureport serve` logs when its start-up work is done: the public results, seconds of CPU for a
# thin poll, computed in a thread. Load that started before this would share the CPU with start-up.
SETTLED = "public polls computed"


def ensure_tool(name: str) -> str:
    """Path to the program `name`, installing Debian's package of that name when we can (each bench is
    meant to be one command)."""
    found = shutil.which(name)
    if found is None and os.geteuid() == 0 and shutil.which("apt-get"):
        subprocess.run(["apt-get", "install", "-y", "-q", name], check=False, capture_output=True)
        found = shutil.which(name)
    if found is None:
        raise SystemExit(f"this benchmark needs {name}: apt-get install {name}")
    return found


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def wait_for_http(url: str, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            httpx.get(url, timeout=1.0)
            return
        except httpx.HTTPError:
            time.sleep(0.1)
    raise TimeoutError(f"nothing answered at {url}")


@contextmanager
def process(
    args: Sequence[str],
    *,
    env: Mapping[str, str],
    ready_url: str | None = None,
    log: Path,
    ready_text: str = "",
) -> Iterator[int]:
    """A subprocess (its pid), stopped on exit; its output goes to `log`. Ready when `ready_url`
    answers and `ready_text` appears in its log (either alone for a process with only one of them)."""
    with log.open("ab") as out:
        proc = subprocess.Popen(list(args), env={**os.environ, **env}, stdout=out, stderr=subprocess.STDOUT)
        try:
            if ready_url is not None:
                wait_for_http(ready_url)
            deadline = time.monotonic() + 60
            while ready_text not in log.read_text(errors="replace") and time.monotonic() < deadline:
                time.sleep(0.1)
            yield proc.pid
        finally:
            proc.terminate()
            proc.wait(timeout=20)


@contextmanager
def trivial_server(tmp: Path) -> Iterator[tuple[str, int]]:
    """Starlette endpoints doing nothing but parse the form, served by uvicorn like the real app."""
    (tmp / "trivial_app.py").write_text(TRIVIAL_APP)
    port = free_port()
    args = [sys.executable, "-m", "uvicorn", "trivial_app:app", "--port", str(port), "--no-access-log"]
    args += ["--log-level", "warning", "--app-dir", str(tmp)]
    with process(args, env={}, ready_url=f"http://127.0.0.1:{port}/", log=tmp / "trivial.log") as pid:
        yield f"http://127.0.0.1:{port}", pid


def cpu_seconds(pid: int) -> float:
    """User + system CPU time the process has used so far (all its threads). Per request, it moves less
    than a rate does when other machines share the host: time spent waiting for the CPU is not in it."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def children(pid: int) -> list[int]:
    """The processes `pid` started (`ureport serve`'s inbox process)."""
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:  # gone meanwhile
            continue
        if int(fields[1]) == pid:  # after the state comes the parent's id
            found.append(int(stat.parent.name))
    return found


def peak_rss_mb(pid: int) -> float:
    """VmHWM: the most resident memory the process ever had."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


@dataclass(frozen=True)
class WrkResult:
    requests: int
    seconds: float
    p50_ms: float
    p99_ms: float
    errors: int

    @property
    def rate(self) -> float:
        return self.requests / self.seconds


def run_wrk(
    url: str,
    script: Path,
    *,
    connections: int,
    env: Mapping[str, str],
    seconds: float = 5.0,
    until: Callable[[], bool] | None = None,
) -> WrkResult:
    """Run a wrk Lua script for `seconds`, or until `until()` holds (then SIGINT: wrk prints its summary).

    wrk's own stop() only stops sending and still waits out the whole duration, hence the signal.
    """
    duration = "3600s" if until is not None else f"{round(seconds)}s"
    args = [
        ensure_tool("wrk"),
        "-t1",
        f"-c{connections}",
        f"-d{duration}",
        "--timeout",
        "30s",
        "-s",
        str(script),
        url,
    ]
    proc = subprocess.Popen(args, env={**os.environ, **env}, stdout=subprocess.PIPE, text=True)
    if until is not None:
        while proc.poll() is None and not until():
            time.sleep(0.05)
        proc.send_signal(signal.SIGINT)
    out, _ = proc.communicate(timeout=60)
    match = re.search(r"RESULT requests=(\d+) seconds=([\d.]+) p50=([\d.]+) p99=([\d.]+) errors=(\d+)", out)
    if match is None:
        raise RuntimeError(f"wrk printed no result:\n{out}")
    requests, elapsed, p50, p99, errors = match.groups()
    return WrkResult(int(requests), float(elapsed), float(p50), float(p99), int(errors))


@contextmanager
def fresh_database(server_url: str | None, tmp: Path) -> Iterator[str]:
    """SQLite in `tmp`, or a new database on the given PostgreSQL server, dropped afterwards."""
    if not server_url:
        yield f"sqlite://{tmp}/bench.sqlite3"
        return
    import asyncpg

    name = f"ureport_bench_{uuid.uuid4().hex[:8]}"
    admin = server_url.replace("postgres://", "postgresql://", 1)

    async def execute(sql: str) -> None:
        conn = await asyncpg.connect(admin)
        try:
            await conn.execute(sql)
        finally:
            await conn.close()

    asyncio.run(execute(f'CREATE DATABASE "{name}"'))
    try:
        yield urlunsplit(urlsplit(server_url)._replace(path="/" + name))
    finally:
        asyncio.run(execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


async def count(database_url: str, sql: str) -> int:
    """One integer from the benchmark's database, read directly (the app has no counting endpoint)."""
    if database_url.startswith("sqlite://"):
        import sqlite3

        with sqlite3.connect(database_url.removeprefix("sqlite://")) as conn:
            return int(conn.execute(sql).fetchone()[0])
    import asyncpg

    conn = await asyncpg.connect(database_url.replace("postgres://", "postgresql://", 1))
    try:
        return int(await conn.fetchval(sql))
    finally:
        await conn.close()


def wait_for_count(
    database_url: str, sql: str, expected: int, timeout: float = 900.0, *, at_most: bool = False
) -> float:
    """perf_counter() when the count first reaches `expected` (falls to it, with `at_most`)."""
    deadline = time.perf_counter() + timeout
    while time.perf_counter() < deadline:
        found = asyncio.run(count(database_url, sql))
        if found <= expected if at_most else found >= expected:
            return time.perf_counter()
        time.sleep(0.05)
    raise TimeoutError(f"{sql} never reached {expected}")


async def fetch_row(database_url: str, sql: str) -> tuple[object, ...]:
    """One row from the benchmark's database."""
    if database_url.startswith("sqlite://"):
        import sqlite3

        with sqlite3.connect(database_url.removeprefix("sqlite://")) as conn:
            return tuple(conn.execute(sql).fetchone())
    import asyncpg

    conn = await asyncpg.connect(database_url.replace("postgres://", "postgresql://", 1))
    try:
        return tuple(await conn.fetchrow(sql))
    finally:
        await conn.close()


def as_datetime(value: object) -> datetime:
    """SQLite hands back ISO text, PostgreSQL datetimes."""
    return value if isinstance(value, datetime) else datetime.fromisoformat(str(value))
