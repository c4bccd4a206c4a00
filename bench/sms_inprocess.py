"""The inbound SMS path without HTTP: the real app called as ASGI in this process, then its processor.

    python bench/sms_inbound.py --in-process [--profile accept|process] [--database-url URL]

The same N callbacks as the wrk script go straight into the app (routing, form parsing, the group
commit), `--connections` at a time; then the inbox processor drains them (engine, workspace, replies
queued); then the sender sends the replies through the SDK to a fake gateway in a process of its own.
Each phase is timed alone, so a change to any shows without uvicorn's or wrk's share of the CPU.
`--profile` prints cProfile's top functions for one phase.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import pstats
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from common import CLI, free_port, fresh_database, process

ANSWERS = ("JOIN", "2007", "1", "47", "1", "1", "2", "yes", "no", "15", "more street lights")
# JOIN, year of birth, sex, district and language register a phone; the rest answer the demo poll.
REGISTRATION = 5


def bodies(messages: int, phones: int, *, first: int = 0, run: str = "inprocess") -> list[bytes]:
    """The wrk script's request bodies (sms_inbound.lua), in the same order, from answer `first` on."""
    out = []
    for i in range(messages):
        phone, step = i % phones, i // phones + first
        form = {
            "from": f"+2547{11000000 + phone:08d}",
            "to": "12345",
            "date": "2026-11-24 10:00:00",
            "networkCode": "63902",
            "id": f"bench-{run}-{i}",
            "text": ANSWERS[step % len(ANSWERS)],
        }
        out.append(urlencode(form).encode())
    return out


async def post(app: Any, path: str, body: bytes) -> int:
    """One ASGI request as uvicorn would make it; returns the status."""
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": [
            (b"host", b"127.0.0.1"),
            (b"content-type", b"application/x-www-form-urlencoded"),
            (b"content-length", str(len(body)).encode()),
        ],
        "client": ("127.0.0.1", 5000),
        "server": ("127.0.0.1", 8000),
    }
    sent = False
    status = 0

    async def receive() -> dict[str, Any]:
        nonlocal sent
        if sent:
            await asyncio.Event().wait()
        sent = True
        return {"type": "http.request", "body": body, "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        nonlocal status
        if message["type"] == "http.response.start":
            status = message["status"]

    await app(scope, receive, send)
    return status


async def timed(
    phase: str, profile: str | None, work: Callable[[], Awaitable[int]]
) -> tuple[int, float, float]:
    """What `work` did, its wall-clock seconds and the process's CPU seconds meanwhile (every thread:
    the database's included). CPU time moves less than wall time on a machine shared with others."""
    profiler = cProfile.Profile() if profile == phase else None
    cpu = time.process_time()
    start = time.perf_counter()
    if profiler is not None:
        profiler.enable()
    done = await work()
    if profiler is not None:
        profiler.disable()
    elapsed = time.perf_counter() - start
    cpu = time.process_time() - cpu
    if profiler is not None:
        pstats.Stats(profiler).sort_stats("cumulative").print_stats(45)
        pstats.Stats(profiler).sort_stats("tottime").print_stats(35)
    return done, elapsed, cpu


async def prepared_app(tmp: Path, database_url: str, gateway_url: str | None = None) -> Any:
    """The app with no background tasks (the caller drives them), on a database holding Kenya's counties
    and the demo poll, active: what `serve --demo` would load. Sends to `gateway_url`, if given."""
    from ureport import db
    from ureport.app import create_app
    from ureport.flows.loader import shipped_flow_path
    from ureport.locations import country_districts
    from ureport.polls import load_poll_file, save_places
    from ureport.settings import Settings

    gateway = {"at_username": "bench", "at_api_key": "bench-key", "at_api_url": gateway_url}
    settings = Settings(
        data_dir=tmp,
        database_url=database_url,
        secret_key="benchmark-secret-key-0123456789",  # noqa: S106
        default_region="KE",
        **(gateway if gateway_url else {}),  # type: ignore[arg-type]
    )
    await db.migrate(database_url)
    await db.init(database_url)
    await save_places(country_districts("KE"))
    await load_poll_file(shipped_flow_path("safe-streets"), activate=True)
    await db.close()
    return create_app(settings, background=False)


async def run(args: argparse.Namespace, tmp: Path, database_url: str, gateway_url: str) -> None:
    app = await prepared_app(tmp, database_url, gateway_url)
    first = 0 if args.fresh_phones else REGISTRATION
    requests = bodies(args.messages, args.phones, first=first)
    async with app.router.lifespan_context(app):
        limit = asyncio.Semaphore(args.connections)

        async def one(body: bytes) -> int:
            async with limit:
                return await post(app, "/channels/africastalking/sms", body)

        async def accept(batch: list[bytes] = requests) -> int:
            statuses = await asyncio.gather(*(one(body) for body in batch))
            assert set(statuses) == {200}, set(statuses)
            return len(statuses)

        if not args.fresh_phones:  # not timed: the phones join and register first
            await accept(bodies(args.phones * REGISTRATION, args.phones, run="register"))
            await app.state.processor.drain()
            await app.state.sender.drain()

        accepted, accept_s, accept_cpu = await timed("accept", args.profile, accept)
        processed, process_s, process_cpu = await timed("process", args.profile, app.state.processor.drain)
        sent, send_s, send_cpu = await timed("send", args.profile, app.state.sender.drain)
    engine = "PostgreSQL" if args.database_url else "SQLite"
    print(f"in-process on {engine}: {args.messages} messages, {args.phones} phones, {args.connections} conns")
    print(
        f"  accepted (ASGI, no HTTP)  {accepted / accept_s:8.0f} msg/s",
        f"  CPU {accept_cpu / accepted * 1e6:5.0f} us/msg",
    )
    print(
        f"  processed (reply queued)  {processed / process_s:8.0f} msg/s",
        f"  CPU {process_cpu / processed * 1e6:5.0f} us/msg",
    )
    print(
        f"  sent (SDK, fake gateway)  {sent / send_s:8.0f} msg/s",
        f"  CPU {send_cpu / sent * 1e6:5.0f} us/msg",
    )
    print(f"  all three, one after another {args.messages / (accept_s + process_s + send_s):5.0f} msg/s")


def main(args: argparse.Namespace) -> None:
    tmp = Path(tempfile.mkdtemp(prefix="ureport-bench-"))
    port = free_port()
    gateway = [*CLI, "fake-gateway", "--port", str(port)]
    gateway_url = f"http://127.0.0.1:{port}"
    with (
        process(gateway, env={}, ready_url=f"{gateway_url}/_fake/messages", log=tmp / "gw.log"),
        fresh_database(args.database_url, tmp) as database_url,
    ):
        asyncio.run(run(args, tmp, database_url, gateway_url))
