"""Inbound SMS through the real app under uvicorn on 127.0.0.1, against a trivial Starlette endpoint.

    python bench/sms_inbound.py [--messages 5000] [--phones 1000] [--connections 50] [--database-url URL]
                                [--topology serve|one-process|web+worker ...] [--rounds 3] [--fresh-phones]
    python bench/sms_inbound.py --in-process [--profile accept|process|send]   (no HTTP: sms_inprocess.py)

The phones are young people answering the demo poll: each registers first (JOIN and four answers,
not timed), then the N timed messages are their poll answers, so every message runs the whole path:
callback -> group-committed inbox -> engine -> answers and counters -> outbox -> SDK -> fake gateway.
`--fresh-phones` times the phones' first messages instead (JOIN and registration). wrk sends the same
bodies to both servers. Prints messages/s accepted (answered 200) and fully processed (reply queued),
callback latency p50/p99, the server's peak RSS, and the ratios to the trivial endpoint, for three
topologies: `ureport serve` as it runs by default (on two cores or more, the web process accepts and
sends, and processes the inbox in a child process of its own: UREPORT_INBOX_PROCESS), `ureport serve`
in one process (UREPORT_INBOX_PROCESS=0), and a web process that only accepts beside one `ureport
worker` (the deployment of deploy/). Each of `--rounds` rounds times the trivial endpoint, then the app;
each ratio is taken within its round, and the figures printed are the rounds' medians: on a shared
machine, rates swing by a third from one minute to the next.
`--database-url postgres://postgres@127.0.0.1:5432/test` runs it on a fresh PostgreSQL database.
"""

from __future__ import annotations

import argparse
import asyncio
import subprocess
import tempfile
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from statistics import median

from common import (
    CLI,
    SETTLED,
    WrkResult,
    as_datetime,
    children,
    count,
    cpu_seconds,
    fetch_row,
    free_port,
    fresh_database,
    peak_rss_mb,
    process,
    run_wrk,
    trivial_server,
    wait_for_count,
)
from sms_inprocess import REGISTRATION  # the script's answers that register a phone

SCRIPT = Path(__file__).with_name("sms_inbound.lua")
TIMED = "gateway_id LIKE 'bench-app-%'"  # the timed run's callbacks (registration's are bench-register-)
RECEIVED = f"SELECT count(*) FROM inbound_message WHERE {TIMED}"  # noqa: S608
PROCESSED = f"SELECT count(*) FROM inbound_message WHERE status = 'processed' AND {TIMED}"  # noqa: S608
REGISTERED = "SELECT count(*) FROM inbound_message WHERE status = 'processed'"
UNSENT = "SELECT count(*) FROM outbound_message WHERE status = 'queued'"
SPANS = f"SELECT min(received_at), max(received_at), max(processed_at) FROM inbound_message WHERE {TIMED}"  # noqa: S608


def prepare(env: dict[str, str]) -> None:
    """Kenya's counties and the demo poll, active: what `serve --demo` would load."""
    from ureport.flows.loader import shipped_flow_path

    full_env = {**__import__("os").environ, **env}
    subprocess.run(
        [*CLI, "locations", "load", "--country", "KE"], env=full_env, check=True, capture_output=True
    )
    poll = str(shipped_flow_path("safe-streets"))
    subprocess.run([*CLI, "polls", "load", poll, "--activate"], env=full_env, check=True, capture_output=True)


@dataclass(frozen=True)
class AppRun:
    """One timed run of the app: wrk's latencies, accepted and processed messages/s from the inbox's own
    timestamps, the web process's and the workers' CPU microseconds per message (from the first
    callback until all are processed), the web process's peak RSS."""

    load: WrkResult
    accepted: float
    processed: float
    web_cpu: float
    workers_cpu: float
    rss: float


@dataclass(frozen=True)
class Topology:
    title: str
    env: dict[str, str]  # what the web process runs with
    workers: int = 0  # `ureport worker` processes beside it


def _serve_title() -> str:
    from ureport.settings import Settings

    if Settings.from_env({}).inbox_apart:
        return "ureport serve (default here: web process accepts and sends, its child processes)"
    return "ureport serve (default here, one core: one process)"


TOPOLOGIES = {
    "serve": Topology(_serve_title(), {}),
    "one-process": Topology(
        "ureport serve, one process (UREPORT_INBOX_PROCESS=0)", {"UREPORT_INBOX_PROCESS": "0"}
    ),
    "web+worker": Topology("web process + 1 `ureport worker`", {"UREPORT_PROCESS_INBOX": "0"}, workers=1),
}


