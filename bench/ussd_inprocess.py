"""USSD hops without HTTP: the real app called as ASGI in this process, sessions walking the demo poll.

    python bench/ussd.py --in-process [--sessions 50] [--hops 8000] [--profile] [--database-url URL]

The same walk as the wrk script (bench/ussd.lua): `--sessions` phones at a time dial in, register
through the menus and answer the demo poll, each waiting for its screen before its next hop; a phone
that finished dials again as a new phone. Prints hops/s and the process's CPU per hop (the database
thread's included), so a change to the hop path shows without uvicorn's or wrk's share of the CPU;
`--profile` prints cProfile's top functions.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from common import fresh_database
from sms_inprocess import prepared_app, timed

# What one phone sends, hop by hop (as bench/ussd.lua): dial, consent, pages of districts, the poll.
HOPS = ("", "1", "98", "98", "2007", "1", "47", "1", "98", "98", "1", "2", "1", "2", "15", "more lights")
URL = "/channels/africastalking/ussd"


async def hop(app: Any, body: bytes) -> str:
    """One ASGI request as uvicorn would make it; returns the screen."""
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": URL,
        "raw_path": URL.encode(),
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
    chunks: list[bytes] = []
    delivered = False

    async def receive() -> dict[str, Any]:
        nonlocal delivered
        if delivered:
            await asyncio.Event().wait()
        delivered = True
        return {"type": "http.request", "body": body, "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        if message["type"] == "http.response.body":
            chunks.append(message.get("body", b""))

    await app(scope, receive, send)
    return b"".join(chunks).decode()


@dataclass
class Tally:
    """Hops left to send, and what the screens said: a benchmark of error screens would time nothing."""

    budget: int
    hops: int = 0
    ended: int = 0
    invalid: int = 0


async def walk(app: Any, phones: itertools.count[int], tally: Tally, run: str) -> None:
    """One simulated handset: sessions of new phones, one after another, until the hop budget is spent."""
    while tally.budget > 0:
        phone = next(phones)
        path: list[str] = []
        for given in HOPS:
            if tally.budget <= 0:
                break
            tally.budget -= 1
            if given or path:
                path.append(given)
            form = {
                "sessionId": f"inprocess-{run}-{phone}",
                "serviceCode": "*384*123#",
                "networkCode": "63902",
                "phoneNumber": f"+2547{30000000 + phone:08d}",
                "text": "*".join(path),
            }
            screen = await hop(app, urlencode(form).encode())
            tally.hops += 1
            tally.invalid += "Invalid choice" in screen
            if not screen.startswith("CON "):
                tally.ended += screen.startswith("END ")
                break


async def run(args: argparse.Namespace, tmp: Path, database_url: str) -> None:
    app = await prepared_app(tmp, database_url)
    phones = itertools.count()
    async with app.router.lifespan_context(app):
        warm = Tally(budget=400)
        await asyncio.gather(*(walk(app, phones, warm, "warm") for _ in range(args.sessions)))
        tally = Tally(budget=args.hops)

        async def timed_walks() -> int:
            await asyncio.gather(*(walk(app, phones, tally, "timed") for _ in range(args.sessions)))
            return tally.hops

        hops, seconds, cpu = await timed("hops", "hops" if args.profile else None, timed_walks)
    engine = "PostgreSQL" if args.database_url else "SQLite"
    print(f"USSD in-process on {engine}: {hops} hops, {args.sessions} concurrent sessions")
    print(f"  hops (ASGI, no HTTP)   {hops / seconds:8.0f} hops/s   CPU {cpu / hops * 1e6:5.0f} us/hop")
    print(f"  sessions finished      {tally.ended:8d}   invalid screens {tally.invalid}")


def main(args: argparse.Namespace) -> None:
    tmp = Path(tempfile.mkdtemp(prefix="ureport-bench-"))
    with fresh_database(args.database_url, tmp) as database_url:
        asyncio.run(run(args, tmp, database_url))
