"""A poll's delivery figures: what `ureport polls status SLUG` prints and the admin poll page shows.

One function for both, so the terminal and the page never disagree. The counts are grouped in the
database over the outbox's (poll_id, status) index, so they stay cheap whatever the poll's size. These
are staff figures: they are not suppressed like the published results.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

from tortoise.functions import Count

from ureport.broadcast import BroadcastError
from ureport.models import FlowRun, OutboundMessage, OutboxStatus, Poll

STATUSES = tuple(s.value for s in OutboxStatus)  # queued, sent, delivered, failed: the order shown


@dataclass(frozen=True)
class DeliveryFigures:
    """A poll's broadcast and reminder messages by status, why they failed or wait, and its runs.

    - `messages`: status -> messages (only statuses that occur);
    - `failures`: failure reason -> failed messages (e.g. InvalidPhoneNumber, PollClosed, HTTP 401: …);
    - `waiting`: reason -> queued messages waiting for a retry or for tomorrow (DailyCap, HTTP 503: …);
    - `runs`: run status -> runs of the poll (active, completed, expired, interrupted, closed).
    """

    messages: dict[str, int]
    failures: dict[str, int]
    waiting: dict[str, int]
    runs: dict[str, int]

    @property
    def total(self) -> int:
        return sum(self.messages.values())

    def lines(self, slug: str) -> list[str]:
        """The figures as `ureport polls status` prints them."""
        out = [f"{slug}: messages " + _pairs(self.messages, list(STATUSES))]
        out += [f"  failed {reason}: {n}" for reason, n in sorted(self.failures.items())]
        out += [f"  queued, waiting ({reason}): {n}" for reason, n in sorted(self.waiting.items())]
        out.append(f"{slug}: runs " + (_pairs(self.runs, sorted(self.runs)) if self.runs else "none"))
        return out


def _pairs(counts: dict[str, int], keys: list[str]) -> str:
    return ", ".join(f"{key} {counts.get(key, 0)}" for key in keys)


async def delivery_figures(slug: str) -> DeliveryFigures:
    """The figures of poll `slug`; BroadcastError if there is no such poll."""
    poll = await Poll.get_or_none(slug=slug)
    if poll is None:
        raise BroadcastError(f"no poll {slug!r} (see `ureport polls list`)")
    grouped = OutboundMessage.filter(poll_id=poll.id).annotate(n=Count("id"))
    rows = await grouped.group_by("status", "failure_reason").values_list("status", "failure_reason", "n")
    messages: Counter[str] = Counter()
    failures: Counter[str] = Counter()
    waiting: Counter[str] = Counter()
    for status, reason, n in rows:
        messages[str(status)] += n
        if status == OutboxStatus.FAILED:
            failures[reason or "unknown"] += n
        elif status == OutboxStatus.QUEUED and reason:
            waiting[reason] += n
    runs = FlowRun.filter(poll_id=poll.id).annotate(n=Count("id")).group_by("status")
    run_counts = {str(status): int(n) for status, n in await runs.values_list("status", "n")}
    return DeliveryFigures(dict(messages), dict(failures), dict(waiting), run_counts)
