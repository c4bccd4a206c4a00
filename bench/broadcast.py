"""Broadcast fan-out: start the demo poll for N synthetic contacts, then drain the outbox to the fake gateway.

    python bench/broadcast.py [--contacts 100000] [--database-url postgres://postgres@127.0.0.1:5432/test]

Prints contacts queued per second (runs created and first messages queued, one transaction per 500
contacts), messages sent per second (rate limiting off), this process's peak RSS, duplicates seen by the
fake gateway, and the ratio of the sender's request rate to the fake gateway's raw request rate measured
in the same run (the same SDK call, 100 recipients a request, with no database in between).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import secrets
import sys
import tempfile
import time
import uuid
from pathlib import Path

import httpx
from tortoise.transactions import in_transaction

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from common import CLI, free_port, fresh_database, peak_rss_mb, process  # noqa: E402

from ureport import db  # noqa: E402
from ureport.broadcast import Broadcaster, Cohort  # noqa: E402
from ureport.channels.gateway import AfricasTalkingGateway, RecipientResult  # noqa: E402
from ureport.clock import utcnow  # noqa: E402
from ureport.db import insert_rows  # noqa: E402
from ureport.demo import load_demo_content  # noqa: E402
from ureport.models import Contact, ContactStatus, Location, OutboundMessage, OutboxStatus  # noqa: E402
from ureport.outbox import Sender  # noqa: E402
from ureport.polls import Catalog  # noqa: E402
from ureport.privacy import Keyring  # noqa: E402

RAW_TEXT = "bench: raw gateway request"


class CountingGateway(AfricasTalkingGateway):
    requests = 0

    def send(self, text: str, recipients: list[str]) -> list[RecipientResult]:  # type: ignore[override]
        CountingGateway.requests += 1
        return super().send(text, recipients)


async def make_contacts(n: int, keyring: Keyring) -> None:
    """N opted-in contacts spread over the districts, written with one prepared INSERT per 5,000."""
    districts = await Location.all().values_list("id", flat=True)
    now = utcnow()
    for start in range(0, n, 5000):
        rows = []
        for i in range(start, min(n, start + 5000)):
            number = f"+2547{i:08d}"
            rows.append(
                {
                    "id": uuid.uuid4(),
                    "urn_digest": keyring.digest(number),
                    "urn_cipher": keyring.encrypt(number),
                    "status": ContactStatus.ACTIVE,
                    "language": "en",
                    "birth_year": 2008,
                    "sex": "female",
                    "district_id": districts[i % len(districts)],
                    "fields_json": {},
                    "created_at": now,
                }
            )
        async with in_transaction() as conn:
            await insert_rows(Contact, rows, conn)


def raw_rate(gateway: AfricasTalkingGateway, requests: int = 40) -> float:
    numbers = [f"+2547990{i:05d}" for i in range(100)]
    started = time.perf_counter()
    for _ in range(requests):
        gateway.send(RAW_TEXT, numbers)
    return requests / (time.perf_counter() - started)


async def run(args: argparse.Namespace, database_url: str, gateway_url: str) -> None:
    await db.migrate(database_url)
    await db.init(database_url)
    try:
        keyring = Keyring.from_secret(secrets.token_urlsafe(32), version=1, previous={})
        await load_demo_content()
        await make_contacts(args.contacts, keyring)
        catalog = Catalog()
        started = time.perf_counter()
        count = await Broadcaster(catalog, "KE").start("safe-streets", Cohort())
        queue_seconds = time.perf_counter() - started
        gateway = CountingGateway(username="bench", api_key="bench-key", sender="12345", api_url=gateway_url)
        sender = Sender(gateway, keyring, batch=args.send_batch)
        started = time.perf_counter()
        sent = await sender.drain()
        send_seconds = time.perf_counter() - started
        requests = CountingGateway.requests
        raw = raw_rate(gateway)
        failed = await OutboundMessage.filter(status=OutboxStatus.FAILED).count()
        rss = peak_rss_mb(os.getpid())  # before the gateway's log is read back below
    finally:
        await db.close()
    messages = httpx.get(f"{gateway_url}/_fake/messages", timeout=120).json()
    pairs = [(m["number"], m["text"]) for m in messages if m["text"] != RAW_TEXT]
    print(f"contacts started: {count} in {queue_seconds:.1f} s = {count / queue_seconds:,.0f} contacts/s")
    print(f"messages sent: {sent} in {send_seconds:.1f} s = {sent / send_seconds:,.0f} messages/s")
    print(f"  {requests} gateway requests = {requests / send_seconds:.1f} requests/s; failed {failed}")
    print(f"fake gateway raw: {raw:.1f} requests/s (100 recipients each)")
    print(f"ratio send requests/s : raw requests/s = {requests / send_seconds / raw:.2f}")
    print(f"received by the gateway: {len(pairs)}, duplicates: {len(pairs) - len(set(pairs))}")
    print(f"peak RSS of the broadcasting process: {rss:.0f} MB")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--contacts", type=int, default=100_000)
    parser.add_argument("--send-batch", type=int, default=500)  # UREPORT_SEND_BATCH's default
    parser.add_argument("--database-url", default=os.environ.get("BENCH_DATABASE_URL"))
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp, fresh_database(args.database_url, Path(tmp)) as url:
        port = free_port()
        gateway_url = f"http://127.0.0.1:{port}"
        fake = [*CLI, "fake-gateway", "--port", str(port)]
        with process(fake, env={}, ready_url=f"{gateway_url}/_fake/messages", log=Path(tmp) / "fake.log"):
            asyncio.run(run(args, url, gateway_url))


if __name__ == "__main__":
    main()
