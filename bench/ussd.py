"""USSD hops through the real app under uvicorn on 127.0.0.1, against a trivial Starlette endpoint.

    python bench/ussd.py [--sessions 50] [--seconds 10] [--rounds 3] [--database-url URL]
    python bench/ussd.py --in-process [--hops 8000] [--profile]   (no HTTP: ussd_inprocess.py)

C concurrent simulated sessions (one wrk thread each, so every session waits for its screen before the
next hop) dial in, register through the menus and answer the demo poll, then dial again as a new phone.
Prints hops/s, hop latency p50/p95/p99, sessions finished, the server's peak RSS, and the ratio to a
trivial endpoint answering `CON ok` in the same run. Both servers run throughout; each of `--rounds`
rounds loads the trivial endpoint, then the app, for `--seconds` each, and the figures are the rounds'
medians (each ratio taken within its round): on a shared machine rates swing by a third within
minutes. A USSD hop is processed within its request, so hops/s is the processed throughput.
`--database-url postgres://postgres@127.0.0.1:5432/test` runs it on a fresh PostgreSQL database.
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from statistics import median

from common import (
    CLI,
    SETTLED,
    cpu_seconds,
    ensure_tool,
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


WARM_UP_PHONES = 60_000_000  # the warm-up's phones (+2547 6...), never the timed rounds' (+2547 2...)
FIRST_PHONES = 20_000_000  # the first round's; each next round's a million on


def run_sessions(
    url: str, args: argparse.Namespace, run: str, seconds: float | None = None, phones_from: int = 20_000_000
) -> Load:
    """wrk with one thread per simulated session: each thread's hops are strictly sequential."""
    seconds = args.seconds if seconds is None else seconds
    threads = [f"-t{args.sessions}", f"-c{args.sessions}"]
    wrk = [ensure_tool("wrk"), *threads, f"-d{seconds}s", "--timeout", "30s"]
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


def measured(url: str, args: argparse.Namespace, run: str, pid: int, phones_from: int) -> tuple[Load, float]:
    """The load, and the server's CPU microseconds per hop while it ran."""
    before = cpu_seconds(pid)
    load = run_sessions(url, args, run, phones_from=phones_from)
    return load, (cpu_seconds(pid) - before) / max(load.hops, 1) * 1e6


def warm_up(url: str, args: argparse.Namespace, run: str) -> None:
    """Untimed load first: the app computes its public results in the background for its first
    moments, and caches fill."""
    if args.warm_up:
        run_sessions(url, args, run + "-warm", seconds=args.warm_up, phones_from=WARM_UP_PHONES)


@contextmanager
def app_server(tmp: Path, database_url: str) -> Iterator[tuple[str, int]]:
    """`ureport serve` on the demo content: its USSD callback URL and its pid."""
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
        yield base + "/channels/africastalking/ussd", pid


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--sessions", type=int, default=50, help="concurrent simulated sessions")
    parser.add_argument("--seconds", type=int, default=10, help="of load in each round, on each server")
    parser.add_argument("--rounds", type=int, default=3, help="each times the trivial endpoint, then the app")
    parser.add_argument("--warm-up", type=int, default=2, help="seconds of untimed load first (0: none)")
    parser.add_argument("--database-url", help="a PostgreSQL server to run on (default: SQLite)")
    parser.add_argument("--in-process", action="store_true", help="no HTTP: the app called as ASGI")
    parser.add_argument("--hops", type=int, default=8000, help="with --in-process: hops timed")
    parser.add_argument("--profile", action="store_true", help="with --in-process: cProfile the hops")
    args = parser.parse_args()
    if args.in_process:
        import ussd_inprocess

        ussd_inprocess.main(args)
        return
    tmp = Path(tempfile.mkdtemp(prefix="ureport-bench-"))
    baselines: list[tuple[Load, float]] = []
    runs: list[tuple[Load, float]] = []
    with (
        trivial_server(tmp) as (trivial, trivial_pid),
        fresh_database(args.database_url, tmp) as database_url,
        app_server(tmp, database_url) as (app, app_pid),
    ):
        warm_up(trivial + "/ussd", args, "trivial")
        warm_up(app, args, "app")
        for n in range(args.rounds):  # each round's phones are new to the app: they register first
            phones_from = FIRST_PHONES + n * 1_000_000
            baselines.append(measured(trivial + "/ussd", args, f"trivial{n}", trivial_pid, phones_from))
            runs.append(measured(app, args, f"app{n}", app_pid, phones_from))
        rss = peak_rss_mb(app_pid)
    report(args, baselines, runs, rss)


def report(
    args: argparse.Namespace, baselines: list[tuple[Load, float]], runs: list[tuple[Load, float]], rss: float
) -> None:
    """Medians over the rounds; each ratio is taken within its round (minutes apart, the machine's other
    tenants swing rates by a third)."""
    engine = "PostgreSQL" if args.database_url else "SQLite"
    print(
        f"USSD hops on {engine}: {args.sessions} concurrent sessions,"
        f" {args.seconds} s a round; medians of {args.rounds} round(s)"
    )
    row = "  {:<20}{:8.0f} hops/s   p50 {:6.1f} ms   p95 {:6.1f} ms   p99 {:6.1f} ms"
    for name, loads in (("trivial endpoint", baselines), ("real app", runs)):
        rate = median(load.rate for load, _ in loads)
        p50, p95 = median(load.p50 for load, _ in loads), median(load.p95 for load, _ in loads)
        p99 = median(load.p99 for load, _ in loads)
        target = "  (target p99 < 100 ms)" if loads is runs else ""
        print(row.format(name, rate, p50, p95, p99) + target)
    worst = max(load.p99 for load, _ in runs)
    ends = sum(load.ends for load, _ in runs)
    bad = sum(load.bad + load.errors for load, _ in runs)
    invalid = sum(load.invalid for load, _ in runs)
    print(f"  worst round's p99   {worst:8.1f} ms")
    print(f"  sessions finished   {ends:8d}   invalid screens {invalid}   bad replies {bad}")
    cpu, baseline_cpu = median(cpu for _, cpu in runs), median(cpu for _, cpu in baselines)
    print(f"  server CPU per hop  {cpu:8.0f} us   (trivial endpoint {baseline_cpu:.0f} us)")
    print(f"  peak RSS (server)   {rss:8.1f} MB")
    ratios = [app.rate / trivial.rate for (app, _), (trivial, _) in zip(runs, baselines, strict=True)]
    rounds = " ".join(f"{ratio:.2f}" for ratio in ratios)
    print(f"  ratio app/trivial      {median(ratios):5.2f}   rounds: {rounds}   (target >= 0.25)")


if __name__ == "__main__":
    main()
