"""`ureport polls start` and `ureport polls status`: broadcasts from the terminal, with a progress bar."""

from __future__ import annotations

import argparse
import sys
from datetime import UTC, datetime
from typing import Any

from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    ProgressColumn,
    Task,
    TextColumn,
    TimeRemainingColumn,
)
from rich.text import Text

from ureport import audit
from ureport.broadcast import (
    Broadcaster,
    BroadcastError,
    Cohort,
    count_cohort,
    count_undeliverable,
    find_broadcast_poll,
)
from ureport.delivery import DeliveryFigures, delivery_figures
from ureport.models import Poll
from ureport.polls import Catalog
from ureport.settings import Settings


class RateColumn(ProgressColumn):
    """Contacts a second, so an operator can tell a slow database from a stalled one."""

    def render(self, task: Task) -> Text:
        return Text(f"{task.speed or 0:,.0f}/s", style="progress.data.speed")


def _when(value: str | None) -> datetime | None:
    """An ISO time; a naive one is taken as UTC (what the database stores)."""
    if value is None:
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise BroadcastError(f"{value!r} is not an ISO time (e.g. 2026-12-01T08:00)") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def cohort_of(args: argparse.Namespace) -> Cohort:
    return Cohort(
        districts=tuple(args.district or ()),
        age_bands=tuple(args.age_band or ()),
        sexes=tuple(args.sex or ()),
        languages=tuple(args.language or ()),
    )


async def start(args: argparse.Namespace, settings: Settings) -> str:
    """Count (dry run), schedule, or start now with a progress bar; returns the line to print."""
    cohort = cohort_of(args)
    count = await count_cohort(args.slug, cohort)
    if args.dry_run:
        skipped = await count_undeliverable(args.slug, cohort)
        return (
            f"{count} contacts would get {args.slug} (dry run: nothing queued); "
            f"{skipped} skipped as undeliverable"
        )
    poll = await find_broadcast_poll(args.slug)
    timetable: dict[str, Any] = {"cohort": cohort.to_json()}
    if args.close_at:
        timetable["close_at"] = _when(args.close_at)
    if args.reminder_hours is not None:
        timetable["reminder_hours"] = args.reminder_hours
    if args.at:
        timetable["start_at"] = _when(args.at)
    await Poll.filter(id=poll.id).update(**timetable)
    if args.at:
        await audit.poll_started(None, args.slug, count, cohort.to_json(), at=timetable["start_at"])
        return f"{args.slug} starts at {timetable['start_at'].isoformat()} for {count} contacts (so far)"
    broadcaster = Broadcaster(Catalog(), settings.default_region)
    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), RateColumn())
    with Progress(*columns, TimeRemainingColumn(), disable=not sys.stderr.isatty()) as progress:
        task = progress.add_task(f"starting {args.slug}", total=count)
        started = await broadcaster.start(args.slug, cohort, on_batch=lambda n: progress.advance(task, n))
    await audit.poll_started(None, args.slug, started, cohort.to_json())
    return f"started {args.slug} for {started} contacts; their messages are queued"


# The figures moved to ureport.delivery (shared with the admin page); the old names stay for callers.
PollStatus = DeliveryFigures
poll_status = delivery_figures


def add_commands(polls: Any) -> None:
    """Register `polls start` and `polls status` on the `polls` subparsers (cli.py runs them)."""
    begin = polls.add_parser("start", help="start a poll for a cohort of opted-in people (or schedule it)")
    begin.add_argument("slug")
    begin.add_argument("--district", action="append", help="district name or code (repeatable)")
    begin.add_argument("--age-band", action="append", help="ages LOW-HIGH, e.g. 15-19 (repeatable)")
    begin.add_argument("--sex", action="append", help="e.g. female (repeatable)")
    begin.add_argument("--language", action="append", help="language code, e.g. sw (repeatable)")
    begin.add_argument("--dry-run", action="store_true", help="print how many would get it; queue nothing")
    begin.add_argument("--at", help="start at this ISO time (UTC unless it says) instead of now")
    begin.add_argument("--close-at", help="close at this ISO time: open runs expire")
    begin.add_argument("--reminder-hours", type=int, help="re-send the waiting question once after N hours")
    status = polls.add_parser("status", help="a poll's messages by status and its runs by status")
    status.add_argument("slug")
