"""Shared benchmark plumbing: servers in subprocesses on 127.0.0.1, a load generator, RSS and percentiles."""

from __future__ import annotations

import asyncio
import os
import socket
import statistics
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

TRIVIAL_APP = """
from starlette.applications import Starlette
from starlette.responses import Response
from starlette.routing import Route

async def endpoint(request):
    await request.form()  # parse the same body our callbacks parse
    return Response(status_code=200)

app = Starlette(routes=[Route("/{path:path}", endpoint, methods=["POST", "GET"])])
"""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def wait_for_http(url: str, timeout: float = 30.0) -> None:
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
    args: Sequence[str], *, env: Mapping[str, str], ready_url: str
) -> Iterator[subprocess.Popen[bytes]]:
    """A server subprocess, stopped on exit; output goes to a log file beside the data."""
    log = open(Path(env.get("UREPORT_DATA_DIR", ".")) / f"{Path(args[0]).name}-{os.getpid()}.log", "ab")
    proc = subprocess.Popen(list(args), env={**os.environ, **env}, stdout=log, stderr=subprocess.STDOUT)
    try:
        wait_for_http(ready_url)
        yield proc
    finally:
        proc.terminate()
        proc.wait(timeout=10)
        log.close()


@contextmanager
def trivial_server(tmp: Path) -> Iterator[str]:
    """A Starlette endpoint doing nothing but parse the form, served by uvicorn like the real app."""
    (tmp / "trivial_app.py").write_text(TRIVIAL_APP)
    port = free_port()
    args = [sys.executable, "-m", "uvicorn", "trivial_app:app", "--port", str(port), "--no-access-log"]
    args += ["--log-level", "warning", "--app-dir", str(tmp)]
    with process(args, env={"UREPORT_DATA_DIR": str(tmp)}, ready_url=f"http://127.0.0.1:{port}/"):
        yield f"http://127.0.0.1:{port}"


def peak_rss_mb(pid: int) -> float:
    """VmHWM: the most resident memory the process ever had."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


@dataclass
class LoadResult:
    seconds: float
    latencies: list[float]
    statuses: dict[int, int]

    @property
    def rate(self) -> float:
        return len(self.latencies) / self.seconds

    def percentile(self, q: float) -> float:
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, int(q / 100 * len(ordered)))] * 1000


async def post_forms(url: str, bodies: Sequence[Sequence[dict[str, str]]], concurrency: int) -> LoadResult:
    """POST every body; each inner sequence is sent in order (one phone's messages), lanes in parallel."""
    latencies: list[float] = []
    statuses: dict[int, int] = {}
    queue: asyncio.Queue[Sequence[dict[str, str]]] = asyncio.Queue()
    for lane in bodies:
        queue.put_nowait(lane)
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(limits=limits, timeout=30.0) as client:

        async def worker() -> None:
            while not queue.empty():
                for form in queue.get_nowait():
                    start = time.perf_counter()
                    response = await client.post(url, data=form)
                    latencies.append(time.perf_counter() - start)
                    statuses[response.status_code] = statuses.get(response.status_code, 0) + 1

        began = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        return LoadResult(time.perf_counter() - began, latencies, statuses)


def summary(values: Sequence[float]) -> str:
    return f"median {statistics.median(values):.1f}"
