"""USSD hops through the real app under uvicorn on 127.0.0.1, against a trivial Starlette endpoint.

    python bench/ussd.py [--sessions 50] [--seconds 10] [--database-url URL]

C concurrent simulated sessions (one wrk thread each, so every session waits for its screen before the
next hop) dial in, register through the menus and answer the demo poll, then dial again as a new phone.
Prints hops/s, hop latency p50/p95/p99, sessions finished, the server's peak RSS, and the ratio to a
trivial endpoint answering `CON ok` in the same run. A USSD hop is processed within its request, so
hops/s is the processed throughput. `--database-url postgres://postgres@127.0.0.1:5432/test` runs it
on a fresh PostgreSQL database.
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

from common import (
    CLI,
    SETTLED,
    cpu_seconds,
    ensure_wrk,
    free_port,
    fresh_database,
    peak_rss_mb,
    process,
    trivial_server,
)
from sms_inbound import prepare

SCRIPT = Path(__file__).with_name("ussd.lua")
RESULT = re.compile(
    r"RESULT requests=(\d+) seconds=([\d.]+) p50=([\d.]+) p95=([\d.]+) p99=([\d.]+) errors=(\d+)"
    r" ends=(\d+) invalid=(\d+) bad=(\d+)"
)


@dataclass(frozen=True)
class Load:
    hops: int
    seconds: float
    p50: float
    p95: float
    p99: float
    errors: int
    ends: int
    invalid: int
    bad: int

    @property
    def rate(self) -> float:
        return self.hops / self.seconds


WARM_UP_PHONES = 60_000_000  # the warm-up's phones (+2547 6...), never the timed run's (+2547 2...)


def run_sessions(
    url: str, args: argparse.Namespace, run: str, seconds: float | None = None, phones_from: int = 20_000_000
) -> Load:
    """wrk with one thread per simulated session: each thread's hops are strictly sequential."""
    seconds = args.seconds if seconds is None else seconds
    wrk = [ensure_wrk(), f"-t{args.sessions}", f"-c{args.sessions}", f"-d{seconds}s", "--timeout", "30s"]
    out = subprocess.run(
        [*wrk, "-s", str(SCRIPT), url],
        env={**os.environ, "BENCH_RUN": run, "BENCH_PHONES_FROM": str(phones_from)},
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    match = RESULT.search(out)
    if match is None:
        raise RuntimeError(f"wrk printed no result:\n{out}")
    n, seconds, p50, p95, p99, errors, ends, invalid, bad = match.groups()
    return Load(
        int(n),
        float(seconds),
        float(p50),
        float(p95),
        float(p99),
        int(errors),
        int(ends),
        int(invalid),
        int(bad),
    )


def measured(url: str, args: argparse.Namespace, run: str, pid: int) -> tuple[Load, float]:
    """The load, and the server's CPU microseconds per hop while it ran, after an untimed warm-up (the
    app computes its public results in the background for its first moments, and caches fill)."""
    if args.warm_up:
        run_sessions(url, args, run + "-warm", seconds=args.warm_up, phones_from=WARM_UP_PHONES)
    before = cpu_seconds(pid)
    load = run_sessions(url, args, run)
    return load, (cpu_seconds(pid) - before) / max(load.hops, 1) * 1e6


def measure_app(args: argparse.Namespace, tmp: Path, database_url: str) -> tuple[Load, float, float]:
    env = {
        "UREPORT_DATA_DIR": str(tmp),
        "UREPORT_DATABASE_URL": database_url,
        "UREPORT_SECRET_KEY": "benchmark-secret-key-0123456789",
    }
    prepare(env)
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    serve = [*CLI, "serve", "--port", str(port)]
    with process(serve, env=env, ready_url=base + "/healthz", ready_text=SETTLED, log=tmp / "app.log") as pid:
        load, cpu = measured(base + "/channels/africastalking/ussd", args, "app", pid)
        rss = peak_rss_mb(pid)
    return load, cpu, rss


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--sessions", type=int, default=50, help="concurrent simulated sessions")
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--warm-up", type=int, default=2, help="seconds of untimed load first (0: none)")
    parser.add_argument("--database-url", help="a PostgreSQL server to run on (default: SQLite)")
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="ureport-bench-"))
    with trivial_server(tmp) as (trivial, pid):
        baseline, baseline_cpu = measured(trivial + "/ussd", args, "trivial", pid)
    with fresh_database(args.database_url, tmp) as database_url:
        load, cpu, rss = measure_app(args, tmp, database_url)
    engine = "PostgreSQL" if args.database_url else "SQLite"
    print(f"USSD hops on {engine}: {args.sessions} concurrent sessions, {args.seconds} s")
    row = "  {:<20}{:8.0f} hops/s   p50 {:6.1f} ms   p95 {:6.1f} ms   p99 {:6.1f} ms"
    print(row.format("trivial endpoint", baseline.rate, baseline.p50, baseline.p95, baseline.p99))
    print(row.format("real app", load.rate, load.p50, load.p95, load.p99), "  (target p99 < 100 ms)")
    bad = load.bad + load.errors
    print(f"  sessions finished   {load.ends:8d}   invalid screens {load.invalid}   bad replies {bad}")
    print(f"  server CPU per hop  {cpu:8.0f} us   (trivial endpoint {baseline_cpu:.0f} us)")
    print(f"  peak RSS (server)   {rss:8.1f} MB")
    print(f"  ratio app/trivial      {load.rate / baseline.rate:5.2f}   (target >= 0.25)")


if __name__ == "__main__":
    main()