def measure_app(args: argparse.Namespace, topology: Topology, tmp: Path, database_url: str) -> AppRun:
    """The app on a fresh database, served as `topology` says."""
    env = {
        "UREPORT_DATA_DIR": str(tmp),
        "UREPORT_DATABASE_URL": database_url,
        "UREPORT_SECRET_KEY": "benchmark-secret-key-0123456789",
        "UREPORT_AT_USERNAME": "bench",
        "UREPORT_AT_API_KEY": "bench-key",
    }
    gateway_port, app_port = free_port(), free_port()
    gateway = [*CLI, "fake-gateway", "--port", str(gateway_port)]
    with process(
        gateway, env=env, ready_url=f"http://127.0.0.1:{gateway_port}/_fake/messages", log=tmp / "gw.log"
    ):
        env["UREPORT_AT_API_URL"] = f"http://127.0.0.1:{gateway_port}"
        prepare(env)
        serve = [*CLI, "serve", "--port", str(app_port)]
        base = f"http://127.0.0.1:{app_port}"
        with ExitStack() as stack:
            workers: list[int] = []
            for n in range(topology.workers):  # the web process accepts only; they process and send
                log = tmp / f"worker{n}.log"
                worker = process([*CLI, "worker"], env=env, log=log, ready_text="worker started")
                workers.append(stack.enter_context(worker))
            env.update(topology.env)
            pid = stack.enter_context(
                process(serve, env=env, ready_url=base + "/healthz", ready_text=SETTLED, log=tmp / "app.log")
            )
            workers += children(pid)  # an inbox process of its own, if it started one
            if not args.fresh_phones:
                register(args, base, database_url)
            received = lambda: asyncio.run(count(database_url, RECEIVED)) >= args.messages  # noqa: E731
            cpu, workers_cpu = cpu_seconds(pid), sum(map(cpu_seconds, workers))
            load = run_wrk(
                base + "/channels/africastalking/sms",
                SCRIPT,
                connections=args.connections,
                env=wrk_env(args, "app"),
                until=received,
            )
            wait_for_count(database_url, PROCESSED, args.messages)
            cpu = (cpu_seconds(pid) - cpu) / args.messages * 1e6
            workers_cpu = (sum(map(cpu_seconds, workers)) - workers_cpu) / args.messages * 1e6
            rss = peak_rss_mb(pid)
    first, last, done = (as_datetime(v) for v in asyncio.run(fetch_row(database_url, SPANS)))
    accepted = args.messages / (last - first).total_seconds()
    processed = args.messages / (done - first).total_seconds()
    return AppRun(load, accepted, processed, cpu, workers_cpu, rss)


def register(args: argparse.Namespace, base: str, database_url: str) -> None:
    """Not timed: every phone joins and registers, and the server processes it all."""
    messages = args.phones * REGISTRATION
    env = {"BENCH_MESSAGES": str(messages), "BENCH_PHONES": str(args.phones), "BENCH_RUN": "register"}
    done = lambda: asyncio.run(count(database_url, REGISTERED)) >= messages  # noqa: E731
    run_wrk(base + "/channels/africastalking/sms", SCRIPT, connections=args.connections, env=env, until=done)
    wait_for_count(database_url, REGISTERED, messages)
    wait_for_count(database_url, UNSENT, 0, at_most=True)  # the timed run does not send their replies


