"""The `ureport` command: serve, migrate, load polls and locations, run the fake gateway."""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path
from typing import Any

from ureport import db
from ureport.flows.loader import FlowError
from ureport.locations import LocationsFileError
from ureport.settings import Settings, SettingsError

Command = Callable[[argparse.Namespace, Settings], int]


def _run_db(settings: Settings, work: Callable[[], Awaitable[Any]]) -> Any:
    """Migrate, open the database, run `work`, close: what every data command needs."""

    async def main() -> Any:
        await db.migrate(settings.db_url)
        await db.init(settings.db_url)
        try:
            return await work()
        finally:
            await db.close()

    return asyncio.run(main())


def cmd_audit(args: argparse.Namespace, settings: Settings) -> int:
    from ureport import audit

    for action in _run_db(settings, lambda: audit.recent(args.limit)):
        when = action.at.strftime("%Y-%m-%d %H:%M")
        print(f"{when}  {action.actor:28} {action.action:16} {action.subject}  {action.detail}".rstrip())
    return 0


def cmd_migrate(args: argparse.Namespace, settings: Settings) -> int:
    asyncio.run(db.migrate(settings.db_url))
    print(f"database is up to date: {settings.db_url.split('?')[0]}")
    return 0


def cmd_polls_load(args: argparse.Namespace, settings: Settings) -> int:
    from ureport import audit
    from ureport.flows.loader import load_flow_file
    from ureport.flows.render import long_messages
    from ureport.models import Poll
    from ureport.polls import save_flow

    flow = load_flow_file(args.file)

    async def load() -> Poll:
        poll = await save_flow(flow, activate=args.activate)
        await audit.poll_loaded(None, poll.slug, poll.version, activated=args.activate)
        return poll

    poll = _run_db(settings, load)
    print(f"loaded {poll.slug} ({poll.kind}, version {poll.version}, {poll.status.value})")
    for note in long_messages(flow):  # each extra part is another SMS paid for, per person
        print(f"  note: {note}")
    return 0


def cmd_polls_list(args: argparse.Namespace, settings: Settings) -> int:
    from ureport.models import Poll

    async def rows() -> list[Poll]:
        return await Poll.all().order_by("slug")

    for poll in _run_db(settings, rows):
        title = poll.title.get(poll.default_language) or next(iter(poll.title.values()), "")
        print(f"{poll.slug:24} {poll.kind:13} {poll.status.value:7} {title}")
    return 0


def cmd_polls_start(args: argparse.Namespace, settings: Settings) -> int:
    from ureport.broadcast import BroadcastError
    from ureport.poll_commands import start

    try:
        print(_run_db(settings, lambda: start(args, settings)))
    except BroadcastError as exc:
        print(f"ureport: {exc}", file=sys.stderr)
        return 2
    return 0


def cmd_polls_status(args: argparse.Namespace, settings: Settings) -> int:
    from ureport.broadcast import BroadcastError
    from ureport.poll_commands import poll_status

    try:
        status = _run_db(settings, lambda: poll_status(args.slug))
    except BroadcastError as exc:
        print(f"ureport: {exc}", file=sys.stderr)
        return 2
    print("\n".join(status.lines(args.slug)))
    return 0


def cmd_polls_share_results(args: argparse.Namespace, settings: Settings) -> int:
    from ureport.aggregates.exports import ExportError
    from ureport.share_results import share_results

    options = {"question": args.question, "dry_run": args.dry_run}
    try:
        shared = _run_db(settings, lambda: share_results(args.slug, k=settings.min_cell, **options))
    except ExportError as exc:
        print(f"ureport: {exc}", file=sys.stderr)
        return 2
    verb = "would queue" if shared.dry_run else "queued"
    print(f"{verb} {shared.people} results SMS" + (" (dry run: nothing queued)" if shared.dry_run else ""))
    if shared.dry_run and shared.sample:
        print(f"sample: {shared.sample}")
    return 0


