"""Inbound SMS through the real app under uvicorn on 127.0.0.1, against a trivial Starlette endpoint.

    python bench/sms_inbound.py [--messages 5000] [--phones 1000] [--concurrency 50] [--database-url URL]

Each phone joins and answers registration and the demo poll, so every message runs the whole path:
callback -> group-committed inbox -> engine -> outbox -> SDK -> fake gateway. Prints messages/s accepted
and fully processed (reply queued), callback latency percentiles, the server's peak RSS, and ratios to
the trivial endpoint measured with the same load generator in the same run.
"""

from __future__ import annotations

import argparse
import asyncio
import sqlite3
import sys
import tempfile
import time
from pathlib import Path

import asyncpg
from common import free_port, peak_rss_mb, post_forms, process, trivial_server

ANSWERS = ["JOIN", "2007", "1", "47", "1", "1", "2", "yes", "no", "15", "more street lights"]


def script(phones: int, messages: int) -> list[list[dict[str, str]]]:
    """One lane per phone: its messages in order, `messages` in all, spread over `phones` numbers."""
    lanes: list[list[dict[str, str]]] = [[] for _ in range(phones)]
    for i in range(messages):
        lane = i % phones
        step = len(lanes[lane])
        lanes[lane].append(
            {
                "from": f"+2547{11000000 + lane:08d}",
                "to": "12345",
                "text": ANSWERS[step % len(ANSWERS)],
                "date": "2026-11-24 10:00:00",
                "id": f"bench-{lane}-{step}",
                "networkCode": "63902",
            }
        )
    return lanes


async def processed(database_url: str) -> int:
    """Inbox rows fully processed, read straight from the database (the app has no counting endpoint)."""
    sql = "SELECT count(*) FROM inbound_message WHERE status = 'processed'"
    if database_url.startswith("sqlite://"):
        with sqlite3.connect(database_url.removeprefix("sqlite://")) as conn:
            return int(conn.execute(sql).fetchone()[0])
    conn = await asyncpg.connect(database_url.replace("postgres://", "postgresql://", 1))
    try:
        return int(await conn.fetchval(sql))
    finally:
        await conn.close()


def run(args: argparse.Namespace) -> None:
    tmp = Path(tempfile.mkdtemp(prefix="ureport-bench-"))
    lanes = script(args.phones, args.messages)
    with trivial_server(tmp) as trivial:
        baseline = asyncio.run(post_forms(trivial + "/sms", lanes, args.concurrency))
    env = {
        "UREPORT_DATA_DIR": str(tmp),
        "UREPORT_DATABASE_URL": args.database_url or f"sqlite://{tmp}/bench.sqlite3",
        "UREPORT_SECRET_KEY": "benchmark-secret-key-0123456789",
        "UREPORT_AT_USERNAME": "bench",
        "UREPORT_AT_API_KEY": "bench-key",
    }
    cli = [sys.executable, "-m", "ureport.cli"]
    gateway_port, app_port = free_port(), free_port()
    with process(
        [*cli, "fake-gateway", "--port", str(gateway_port)],
        env=env,
        ready_url=f"http://127.0.0.1:{gateway_port}/_fake/messages",
    ):
        env["UREPORT_AT_API_URL"] = f"http://127.0.0.1:{gateway_port}"
        prepare(cli, env)
        with process(
            [*cli, "serve", "--port", str(app_port)],
            env=env,
            ready_url=f"http://127.0.0.1:{app_port}/healthz",
        ) as server:
            base = f"http://127.0.0.1:{app_port}"
            began = time.perf_counter()
            result = asyncio.run(post_forms(base + "/channels/africastalking/sms", lanes, args.concurrency))
            done_at = asyncio.run(wait_processed(env["UREPORT_DATABASE_URL"], args.messages))
            rss = peak_rss_mb(server.pid)
    report(args, baseline, result, done_at - began, rss)


async def wait_processed(database_url: str, expected: int, timeout: float = 600.0) -> float:
    deadline = time.perf_counter() + timeout
    while time.perf_counter() < deadline:
        if await processed(database_url) >= expected:
            return time.perf_counter()
        await asyncio.sleep(0.05)
    raise TimeoutError("messages were not all processed")


def prepare(cli: list[str], env: dict[str, str]) -> None:
    import subprocess

    from ureport.flows.loader import shipped_flow_path

    full_env = {**__import__("os").environ, **env}
    subprocess.run([*cli, "locations", "load", "--country", "KE"], env=full_env, check=True)
    poll = shipped_flow_path("safe-streets")
    subprocess.run([*cli, "polls", "load", str(poll), "--activate"], env=full_env, check=True)


def report(args: argparse.Namespace, baseline, result, processing_seconds: float, rss: float) -> None:  # type: ignore[no-untyped-def]
    db = "PostgreSQL" if args.database_url else "SQLite"
    processed_rate = args.messages / processing_seconds
    print(
        f"inbound SMS benchmark on {db}: {args.messages} messages from {args.phones} phones, "
        f"concurrency {args.concurrency}"
    )
    print(
        f"  trivial endpoint      {baseline.rate:8.0f} req/s   p50 {baseline.percentile(50):6.1f} ms   "
        f"p99 {baseline.percentile(99):6.1f} ms"
    )
    print(
        f"  accepted (200)        {result.rate:8.0f} msg/s   p50 {result.percentile(50):6.1f} ms   "
        f"p99 {result.percentile(99):6.1f} ms   statuses {result.statuses}"
    )
    print(f"  processed (replied)   {processed_rate:8.0f} msg/s")
    print(f"  peak RSS (server)     {rss:8.1f} MB")
    print(f"  ratio accepted/trivial   {result.rate / baseline.rate:.2f}")
    print(f"  ratio processed/trivial  {processed_rate / baseline.rate:.2f}   (target >= 0.25)")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--messages", type=int, default=5000)
    parser.add_argument("--phones", type=int, default=1000)
    parser.add_argument("--concurrency", type=int, default=50)
    parser.add_argument(
        "--database-url", help="e.g. postgres://postgres@127.0.0.1:5432/test (default: SQLite)"
    )
    run(parser.parse_args())


if __name__ == "__main__":
    main()