def wrk_env(args: argparse.Namespace, run: str) -> dict[str, str]:
    first = 0 if args.fresh_phones else REGISTRATION
    return {
        "BENCH_MESSAGES": str(args.messages),
        "BENCH_PHONES": str(args.phones),
        "BENCH_RUN": run,
        "BENCH_FIRST": str(first),
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--messages", type=int, default=5000)
    parser.add_argument("--phones", type=int, default=1000)
    parser.add_argument("--connections", type=int, default=50)
    parser.add_argument("--database-url", help="a PostgreSQL server to run on (default: SQLite)")
    parser.add_argument(
        "--fresh-phones", action="store_true", help="time the phones' JOIN and registration instead"
    )
    parser.add_argument(
        "--topology",
        action="append",
        choices=TOPOLOGIES,
        help="only these (repeat it): `ureport serve` as it runs by default, `ureport serve` in one"
        " process, or a web process beside a `ureport worker` (default: all three)",
    )
    parser.add_argument(
        "--rounds",
        type=int,
        default=3,
        help="each round times the trivial endpoint, then the app; the figures are the rounds' medians",
    )
    parser.add_argument(
        "--in-process", action="store_true", help="no HTTP: accepting, processing and sending timed apart"
    )
    parser.add_argument(
        "--profile", choices=("accept", "process", "send"), help="with --in-process: cProfile it"
    )
    args = parser.parse_args()
    if args.in_process:
        import sms_inprocess

        sms_inprocess.main(args)
        return
    tmp = Path(tempfile.mkdtemp(prefix="ureport-bench-"))
    topologies = args.topology or list(TOPOLOGIES)
    baselines: list[tuple[WrkResult, float]] = []
    runs: dict[str, list[AppRun]] = {name: [] for name in topologies}
    for n in range(args.rounds):
        baselines.append(measure_trivial(args, tmp))
        for name in topologies:
            run_dir = tmp / f"round{n}-{name}"
            run_dir.mkdir()
            with fresh_database(args.database_url, run_dir) as database_url:
                runs[name].append(measure_app(args, TOPOLOGIES[name], run_dir, database_url))
    report(args, baselines, runs)


def measure_trivial(args: argparse.Namespace, tmp: Path) -> tuple[WrkResult, float]:
    """wrk against the trivial endpoint, and its CPU microseconds per request."""
    with trivial_server(tmp) as (trivial, trivial_pid):
        before = cpu_seconds(trivial_pid)
        baseline = run_wrk(
            trivial + "/sms", SCRIPT, connections=args.connections, env=wrk_env(args, "trivial")
        )
        return baseline, (cpu_seconds(trivial_pid) - before) / baseline.requests * 1e6


def report(
    args: argparse.Namespace, baselines: list[tuple[WrkResult, float]], runs: dict[str, list[AppRun]]
) -> None:
    """Medians over the rounds; each ratio is taken within its round (the trivial endpoint measured
    minutes apart from the app would carry the machine's swings into the ratio)."""
    engine = "PostgreSQL" if args.database_url else "SQLite"
    what = "joining and registering" if args.fresh_phones else "registered, answering the poll"
    print(
        f"inbound SMS on {engine}: {args.messages} messages, {args.phones} phones ({what}),"
        f" {args.connections} conns; medians of {args.rounds} round(s)"
    )
    row = "  {:<22}{:8.0f} {:<6} p50 {:6.1f} ms   p99 {:6.1f} ms"
    rate = median(b.rate for b, _ in baselines)
    p50, p99 = median(b.p50_ms for b, _ in baselines), median(b.p99_ms for b, _ in baselines)
    print(row.format("trivial endpoint", rate, "req/s", p50, p99))
    print(f"  trivial endpoint CPU  {median(cpu for _, cpu in baselines):8.0f} us/request")
    for name, app in runs.items():
        print(TOPOLOGIES[name].title)
        p50, p99 = median(r.load.p50_ms for r in app), median(r.load.p99_ms for r in app)
        errors = sum(r.load.errors for r in app)
        print(
            row.format("accepted (200)", median(r.accepted for r in app), "msg/s", p50, p99),
            f"  errors {errors}",
        )
        print(f"  processed (replied)   {median(r.processed for r in app):8.0f} msg/s")
        print(f"  web process CPU       {median(r.web_cpu for r in app):8.0f} us/msg")
        workers_cpu = median(r.workers_cpu for r in app)
        if workers_cpu:
            what = "(processing, sending)" if TOPOLOGIES[name].workers else "(processing)"
            print(f"  other processes CPU   {workers_cpu:8.0f} us/msg   {what}")
        print(f"  peak RSS (web)        {max(r.rss for r in app):8.1f} MB")
        accepted = [r.accepted / b.rate for r, (b, _) in zip(app, baselines, strict=True)]
        processed = [r.processed / b.rate for r, (b, _) in zip(app, baselines, strict=True)]
        print(f"  ratio accepted/trivial   {median(accepted):5.2f}   rounds: {_listed(accepted)}")
        print(f"  ratio processed/trivial  {median(processed):5.2f}   rounds: {_listed(processed)}", TARGET)


TARGET = "  (target >= 0.25)"


def _listed(values: list[float]) -> str:
    return " ".join(f"{value:.2f}" for value in values)


if __name__ == "__main__":
    main()