def cmd_aggregates_rebuild(args: argparse.Namespace, settings: Settings) -> int:
    from ureport.aggregates.results import rebuild

    drift = _run_db(settings, rebuild)
    if drift.keys:
        print(f"rebuilt counters: {drift.keys} had drifted, by {drift.answers} answers in all")
    else:
        print("rebuilt counters: no drift")
    return 0


def cmd_export(args: argparse.Namespace, settings: Settings) -> int:
    from ureport.aggregates.exports import ExportError
    from ureport.aggregates.render import export

    options = {"district": args.district, "language": args.lang, "question": args.question}
    try:
        data = _run_db(settings, lambda: export(args.slug, args.format, k=settings.min_cell, **options))
    except ExportError as exc:
        print(f"ureport: {exc}", file=sys.stderr)
        return 2
    if args.output is None:
        sys.stdout.buffer.write(data)
    else:
        args.output.write_bytes(data)
        print(f"wrote {args.output} ({len(data)} bytes)")
    return 0


def cmd_locations_load(args: argparse.Namespace, settings: Settings) -> int:
    from ureport.locations import country_districts, read_locations_file
    from ureport.polls import save_places

    places = country_districts(args.country) if args.country else read_locations_file(args.file)
    count = _run_db(settings, lambda: save_places(places))
    print(f"loaded {count} locations")
    return 0


def cmd_serve(args: argparse.Namespace, settings: Settings) -> int:
    import uvicorn

    from ureport.demo import prepare_demo

    demo_gateway = None
    if args.demo:
        settings, demo_gateway = prepare_demo(settings, host=args.host, port=args.port)
    settings.require_secret()
    asyncio.run(db.migrate(settings.db_url))
    if args.demo:
        from ureport.demo import load_demo_content
        from ureport.demo_people import seed_respondents

        _run_db(settings, load_demo_content)
        seeded = _run_db(settings, lambda: seed_respondents(settings.keyring()))
        if seeded:
            print(f"ureport demo: {seeded} synthetic young people answered the demo poll", flush=True)
        _print_demo_accounts(settings, f"http://{args.host}:{args.port}/login")
    if args.workers > 1 and db.is_sqlite(settings.db_url):
        raise SettingsError("--workers > 1 needs PostgreSQL: SQLite has one writer (UREPORT_DATABASE_URL)")
    # No access log: callback URLs carry the callback token in their query string.
    options: dict[str, Any] = {
        "host": args.host,
        "port": args.port,
        "proxy_headers": True,
        "access_log": False,
    }
    if args.workers > 1:  # each worker process builds its own app from the environment
        uvicorn.run("ureport.app:app_from_env", factory=True, workers=args.workers, **options)
    else:
        from ureport.app import create_app
        from ureport.inbox_process import InboxProcess

        if demo_gateway is not None:
            print(f"ureport demo: open http://{args.host}:{args.port}/simulator to play a phone", flush=True)
        inbox = InboxProcess(settings.environment()) if settings.inbox_apart else None
        uvicorn.run(create_app(settings, demo_gateway=demo_gateway, inbox_process=inbox), **options)
    return 0


def _print_demo_accounts(settings: Settings, url: str) -> None:
    from ureport.demo import ensure_demo_accounts

    path, fresh = _run_db(settings, lambda: ensure_demo_accounts(settings.data_dir))
    for email, password in fresh.items():  # shown once, when made; kept in the file after that
        print(f"ureport demo: account {email} password {password}", flush=True)
    print(f"ureport demo: log in at {url} (demo accounts and passwords: {path})", flush=True)


def cmd_worker(args: argparse.Namespace, settings: Settings) -> int:
    from ureport.privacy import install_log_masking
    from ureport.worker import run_worker

    install_log_masking()
    asyncio.run(db.migrate(settings.db_url))
    asyncio.run(run_worker(settings))
    return 0


def cmd_fake_gateway(args: argparse.Namespace, settings: Settings) -> int:
    from ureport.channels.fake_gateway import serve_forever

    serve_forever(args.host, args.port, args.delivery_url)
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="ureport", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)

    serve = sub.add_parser("serve", help="migrate, then serve the web app and callbacks")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8000)
    serve.add_argument("--workers", type=int, default=1)
    serve.add_argument(
        "--demo", action="store_true", help="SQLite, Kenyan counties, demo polls, fake gateway"
    )
    serve.set_defaults(func=cmd_serve)

    sub.add_parser("migrate", help="apply database migrations").set_defaults(func=cmd_migrate)

    polls = sub.add_parser("polls", help="load and list polls").add_subparsers(dest="polls", required=True)
    load = polls.add_parser("load", help="load (or replace) a poll from a YAML flow file")
    load.add_argument("file", type=Path)
    load.add_argument("--activate", action="store_true", help="make it the active poll")
    load.set_defaults(func=cmd_polls_load)
    polls.add_parser("list", help="list polls").set_defaults(func=cmd_polls_list)
    share = polls.add_parser("share-results", help="queue one SMS per participant with their results")
    share.add_argument("slug")
    share.add_argument(
        "--question", help="the question whose results are sent (default: the first choice one)"
    )
    share.add_argument("--dry-run", action="store_true", help="print the count and a sample; queue nothing")
    share.set_defaults(func=cmd_polls_share_results)
    from ureport.poll_commands import add_commands

    add_commands(polls)  # polls start, polls status
    polls.choices["start"].set_defaults(func=cmd_polls_start)
    polls.choices["status"].set_defaults(func=cmd_polls_status)

    aggregates = sub.add_parser("aggregates", help="published counts").add_subparsers(
        dest="aggregates", required=True
    )
    rebuild = aggregates.add_parser("rebuild", help="recount every counter from the answers; report drift")
    rebuild.set_defaults(func=cmd_aggregates_rebuild)

    export = sub.add_parser("export", help="a poll's suppressed results, or a district's dialogue brief")
    export.add_argument("slug")
    export.add_argument("--format", required=True, choices=("csv", "xlsx", "html", "pdf"))
    export.add_argument("--district", help="a district's brief: its results next to the national ones")
    export.add_argument("--lang", help="language of the texts (default: the poll's default language)")
    export.add_argument("--question", help="the brief's lead question (default: the first choice question)")
    export.add_argument("-o", "--output", type=Path, help="write here (default: standard output)")
    export.set_defaults(func=cmd_export)

    locations = sub.add_parser("locations", help="districts").add_subparsers(dest="locations", required=True)
    loc = locations.add_parser(
        "load", help="load districts from CSV or GeoJSON, or a country's from pycountry"
    )
    source = loc.add_mutually_exclusive_group(required=True)
    source.add_argument("file", type=Path, nargs="?")
    source.add_argument("--country", help="ISO code: load its subdivisions (e.g. KE: the 47 counties)")
    loc.set_defaults(func=cmd_locations_load)

    from ureport.user_commands import add_commands as add_user_commands

    add_user_commands(sub, _run_db)  # users add, list, remove, disable, enable

    from ureport.contact_commands import add_commands as add_contact_commands

    add_contact_commands(sub)  # contacts forget

    actions = sub.add_parser("audit", help="what staff did to accounts and polls, newest first")
    actions.add_argument("--limit", type=int, default=50)
    actions.set_defaults(func=cmd_audit)

    worker = sub.add_parser("worker", help="process inbound messages and send replies, without a web server")
    worker.set_defaults(func=cmd_worker)

    fake = sub.add_parser("fake-gateway", help="a local stand-in for the Africa's Talking SMS API")
    fake.add_argument("--host", default="127.0.0.1")
    fake.add_argument("--port", type=int, default=8001)
    fake.add_argument("--delivery-url", help="POST a delivery report here for each message")
    fake.set_defaults(func=cmd_fake_gateway)
    return parser


LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"  # every ureport process's lines


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO, format=LOG_FORMAT)
    try:
        settings = Settings.from_env()
        return int(args.func(args, settings))
    except (SettingsError, FlowError, LocationsFileError) as exc:
        print(f"ureport: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
